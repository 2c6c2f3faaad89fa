// The UI in a real browser (Debian's Chromium via playwright-core) against `batchery serve`,
// driven as an analyst would: make a job from a folder, dry-run it, run it, watch it finish,
// read, search and export the failure report, re-run the failed records, and resume an
// interrupted run from History. A screenshot of each screen goes to test-results/screenshots.
import { spawnSync } from 'node:child_process'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, ROOT, tempDir } from '../helpers/cli'
import { launch, shot } from '../helpers/browser'
import { serve, type Served } from '../helpers/server'

let server: Served
let browser: Browser
let page: Page
let home: string
let data: string
let out: string
const consoleErrors: string[] = []

beforeAll(async () => {
  home = tempDir()
  data = tempDir()
  out = join(tempDir(), 'orders-clean')
  cpSync(join(ROOT, 'resources', 'examples', 'orders-clean', 'in'), join(data, 'in'), { recursive: true })
  server = await serve(home)
  browser = await launch()
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })
  page.on('pageerror', (e) => consoleErrors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text())
  })
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

/** "21 in = 10 out + 2 filtered + 2 duplicates + 7 failed" -> numbers. */
function accounting(text: string): { in: number; out: number; filtered: number; deduped: number; failed: number } {
  const n = (word: string): number => Number(new RegExp(`([\\d,]+) ${word}`).exec(text)?.[1]?.replaceAll(',', '') ?? NaN)
  return { in: n('in'), out: n('out'), filtered: n('filtered'), deduped: n('duplicates'), failed: n('failed') }
}

