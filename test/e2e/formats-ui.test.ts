// The new-job screen with the new formats, in a real browser against `batchery serve`: a folder
// holding an Excel workbook is detected as such, its sheets are offered, the chosen sheet's
// first rows are shown with a type per column, and the job written as a workbook runs to the end.
// A folder of .gz files is previewed by its decompressed content.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/cli'
import { launch, shot } from '../helpers/browser'
import { serve, type Served } from '../helpers/server'
import { readWorkbookRows, writeOrdersWorkbook } from '../helpers/xlsx'

let server: Served
let browser: Browser
let page: Page
let data: string
let out: string
const pageErrors: string[] = []

beforeAll(async () => {
  data = tempDir()
  out = join(tempDir(), 'orders-out')
  mkdirSync(join(data, 'book'))
  await writeOrdersWorkbook(join(data, 'book', 'orders.xlsx'), 20)
  mkdirSync(join(data, 'gz'))
  writeFileSync(join(data, 'gz', 'orders.csv.gz'), gzipSync('id;customer;amount\n1;Ann;2.5\n2;Bob;3\n'))
  server = await serve(tempDir())
  browser = await launch()
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.on('pageerror', (e) => pageErrors.push(e.message))
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('new formats in the new-job screen', () => {
  it('detects a workbook, offers its sheets, previews the chosen one and runs the job into a workbook', async () => {
    await page.goto(server.url)
    await page.getByTestId('new-job').click()
    await page.getByTestId('input-folder').fill(join(data, 'book'))
    await page.getByTestId('preview-table').waitFor()
    expect(await page.getByTestId('input-format').inputValue()).toBe('xlsx')
    // the first sheet holds a note only
    expect(await page.getByTestId('input-sheet').inputValue()).toBe('Notes')
    expect(await page.getByTestId('input-sheet').locator('option').allTextContents()).toEqual(['Notes', 'Orders', 'Returns'])
    await page.getByTestId('input-sheet').selectOption('Orders')
    await expect.poll(async () => (await page.getByTestId('preview-table').textContent()) ?? '', { timeout: 10_000 }).toContain('Customer 1')
    const head = (await page.getByTestId('preview-table').locator('thead').textContent()) ?? ''
    expect(head).toContain('amount')
    expect(head).toContain('whole number')
    expect(head).toContain('date')
    expect(await page.getByTestId('input-include').inputValue()).toBe('*.xlsx')
    await shot(page, 'formats-01-workbook-preview')

    await page.getByTestId('add-step-validate').click()
    await page.getByTestId('output-format').selectOption('xlsx')
    expect(await page.getByTestId('output-format').locator('option').allTextContents()).toEqual(
      expect.arrayContaining(['JSON array', 'Excel workbook (.xlsx)'])
    )
    await page.getByTestId('job-name').fill('orders-book')
    await page.getByTestId('output-folder').fill(out)
    await expect.poll(async () => (await page.getByTestId('validation-summary').textContent()) ?? '', { timeout: 10_000 }).toBe('The job looks right.')
    await page.getByTestId('save-and-run').click()
    await page.getByTestId('accounting').waitFor({ timeout: 60_000 })
    expect(await page.getByTestId('outputs').textContent()).toContain('orders.xlsx')
    await shot(page, 'formats-02-workbook-run')
    const book = await readWorkbookRows(join(out, 'orders.xlsx'))
    expect(book.sheets).toEqual(['orders-book'])
    expect(book.rows[0]).toEqual(['id', 'customer', 'amount', 'ordered', 'paid', 'note'])
    expect(book.rows.length).toBeGreaterThan(10)
  })

  it('previews a compressed CSV by its decompressed content', async () => {
    await page.goto(server.url)
    await page.getByTestId('new-job').click()
    await page.getByTestId('input-folder').fill(join(data, 'gz'))
    await page.getByTestId('preview-table').waitFor()
    expect(await page.getByTestId('input-format').inputValue()).toBe('csv')
    expect(await page.getByTestId('input-delimiter').inputValue()).toBe(';')
    expect(await page.getByTestId('preview-files').textContent()).toContain('gzip-compressed')
    expect(await page.getByTestId('preview-table').textContent()).toContain('Bob')
    expect(await page.getByTestId('input-include').inputValue()).toBe('*.csv.gz')
    await shot(page, 'formats-03-gzip-preview')
    expect(pageErrors).toEqual([])
  })
})
