// A files job made in the UI, in a real browser (Debian's Chromium via playwright-core) against a
// real `batchery serve`: the analyst chooses "Run a command on each file", picks a folder of .txt
// files, builds the command from a program, arguments and clicked placeholders, sees a problem
// next to the argument that holds it, sees the exact command of each file in the dry run (and
// nothing runs), saves and runs it (one file fails on purpose), and the job opened again saves
// to the same definition. Shell and module jobs round-trip through the editor too.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launch, openPage, shot } from '../helpers/browser'
import { tempDir } from '../helpers/cli'
import { serve, type Served } from '../helpers/server'

let server: Served
let browser: Browser
let page: Page
let inDir: string
let outDir: string
let script: string
let moduleFile: string
const NODE = process.execPath
const JOB = 'upper-files'
const consoleErrors: string[] = []

beforeAll(async () => {
  const data = tempDir()
  inDir = join(data, 'notes')
  outDir = join(data, 'notes-upper')
  mkdirSync(inDir)
  writeFileSync(join(inDir, 'a.txt'), 'alpha\n')
  writeFileSync(join(inDir, 'b.txt'), 'bravo\n')
  writeFileSync(join(inDir, 'bad.txt'), 'FAIL here\n')
  writeFileSync(join(inDir, 'c.txt'), 'charlie\n')
  writeFileSync(join(inDir, 'skip-me.txt'), 'left out\n')
  writeFileSync(join(inDir, 'readme.md'), 'not a txt\n')
  // The command: upper-cases a file into {out}; a file saying FAIL fails with exit code 3.
  script = join(data, 'upper.mjs')
  writeFileSync(
    script,
    [
      "import { readFileSync, writeFileSync } from 'node:fs'",
      'const [file, target] = process.argv.slice(2)',
      "const text = readFileSync(file, 'utf8')",
      "if (text.includes('FAIL')) { console.error('cannot convert ' + file); process.exit(3) }",
      'writeFileSync(target, text.toUpperCase())'
    ].join('\n')
  )
  moduleFile = join(data, 'convert.mjs')
  writeFileSync(moduleFile, 'export async function convert(file, context) {}\n')
  server = await serve(tempDir())
  browser = await launch()
  page = await openPage(browser, consoleErrors)
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

async function args(): Promise<string[]> {
  const boxes = page.getByTestId('command-arg')
  const values: string[] = []
  for (let i = 0; i < (await boxes.count()); i++) values.push(await boxes.nth(i).inputValue())
  return values
}

async function looksRight(): Promise<void> {
  await expect.poll(async () => (await page.getByTestId('validation-summary').textContent()) ?? '', { timeout: 10_000 }).toBe('The job looks right.')
}

/** Open a saved job in the editor, save it without changes: same version, same definition. */
async function roundTrip(name: string, ready: string): Promise<void> {
  const before = await server.value('jobs.get', { name })
  await page.goto(`${server.origin}/#/jobs/${encodeURIComponent(name)}/edit`)
  await page.getByTestId(ready).waitFor()
  await looksRight()
  await page.getByTestId('save-job').click()
  await page.getByTestId(`job-row-${name}`).waitFor()
  const after = await server.value('jobs.get', { name })
  expect(after.definition).toEqual(before.definition)
  expect(after.version).toBe(before.version)
}

describe('a files job in the UI', () => {
  it('offers the two kinds of job first, records chosen', async () => {
    await page.goto(server.url)
    await page.getByTestId('new-job').click()
    expect(await page.getByTestId('job-kind-records').isChecked()).toBe(true)
    expect(await page.getByRole('radio', { name: /Run a command on each file/ }).isChecked()).toBe(false)
    await page.getByRole('radio', { name: /Run a command on each file/ }).check()
    await page.getByTestId('command-editor').waitFor()
    // a files job has no preview of rows and no steps
    expect(await page.getByTestId('add-step-filter').count()).toBe(0)
  })

  it('builds the command from a program, arguments and clicked placeholders, with problems next to their argument', async () => {
    await page.getByTestId('input-folder').fill(inDir)
    await page.getByTestId('input-include').fill('*.txt')
    await page.getByTestId('input-exclude').fill('skip-*.txt')
    await page.getByTestId('command-program').fill(NODE)
    // the first argument starts as {} (the file's path); it becomes the script, then {} comes back by a click
    expect(await args()).toEqual(['{}'])
    await page.getByTestId('command-arg').first().fill(script)
    await page.getByTestId('add-command-arg').click()
    await page.getByTestId('command-arg').nth(1).click()
    await page.getByTestId('placeholder-{}').click()
    expect(await args()).toEqual([script, '{}'])

    // a typo in a placeholder is shown at its argument
    await page.getByTestId('add-command-arg').click()
    await page.getByTestId('command-arg').nth(2).fill('{out}/{stme}.up')
    const row = page.getByTestId('command-arg-row').nth(2)
    await expect.poll(async () => (await row.getByTestId('field-problem').allTextContents()).join(' '), { timeout: 10_000 }).toContain('unknown placeholder "{stme}"')
    expect(await page.getByTestId('command-arg').nth(2).getAttribute('aria-invalid')).toBe('true')
    await shot(page, 'files-01-placeholder-problem')

    // rebuilt by clicks: each placeholder goes where the cursor is
    await page.getByTestId('command-arg').nth(2).fill('')
    await page.getByTestId('command-arg').nth(2).click()
    await page.getByTestId('placeholder-{out}').click()
    await page.keyboard.type('/')
    await page.getByTestId('placeholder-{stem}').click()
    await page.keyboard.type('.up')
    expect(await args()).toEqual([script, '{}', '{out}/{stem}.up'])
    await expect.poll(() => row.getByTestId('field-problem').count(), { timeout: 10_000 }).toBe(0)

    // the same command as one line, split back into the same arguments
    await page.getByTestId('command-mode-line').check()
    expect(await page.getByTestId('command-line').inputValue()).toBe(`${NODE} ${script} {} {out}/{stem}.up`)
    expect(await page.getByTestId('command-split').textContent()).toContain('{out}/{stem}.up')
    await page.getByTestId('command-mode-list').check()
    expect(await page.getByTestId('command-program').inputValue()).toBe(NODE)
    expect(await args()).toEqual([script, '{}', '{out}/{stem}.up'])

    await page.getByTestId('output-folder').fill(outDir)
    await page.getByTestId('job-name').fill(JOB)
    await page.getByTestId('files-concurrency').fill('2')
    await page.getByTestId('files-retries').fill('0')
    await page.getByTestId('files-timeout').fill('30s')
    await page.getByTestId('max-failed').fill('10')
    await looksRight()
  })

  it('dry-runs it: the exact command of each file, and nothing runs', async () => {
    await page.getByTestId('dry-run').click()
    await page.getByTestId('dry-run-result').waitFor()
    const rows = page.getByTestId('dry-run-command')
    await expect.poll(() => rows.count()).toBe(4)
    expect(await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-file')))).toEqual(['a.txt', 'b.txt', 'bad.txt', 'c.txt'])
    const first = (await rows.first().textContent()) ?? ''
    expect(first).toContain(NODE)
    expect(first).toContain(script)
    expect(first).toContain(join(inDir, 'a.txt'))
    expect(first).toContain(join(outDir, '.batchery-staging', 'dry-run', '1', 'a.up'))
    await shot(page, 'files-02-dry-run')
    expect(existsSync(outDir)).toBe(false)
  })

  it('saves and runs it: three files done, the one that fails is counted as failed', async () => {
    await page.getByTestId('save-and-run').click()
    await page.waitForURL(/#\/runs\//)
    await page.getByTestId('accounting').waitFor({ timeout: 60_000 })
    expect(await page.getByTestId('accounting').textContent()).toBe('4 files = 3 done + 1 failed')
    expect(await page.getByTestId('open-failures').textContent()).toBe('See the 1 failed file')
    expect(await page.getByTestId('count-filtered').count()).toBe(0)
    await shot(page, 'files-03-run-done')
    expect(readdirSync(outDir).filter((f) => !f.startsWith('.')).sort()).toEqual(['a.up', 'b.up', 'c.up'])
    expect(readFileSync(join(outDir, 'a.up'), 'utf8')).toBe('ALPHA\n')

    const def = (await server.value('jobs.get', { name: JOB })).definition as Record<string, unknown>
    expect(def.kind).toBe('files')
    expect(def.command).toEqual([NODE, script, '{}', '{out}/{stem}.up'])
    expect(def.shell).toBe(false)
    expect(def.input).toEqual({ folder: inDir, include: ['*.txt'], exclude: ['skip-*.txt'] })
    expect(def.output).toEqual({ folder: outDir })
    expect(def.policy).toEqual({ concurrency: 2, retries: 0, timeout: '30s', maxFailedRecords: 10 })
  })

  it('opens the saved job in the same form, and saving it unchanged gives the same definition', async () => {
    await page.goto(`${server.origin}/#/jobs/${JOB}/edit`)
    await page.getByTestId('command-editor').waitFor()
    expect(await page.getByTestId('job-kind').textContent()).toBe('Run a command on each file')
    expect(await page.getByTestId('input-folder').inputValue()).toBe(inDir)
    expect(await page.getByTestId('input-include').inputValue()).toBe('*.txt')
    expect(await page.getByTestId('input-exclude').inputValue()).toBe('skip-*.txt')
    expect(await page.getByTestId('command-program').inputValue()).toBe(NODE)
    expect(await args()).toEqual([script, '{}', '{out}/{stem}.up'])
    expect(await page.getByTestId('command-shell').isChecked()).toBe(false)
    expect(await page.getByTestId('files-timeout').inputValue()).toBe('30s')
    expect(await page.getByTestId('max-failed').inputValue()).toBe('10')
    await shot(page, 'files-04-edit')
    await roundTrip(JOB, 'command-editor')
  })

  it('round-trips a shell command line, and warns about the shell', async () => {
    await server.value('jobs.save', {
      job: {
        name: 'gzip-shell',
        kind: 'files',
        input: { folder: inDir, include: ['*.txt'] },
        command: 'gzip -c {} > {out}/{name}.gz',
        shell: true,
        output: { folder: join(outDir, '..', 'gz') },
        triggers: [{ every: '1h' }]
      }
    })
    await page.goto(`${server.origin}/#/jobs/gzip-shell/edit`)
    await page.getByTestId('command-line').waitFor()
    expect(await page.getByTestId('command-line').inputValue()).toBe('gzip -c {} > {out}/{name}.gz')
    expect(await page.getByTestId('command-shell').isChecked()).toBe(true)
    expect(await page.getByTestId('shell-warning').textContent()).toContain('shell')
    expect(await page.getByTestId('trigger-every-0').inputValue()).toBe('1h')
    await roundTrip('gzip-shell', 'command-line')
  })

  it('round-trips a module job, with a missing module file shown next to its field', async () => {
    await server.value('jobs.save', {
      job: { name: 'by-module', kind: 'files', input: { folder: inDir }, module: moduleFile, export: 'convert', output: { folder: join(outDir, '..', 'mod') } }
    })
    await roundTrip('by-module', 'module-path')
    expect(await page.getByTestId('module-export').count()).toBe(0) // back on the jobs list
    await page.goto(`${server.origin}/#/jobs/by-module/edit`)
    await page.getByTestId('module-path').waitFor()
    expect(await page.getByTestId('processor-module').isChecked()).toBe(true)
    expect(await page.getByTestId('module-path').inputValue()).toBe(moduleFile)
    expect(await page.getByTestId('module-export').inputValue()).toBe('convert')
    await page.getByTestId('module-path').fill(join(inDir, 'missing.mjs'))
    await expect.poll(async () => (await page.getByTestId('field-problem').allTextContents()).join(' '), { timeout: 10_000 }).toContain('does not exist')
    expect(await page.getByTestId('module-path').getAttribute('aria-invalid')).toBe('true')
    await shot(page, 'files-05-module-problem')
  })

  it('logged no errors in the page', () => {
    expect(consoleErrors).toEqual([])
  })
})
