// The live run screen's rate charts in a real browser against `batchery serve`: the records/s
// and MB/s charts draw and keep redrawing while a run streams progress, show the last rate when
// it ends, and a finished run opened later draws the same charts from its stored metrics.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/cli'
import { launch, openPage, shot } from '../helpers/browser'
import { ordersCsv, orderRows } from '../helpers/orders'
import { serve, type Served } from '../helpers/server'

let server: Served
let browser: Browser
let page: Page
let work: string
const errors: string[] = []

beforeAll(async () => {
  work = tempDir()
  mkdirSync(join(work, 'in'))
  // Enough rows for a run of ten seconds or more on one worker (one chart point per second):
  // three files of 400,000 rows.
  const csv = ordersCsv(orderRows(400_000, 7))
  for (const n of [1, 2, 3]) writeFileSync(join(work, 'in', `orders-${n}.csv`), csv)
  server = await serve(tempDir())
  browser = await launch()
  page = await openPage(browser, errors)
  await server.value('jobs.save', {
    job: {
      name: 'live',
      kind: 'records',
      input: { folder: join(work, 'in'), include: ['*.csv'], format: 'csv' },
      steps: [{ filter: "status != 'cancelled'" }, { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)' } }],
      output: { folder: join(work, 'out'), format: 'jsonl' },
      policy: { concurrency: 1 }
    }
  })
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

const line = (chart: string): string => `[data-testid="${chart}"] path.recharts-line-curve`

describe('live rate charts', () => {
  let runId = ''

  it('draws both charts while the run is going and redraws them as points arrive', async () => {
    await page.goto(`${server.url}#/jobs`)
    await page.getByTestId('run-job-live').click()
    await page.waitForURL(/#\/runs\//)
    runId = decodeURIComponent(/#\/runs\/([^/?]+)/.exec(page.url())?.[1] ?? '')
    await page.locator(line('chart-records')).waitFor({ timeout: 60_000 })
    const first = await page.locator(line('chart-records')).getAttribute('d')
    expect(await page.getByTestId('run-status').getAttribute('data-status')).toBe('running')
    // A later point redraws the line while the run is still going.
    await expect
      .poll(async () => ({ d: await page.locator(line('chart-records')).getAttribute('d'), status: await page.getByTestId('run-status').getAttribute('data-status') }), { timeout: 60_000 })
      .toMatchObject({ status: 'running', d: expect.not.stringMatching(`^${first?.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) })
    await page.locator(line('chart-bytes')).waitFor({ timeout: 10_000 })
    await shot(page, 'live-charts-running')
  })

  it('shows the last rate in each caption when the run ends', async () => {
    await page.getByTestId('accounting').waitFor({ timeout: 120_000 })
    const records = (await page.getByTestId('chart-records').locator('figcaption strong').textContent()) ?? ''
    const bytes = (await page.getByTestId('chart-bytes').locator('figcaption strong').textContent()) ?? ''
    expect(records).toMatch(/^[\d,.]+[kM]? records\/s$/)
    expect(bytes).toMatch(/^[\d,.]+ MB\/s$/)
    expect(await page.locator(line('chart-bytes')).count()).toBe(1)
  })

  it('draws a finished run opened later from its stored metrics', async () => {
    const later = await openPage(browser, errors)
    await later.goto(`${server.url}#/runs/${encodeURIComponent(runId)}`)
    await later.getByTestId('accounting').waitFor()
    await later.locator(line('chart-records')).waitFor({ timeout: 10_000 })
    await later.locator(line('chart-bytes')).waitFor({ timeout: 10_000 })
    const stored = (await server.value('runs.get', { runId })).metrics
    expect(stored.length).toBeGreaterThanOrEqual(2)
    await shot(later, 'live-charts-finished')
    await later.close()
  })

  it('logged no errors in the page', () => {
    expect(errors).toEqual([])
  })
})
