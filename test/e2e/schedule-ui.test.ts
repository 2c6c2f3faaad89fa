// The schedule in the UI, in a real browser (Debian's Chromium via playwright-core) against a real
// `batchery serve` on a temp home: the Jobs screen's schedule column and its on/off switch, the
// job's page with its next due times and the ledger of processed files, "Run on files…" over one
// of two files, a drop of files on a job in a browser (which cannot see paths), and the editor's
// schedule section with a problem shown next to its field and a save that round-trips.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScheduleView } from '../../src/shared/api'
import { launch, openPage, shot, shotOf } from '../helpers/browser'
import { tempDir } from '../helpers/cli'
import { serve, type Served } from '../helpers/server'

let server: Served
let browser: Browser
let page: Page
let inDir: string
let outDir: string
let firstRunId = ''
const consoleErrors: string[] = []
const JOB = 'sales'

beforeAll(async () => {
  const data = tempDir()
  inDir = join(data, 'in')
  outDir = join(data, 'out')
  mkdirSync(inDir)
  writeFileSync(join(inDir, 'a.csv'), 'id,amount\n1,10\n2,20\n3,30\n')
  writeFileSync(join(inDir, 'b.csv'), 'id,amount\n4,40\n5,50\n')
  server = await serve(tempDir())
  browser = await launch()
  page = await openPage(browser, consoleErrors)
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

function schedule(): Promise<ScheduleView> {
  return server.value('jobs.schedule', { name: JOB })
}

/** The run id of the run screen the page shows. */
async function runIdOnScreen(): Promise<string> {
  await page.waitForURL(/#\/runs\/[^/]+$/)
  return decodeURIComponent(new URL(page.url()).hash.replace(/^#\/runs\//, ''))
}

/** A screenshot of a section near the end of a long page, clear of the editor's sticky action bar. */
async function shotOfSection(section: Locator, name: string): Promise<void> {
  const size = page.viewportSize()
  await page.setViewportSize({ width: 1280, height: 1800 })
  await page.evaluate('window.scrollTo(0, document.body.scrollHeight)')
  await shotOf(section, name)
  if (size) await page.setViewportSize(size)
}

async function waitForRunEnd(runId: string): Promise<void> {
  await expect
    .poll(async () => (await server.value('runs.get', { runId })).status, { timeout: 60_000 })
    .toMatch(/succeeded|partial|failed/)
}

describe('the schedule in the UI', () => {
  it('shows a scheduled job on the Jobs screen as on, with its next time, and turns it off and on', async () => {
    await server.value('jobs.save', {
      job: {
        name: JOB,
        kind: 'records',
        input: { folder: inDir, include: ['*.csv'], format: 'csv' },
        steps: [],
        output: { folder: outDir, format: 'jsonl' },
        triggers: [{ every: '1h' }],
        incremental: true
      }
    })
    await page.goto(server.url)
    const cell = page.getByTestId(`schedule-${JOB}`)
    await cell.waitFor()
    expect(await cell.textContent()).toMatch(/^On · next /)
    expect(await page.getByTestId(`job-row-${JOB}`).textContent()).toContain('Every 1 hour')
    await shot(page, 'schedule-01-jobs')

    const toggle = page.getByTestId(`schedule-toggle-${JOB}`)
    expect(await toggle.getAttribute('aria-checked')).toBe('true')
    await toggle.click()
    await expect.poll(async () => (await schedule()).enabled).toBe(false)
    await expect.poll(() => cell.textContent()).toBe('Off')
    expect(await toggle.getAttribute('aria-checked')).toBe('false')

    await toggle.click()
    await expect.poll(async () => (await schedule()).enabled).toBe(true)
    await expect.poll(() => cell.textContent()).toMatch(/^On · next /)
  })

  it('shows the next due times on the job page, and the ledger of the files a run processed', async () => {
    await page.goto(`${server.origin}/#/jobs/${JOB}`)
    const panel = page.getByTestId('schedule-panel')
    await panel.waitFor()
    expect(await panel.getByTestId('schedule-trigger').textContent()).toContain('Every 1 hour')
    const view = await schedule()
    const next = view.triggers[0]?.next ?? []
    expect(next.length).toBeGreaterThan(0)
    await expect.poll(() => panel.getByTestId('next-times').locator('time').count()).toBe(next.length)
    // the first one is an hour from when the schedule was turned on, shown in local time
    expect(await panel.getByTestId('next-times').locator('time').first().getAttribute('datetime')).toBe(new Date(next[0] as number).toISOString())
    expect(await panel.getByTestId('schedule-enabled').getAttribute('aria-checked')).toBe('true')
    expect(await panel.getByTestId('schedule-incremental').textContent()).toContain('only files that are new or changed')
    expect(await panel.getByTestId('schedule-catchup').textContent()).toContain('runs once')
    expect(await panel.getByTestId('ledger-empty').isVisible()).toBe(true)

    // the switch on the page works too
    await panel.getByTestId('schedule-enabled').click()
    await expect.poll(async () => (await schedule()).enabled).toBe(false)
    await expect.poll(() => panel.getByTestId('schedule-enabled').getAttribute('aria-checked')).toBe('false')
    await panel.getByTestId('schedule-enabled').click()
    await expect.poll(async () => (await schedule()).enabled).toBe(true)
    await expect.poll(() => panel.getByTestId('next-times').count()).toBe(1)

    await page.getByTestId(`run-job-${JOB}`).click()
    firstRunId = await runIdOnScreen()
    await page.getByTestId('accounting').waitFor({ timeout: 60_000 })
    await waitForRunEnd(firstRunId)

    await page.goto(`${server.origin}/#/jobs/${JOB}`)
    await expect.poll(() => page.getByTestId('ledger-row').count(), { timeout: 10_000 }).toBe(2)
    const rows = page.getByTestId('ledger-row')
    expect(await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-file')).sort())).toEqual(['a.csv', 'b.csv'])
    expect(await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-run')))).toEqual([firstRunId, firstRunId])
    expect(await rows.first().locator(`a[href="#/runs/${firstRunId}"]`).count()).toBe(1)
    await shotOf(page.getByTestId('schedule-panel'), 'schedule-02-panel')
    await shot(page, 'schedule-03-job-page')
  })

  it('runs the job on one chosen file with "Run on files…"', async () => {
    await page.getByTestId('run-on-files').click()
    await page.getByTestId('run-on-files-dialog').waitFor()
    await expect.poll(() => page.getByTestId('file-choice').count()).toBe(2)
    expect(await page.getByTestId('start-with-files').isDisabled()).toBe(true)
    await page.locator(`[data-testid="file-choice"][value="${join(inDir, 'b.csv')}"]`).check()
    await shot(page, 'schedule-04-run-on-files')
    await page.getByTestId('start-with-files').click()
    const runId = await runIdOnScreen()
    expect(runId).not.toBe(firstRunId)
    await page.getByTestId('accounting').waitFor({ timeout: 60_000 })
    await waitForRunEnd(runId)
    const run = await server.value('runs.get', { runId })
    expect(run.counts.in).toBe(2)
    expect(run.outputs.map((o) => o.path.replace(/^.*[\\/]/, ''))).toEqual(['b.jsonl'])

    await page.goto(`${server.origin}/#/jobs/${JOB}`)
    await expect
      .poll(async () => Object.fromEntries(await page.getByTestId('ledger-row').evaluateAll((rs) => rs.map((r) => [r.getAttribute('data-file'), r.getAttribute('data-run')]))), { timeout: 10_000 })
      .toEqual({ 'a.csv': firstRunId, 'b.csv': runId })
  })

  it('says what to do when files are dropped on a job in a browser, which cannot see their paths', async () => {
    await page.goto(`${server.origin}/#/jobs`)
    const row = page.getByTestId(`job-row-${JOB}`)
    await row.waitFor()
    // Runs in the page (a string: the test's own types know no DOM).
    const dataTransfer = await page.evaluateHandle(`(() => {
      const d = new DataTransfer()
      d.items.add(new File(['id,amount\\n9,90\\n'], 'c.csv', { type: 'text/csv' }))
      return d
    })()`)
    await row.dispatchEvent('dragover', { dataTransfer })
    await row.dispatchEvent('drop', { dataTransfer })
    const notice = page.getByTestId('drop-notice')
    await notice.waitFor()
    expect(await notice.textContent()).toContain('desktop app')
    expect(await notice.textContent()).toContain('Run on files…')
    // the drop did not turn into a new job
    expect(new URL(page.url()).hash).toBe('#/jobs')
    await page.getByTestId('drop-notice-run-on-files').click()
    await page.getByTestId('run-on-files-dialog').waitFor()
    expect(new URL(page.url()).hash).toBe(`#/jobs/${JOB}`)
    await page.keyboard.press('Escape')
  })

  it('edits the schedule: a bad cron time is shown next to its field, the fix saves, and the job round-trips', async () => {
    const before = await server.value('jobs.get', { name: JOB })

    // opened and saved unchanged: the same definition, no new version
    await page.goto(`${server.origin}/#/jobs/${JOB}/edit`)
    await page.getByTestId('schedule-editor').waitFor()
    expect(await page.getByTestId('trigger-every-0').inputValue()).toBe('1h')
    expect(await page.getByTestId('incremental').isChecked()).toBe(true)
    expect(await page.getByTestId('catchup').inputValue()).toBe('latest')
    expect(await page.getByTestId('overlap').inputValue()).toBe('queue')
    await page.getByTestId('save-job').click()
    await page.getByTestId(`job-row-${JOB}`).waitFor()
    const unchanged = await server.value('jobs.get', { name: JOB })
    expect(unchanged.version).toBe(before.version)
    expect(unchanged.definition).toEqual(before.definition)

    await page.goto(`${server.origin}/#/jobs/${JOB}/edit`)
    const editor = page.getByTestId('schedule-editor')
    await editor.waitFor()
    await page.getByTestId('add-trigger-cron').click()
    const zone = await page.getByTestId('trigger-timezone-1').inputValue()
    expect(zone).toBe(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone))
    await page.getByTestId('trigger-cron-1').fill('0 25 * * *')
    const problem = page.getByTestId('trigger-1').getByTestId('trigger-problem')
    await expect.poll(async () => (await problem.allTextContents()).join(' '), { timeout: 10_000 }).toContain('hour')
    expect(await page.getByTestId('trigger-cron-1').getAttribute('aria-invalid')).toBe('true')
    // nothing else is blamed
    expect(await page.getByTestId('trigger-0').getByTestId('trigger-problem').count()).toBe(0)
    await shotOfSection(editor, 'schedule-05-editor-problem')

    await page.getByTestId('cron-preset-weekdays-1').click()
    expect(await page.getByTestId('trigger-cron-1').inputValue()).toBe('0 7 * * 1-5')
    await expect.poll(() => problem.count(), { timeout: 10_000 }).toBe(0)
    await expect.poll(async () => (await page.getByTestId('trigger-words-1').textContent()) ?? '').toContain('Monday to Friday')
    await page.getByTestId('catchup').selectOption('all')
    await page.getByTestId('catchup-limit').fill('3')
    await page.getByTestId('overlap').selectOption('skip')
    await expect.poll(() => page.getByTestId('validation-summary').textContent(), { timeout: 10_000 }).toBe('The job looks right.')
    await shotOfSection(editor, 'schedule-06-editor')
    await page.getByTestId('save-job').click()
    await page.getByTestId(`job-row-${JOB}`).waitFor()

    const saved = await server.value('jobs.get', { name: JOB })
    expect(saved.version).toBe(before.version + 1)
    const def = saved.definition as Record<string, unknown>
    expect(def.triggers).toEqual([{ every: '1h' }, { cron: '0 7 * * 1-5', timezone: zone }])
    expect(def.catchUp).toBe('all')
    expect(def.catchUpLimit).toBe(3)
    expect(def.overlap).toBe('skip')
    expect(def.incremental).toBe(true)
    // the schedule stays on and now has both triggers
    const view = await schedule()
    expect(view.enabled).toBe(true)
    expect(view.triggers.map((t) => t.key)).toEqual(['every:3600000', `cron:0 7 * * 1-5@${zone}`])

    // opened again, it shows what was saved, and saving it unchanged changes nothing
    await page.goto(`${server.origin}/#/jobs/${JOB}/edit`)
    await page.getByTestId('schedule-editor').waitFor()
    expect(await page.getByTestId('trigger-every-0').inputValue()).toBe('1h')
    expect(await page.getByTestId('trigger-cron-1').inputValue()).toBe('0 7 * * 1-5')
    expect(await page.getByTestId('trigger-timezone-1').inputValue()).toBe(zone)
    expect(await page.getByTestId('catchup').inputValue()).toBe('all')
    expect(await page.getByTestId('catchup-limit').inputValue()).toBe('3')
    expect(await page.getByTestId('overlap').inputValue()).toBe('skip')
    expect(await page.getByTestId('incremental').isChecked()).toBe(true)
    await page.getByTestId('save-job').click()
    await page.getByTestId(`job-row-${JOB}`).waitFor()
    const again = await server.value('jobs.get', { name: JOB })
    expect(again.version).toBe(saved.version)
    expect(again.definition).toEqual(saved.definition)

    // the job page lists both triggers in words
    await page.goto(`${server.origin}/#/jobs/${JOB}`)
    await expect.poll(() => page.getByTestId('schedule-trigger').count()).toBe(2)
    expect(await page.getByTestId('schedule-trigger').nth(1).textContent()).toContain('Monday to Friday')
    expect(await page.getByTestId('schedule-overlap').textContent()).toContain('skipped')
  })

  it('removes a trigger in the editor', async () => {
    await page.goto(`${server.origin}/#/jobs/${JOB}/edit`)
    await page.getByTestId('schedule-editor').waitFor()
    await page.getByTestId('remove-trigger-0').click()
    expect(await page.getByTestId('trigger-cron-0').inputValue()).toBe('0 7 * * 1-5')
    await page.getByTestId('add-trigger-watch').click()
    expect(await page.getByTestId('trigger-settle-1').inputValue()).toBe('5s')
    expect(await page.getByTestId('add-trigger-watch').isDisabled()).toBe(true)
    await page.getByTestId('remove-trigger-1').click()
    await expect.poll(() => page.getByTestId('validation-summary').textContent(), { timeout: 10_000 }).toBe('The job looks right.')
    await page.getByTestId('save-job').click()
    await page.getByTestId(`job-row-${JOB}`).waitFor()
    const def = (await server.value('jobs.get', { name: JOB })).definition as Record<string, unknown>
    expect((def.triggers as unknown[]).length).toBe(1)
  })

  it('lists due times as they come, each with what happened and a link to its run', async () => {
    const name = 'ticker'
    await server.value('jobs.save', {
      job: {
        name,
        kind: 'records',
        input: { folder: inDir, include: ['a.csv'], format: 'csv' },
        steps: [],
        output: { folder: join(outDir, '..', 'ticker-out'), format: 'jsonl' },
        triggers: [{ every: '3s' }],
        overlap: 'skip'
      }
    })
    // The scheduler notices a newly saved job when it next wakes (at most 30 s, or when a run
    // ends); a run of the job wakes it, so the test need not wait.
    await page.goto(`${server.origin}/#/jobs/${name}`)
    await page.getByTestId('schedule-panel').waitFor()
    await page.getByTestId(`run-job-${name}`).click()
    await waitForRunEnd(await runIdOnScreen())
    await page.goto(`${server.origin}/#/jobs/${name}`)
    await page.getByTestId('schedule-panel').waitFor()
    // the scheduler in `batchery serve` runs it; the page hears of the runs and shows each due time
    const startedRows = page.getByTestId('due-row').filter({ has: page.locator('a[href^="#/runs/"]') })
    await expect.poll(() => startedRows.count(), { timeout: 30_000 }).toBeGreaterThan(1)
    await page.getByTestId('schedule-enabled').click()
    await expect.poll(async () => (await server.value('jobs.schedule', { name })).enabled).toBe(false)
    await expect.poll(() => page.getByTestId('schedule-enabled').getAttribute('aria-checked')).toBe('false')
    const view = await server.value('jobs.schedule', { name })
    expect(view.dueTimes.filter((d) => d.runId !== null).length).toBeGreaterThan(1)
    await expect.poll(() => page.getByTestId('due-row').count()).toBe(Math.min(10, view.dueTimes.length))
    // newest first, as the engine lists them, each run linked with its status
    const shown = await page.getByTestId('due-row').locator('time').evaluateAll((ts) => ts.map((t) => Date.parse(t.getAttribute('datetime') ?? '')))
    expect(shown).toEqual([...shown].sort((a, b) => b - a))
    const firstStarted = view.dueTimes.find((d) => d.runId !== null)
    const row = page.getByTestId('due-row').filter({ has: page.locator(`a[href="#/runs/${firstStarted?.runId}"]`) })
    expect(await row.count()).toBe(1)
    expect(await row.textContent()).toContain('Every 3 seconds')
    await shotOf(page.getByTestId('schedule-panel'), 'schedule-07-panel-due-times')
  })

  it('logged no errors in the page', () => {
    expect(consoleErrors).toEqual([])
  })
})