describe('the UI in a browser', () => {
  it('opens on the jobs screen with an empty state that says what to do', async () => {
    await page.goto(server.url)
    await page.getByTestId('jobs-empty').waitFor()
    expect(await page.getByTestId('jobs-empty').textContent()).toContain('No jobs yet')
    await shot(page, '01-jobs-empty')
  })

  it('makes a job from a folder: picker, preview with column types, steps with inline problems', async () => {
    await page.getByTestId('new-job').click()
    await page.getByTestId('choose-folder').click()
    await page.getByTestId('folder-picker').waitFor()
    await page.getByTestId('picker-path').fill(data)
    await page.getByTestId('picker-path').press('Enter')
    await page.getByTestId('folder-entry-in').click()
    await page.getByTestId('use-folder').click()
    await page.getByTestId('preview-table').waitFor()
    const preview = await page.getByTestId('preview-table').textContent()
    expect(preview).toContain('Grace Hopper, Rear Admiral')
    expect(preview).toContain('whole number')
    await shot(page, '02-new-job-preview')

    await page.getByTestId('add-step-validate').click()
    await page.getByTestId('add-step-filter').click()
    await page.getByTestId('step-1').getByTestId('filter-expression').fill("stauts != 'cancelled'")
    await page.getByTestId('add-step-derive').click()
    await page.getByTestId('step-2').getByTestId('derive-column').fill('total')
    await page.getByTestId('step-2').getByTestId('derive-expression').fill('round(amount * quantity, 2)')
    await page.getByTestId('add-step-dedupe').click()
    await page.getByTestId('step-3').getByTestId('dedupe-column-id').check()
    // the typo is caught against the previewed columns, next to its step
    await expect.poll(async () => (await page.getByTestId('step-problem').allTextContents()).join(' '), { timeout: 10_000 }).toContain('did you mean "status"?')
    await shot(page, '03-new-job-problem')
    await page.getByTestId('step-1').getByTestId('filter-expression').fill("status != 'cancelled'")
    await expect.poll(() => page.getByTestId('step-problem').count(), { timeout: 10_000 }).toBe(0)
    await page.getByTestId('job-name').fill('orders')
    await page.getByTestId('output-folder').fill(out)
  })

  it('dry-runs the job without writing anything', async () => {
    await page.getByTestId('dry-run').click()
    await page.getByTestId('dry-run-result').waitFor()
    expect(await page.getByTestId('dry-run-output-row').count()).toBeGreaterThan(0)
    expect(await page.getByTestId('dry-run-failure').count()).toBeGreaterThan(0)
    await shot(page, '04-dry-run')
    expect(spawnSync('ls', [out]).status).not.toBe(0)
  })

  it('saves and runs it, and the live view reaches the end with the accounting line', async () => {
    await page.getByTestId('save-and-run').click()
    await page.getByTestId('accounting').waitFor({ timeout: 60_000 })
    const a = accounting((await page.getByTestId('accounting').textContent()) ?? '')
    expect(a.in).toBe(21)
    expect(a.in).toBe(a.out + a.filtered + a.deduped + a.failed)
    expect(a.failed).toBeGreaterThan(0)
    expect(await page.getByTestId('progress').getAttribute('aria-valuenow')).toBe('100')
    expect(await page.getByTestId('run-status').textContent()).toMatch(/some failed/i)
    expect(await page.getByTestId('outputs').textContent()).toContain('orders-2026-01.jsonl')
    await shot(page, '05-run-done')
  })

  it('shows, searches and exports the failure report', async () => {
    const failed = accounting((await page.getByTestId('accounting').textContent()) ?? '').failed
    await page.getByTestId('open-failures').click()
    await page.getByTestId('failure-group').first().waitFor()
    await expect.poll(() => page.getByTestId('failure-row').count()).toBe(failed)
    await shot(page, '06-failures')
    await page.getByTestId('failure-search').fill('Hamilton')
    await expect.poll(() => page.getByTestId('failure-row').count()).toBe(1)
    expect(await page.getByTestId('failure-row').textContent()).toContain('10x6')
    await shot(page, '07-failures-search')
    await page.getByTestId('failure-search').fill('')
    await expect.poll(() => page.getByTestId('failure-row').count()).toBe(failed)
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-failures').click()])
    const file = join(tempDir(), 'failed.csv')
    await download.saveAs(file)
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    expect(lines[0]).toBe('file,line,step,code,message,raw')
    expect(lines.slice(1)).toHaveLength(failed)
    expect(lines.some((l) => l.startsWith('orders-2026-01.csv,11,read,FIELD_COUNT'))).toBe(true)
  })

  it('re-runs only the failed records after the job is fixed', async () => {
    const failed = await page.getByTestId('failure-row').count()
    const failuresUrl = page.url()
    // The fix: ids like "10x6" are real order codes, so id becomes text.
    await page.goto(`${server.origin}/#/jobs/orders/edit`)
    await page.getByTestId('validate-rule').first().waitFor()
    const rules = page.getByTestId('validate-rule')
    for (let i = 0; i < (await rules.count()); i++) {
      const rule = rules.nth(i)
      if ((await rule.getByTestId('validate-column').inputValue()) === 'id') await rule.getByTestId('validate-type').selectOption('string')
    }
    await page.getByTestId('save-job').click()
    await page.getByTestId('job-row-orders').waitFor()
    expect((await server.value('jobs.get', { name: 'orders' })).version).toBe(2)
    await page.goto(failuresUrl)
    await page.getByTestId('rerun-failed').click()
    await page.getByTestId('accounting').waitFor({ timeout: 60_000 })
    const a = accounting((await page.getByTestId('accounting').textContent()) ?? '')
    // only the failed records ran again, and the one the fix was for now passes
    expect(a.in).toBe(failed)
    expect(a.out).toBe(1)
    expect(a.failed).toBe(failed - 1)
    await shot(page, '08-rerun-done')
  })

  it('resumes an interrupted run from History', async () => {
    // A run of the same job killed (SIGKILL) right after its first checkpoint, by the CLI.
    const job = (await server.value('jobs.get', { name: 'orders' })).definition as Record<string, unknown>
    const jobFile = join(tempDir(), 'orders.json')
    writeFileSync(jobFile, JSON.stringify({ ...job, policy: { chunkSize: 1024 } }))
    const killed = spawnSync(process.execPath, [BIN, 'run', jobFile, '--home', home], { env: { ...process.env, BATCHERY_CRASH_AT: 'after-partition-commit:1' } })
    expect(killed.signal).toBe('SIGKILL')
    const runs = await server.value('runs.list', { job: 'orders' })
    const interrupted = runs.find((r) => r.status === 'interrupted')
    expect(interrupted).toBeDefined()
    const runId = interrupted?.runId as string
    await page.goto(`${server.origin}/#/jobs/orders`)
    await page.getByTestId(`resume-run-${runId}`).waitFor()
    await shot(page, '09-history-interrupted')
    await page.getByTestId(`resume-run-${runId}`).click()
    await expect.poll(async () => (await server.value('runs.get', { runId })).status, { timeout: 60_000 }).toBe('partial')
    await page.goto(`${server.origin}/#/runs/${runId}`)
    await page.getByTestId('accounting').waitFor()
    expect(accounting((await page.getByTestId('accounting').textContent()) ?? '').in).toBe(21)
    await shot(page, '10-resumed-run')
    await page.goto(`${server.origin}/#/jobs`)
    await page.getByTestId('job-row-orders').waitFor()
    await shot(page, '11-jobs')
  })

  it('asks for the token when the address has none, and the API refuses requests without it', async () => {
    const fresh = await browser.newPage()
    await fresh.goto(`${server.origin}/`)
    await fresh.getByTestId('needs-token').waitFor()
    await shot(fresh, '12-needs-token')
    const status = await fresh.evaluate(async () => (await fetch('/api/call', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"method":"jobs.list","params":{}}' })).status)
    expect(status).toBe(401)
    await fresh.close()
  })

  it('logged no errors in the page', () => {
    expect(consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of 40[13]/.test(e))).toEqual([])
  })
})
