// The aggregate and route steps and the output split in the new-job screen, in a real browser
// against a real `batchery serve`: what the UI writes into the saved job, the job check's
// problems shown on the step they name (an aggregate that is not last, an aggregate with a route,
// an output name that cannot name a folder), and jobs with these steps opened and saved again
// unchanged; and a summary job saved and run from the editor, its output read back.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
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
let data: string
const consoleErrors: string[] = []

beforeAll(async () => {
  data = tempDir()
  inDir = join(data, 'orders')
  mkdirSync(inDir)
  writeFileSync(join(inDir, 'jan.csv'), 'id,country,customer,total\n1,DE,Ann,120.5\n2,FR,Bob,8\n3,DE,Cy,40\n')
  server = await serve(tempDir())
  browser = await launch()
  page = await openPage(browser, consoleErrors)
})

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

async function newJobOverOrders(): Promise<void> {
  await page.goto(server.url)
  await page.getByTestId('new-job').click()
  await page.getByTestId('input-folder').fill(inDir)
  await page.getByTestId('preview-table').waitFor()
}

async function looksRight(): Promise<void> {
  await expect.poll(async () => (await page.getByTestId('validation-summary').textContent()) ?? '', { timeout: 10_000 }).toBe('The job looks right.')
}

function stepProblems(index: number): Promise<string> {
  return page
    .getByTestId(`step-${index}`)
    .getByTestId('step-problem')
    .allTextContents()
    .then((t) => t.join(' '))
}

async function saveAndRead(name: string): Promise<Record<string, unknown>> {
  await page.getByTestId('save-job').click()
  await page.getByTestId(`job-row-${name}`).waitFor()
  return (await server.value('jobs.get', { name })).definition as Record<string, unknown>
}

/** Open a saved job in the editor, save it without changes: same version, same definition. */
async function roundTrip(name: string): Promise<void> {
  const before = await server.value('jobs.get', { name })
  await page.goto(`${server.origin}/#/jobs/${encodeURIComponent(name)}/edit`)
  await page.getByTestId('step-0').waitFor()
  await page.getByTestId('save-job').click()
  await page.getByTestId(`job-row-${name}`).waitFor()
  const after = await server.value('jobs.get', { name })
  expect(after.definition).toEqual(before.definition)
  expect(after.version).toBe(before.version)
}

describe('aggregate, route and split in the editor', () => {
  it('builds a summary step, shows where it may not stand, and saves it with a split output', async () => {
    await newJobOverOrders()
    await page.getByTestId('add-step-aggregate').click()
    const agg = page.getByTestId('step-0')
    expect(await agg.getAttribute('data-kind')).toBe('aggregate')
    expect(await agg.getByRole('heading').textContent()).toContain('Summarise (aggregate)')
    await agg.getByTestId('aggregate-by-country').check()
    // the first value counts the records of each group
    expect(await agg.getByTestId('aggregate-fn').first().inputValue()).toBe('count')
    await agg.getByTestId('aggregate-name').first().fill('orders')
    await agg.getByTestId('add-aggregate-value').click()
    await agg.getByTestId('aggregate-name').nth(1).fill('revenue')
    await agg.getByTestId('aggregate-fn').nth(1).selectOption('sum')
    await agg.getByTestId('aggregate-column').nth(0).selectOption('total')
    await agg.getByTestId('add-aggregate-value').click()
    await agg.getByTestId('aggregate-name').nth(2).fill('customers')
    await agg.getByTestId('aggregate-fn').nth(2).selectOption('distinct')
    await agg.getByTestId('aggregate-column').nth(1).selectOption('customer')

    // a step after it: the check says the aggregate must be last, on the aggregate's card
    await page.getByTestId('add-step-filter').click()
    await page.getByTestId('step-1').getByTestId('filter-expression').fill('total > 0')
    await expect.poll(() => stepProblems(0), { timeout: 10_000 }).toContain('must be the last step')
    await shot(page, 'steps-01-aggregate-not-last')
    await page.getByRole('button', { name: 'Move step 2 up' }).click()
    expect(await page.getByTestId('step-1').getAttribute('data-kind')).toBe('aggregate')
    await expect.poll(() => stepProblems(1), { timeout: 10_000 }).toBe('')

    // with a route as well: the check refuses the pair
    await page.getByTestId('add-step-route').click()
    await page.getByTestId('step-2').getByTestId('route-by').fill('country')
    await expect.poll(() => stepProblems(1), { timeout: 10_000 }).toContain('cannot both route and aggregate')
    await page.getByTestId('step-2').getByTestId('remove-step').click()
    await looksRight()

    await page.getByTestId('split-records').fill('1000')
    await page.getByTestId('split-size').fill('100MB')
    await page.getByTestId('job-name').fill('by-country')
    await page.getByTestId('output-folder').fill(join(data, 'summary'))
    await looksRight()
    await shot(page, 'steps-02-aggregate')
    const def = await saveAndRead('by-country')
    expect(def.steps).toEqual([
      { filter: 'total > 0' },
      { aggregate: { by: ['country'], values: { orders: 'count', revenue: 'sum(total)', customers: 'distinct(customer)' } } }
    ])
    expect((def.output as Record<string, unknown>).split).toEqual({ records: 1000, bytes: '100MB' })
  })

  it('opens the summary job as it was made, and saving it unchanged changes nothing', async () => {
    await page.goto(`${server.origin}/#/jobs/by-country/edit`)
    const agg = page.getByTestId('step-1')
    await agg.waitFor()
    expect(await agg.getAttribute('data-kind')).toBe('aggregate')
    expect(await agg.getByTestId('aggregate-by-country').isChecked()).toBe(true)
    const names = agg.getByTestId('aggregate-name')
    expect([await names.nth(0).inputValue(), await names.nth(1).inputValue(), await names.nth(2).inputValue()]).toEqual(['orders', 'revenue', 'customers'])
    const fns = agg.getByTestId('aggregate-fn')
    expect([await fns.nth(0).inputValue(), await fns.nth(1).inputValue(), await fns.nth(2).inputValue()]).toEqual(['count', 'sum', 'distinct'])
    expect(await page.getByTestId('split-records').inputValue()).toBe('1000')
    expect(await page.getByTestId('split-size').inputValue()).toBe('100MB')
    await roundTrip('by-country')
  })

  it('runs the summary job from the editor: the outputs list the summary, one row per country', async () => {
    await page.goto(`${server.origin}/#/jobs/by-country/edit`)
    await page.getByTestId('step-1').waitFor()
    await page.getByTestId('save-and-run').click()
    await page.getByTestId('accounting').waitFor({ timeout: 60_000 })
    // the three records reached the summary; it holds one row for DE and one for FR
    expect(await page.getByTestId('accounting').textContent()).toMatch(/\b3 in = 3 out\b/)
    const outputs = (await page.getByTestId('outputs').textContent()) ?? ''
    expect(outputs).toContain('jan-part-0001.jsonl')
    const lines = readFileSync(join(data, 'summary', 'jan-part-0001.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown)
    expect(lines).toEqual([
      { country: 'DE', orders: 2, revenue: 160.5, customers: 2 },
      { country: 'FR', orders: 1, revenue: 8, customers: 1 }
    ])
    await shot(page, 'steps-02b-summary-run')
  })

  it('builds a route with named outputs, shows a name that cannot be a folder on its row, and saves it', async () => {
    await newJobOverOrders()
    await page.getByTestId('add-step-route').click()
    const route = page.getByTestId('step-0')
    expect(await route.getByRole('heading').textContent()).toContain('Send to different outputs (route)')
    expect(await route.textContent()).toContain('Each output is a folder inside the output folder')
    await route.getByTestId('route-mode-when').check()
    await route.getByTestId('route-name').first().fill('large/eu')
    await route.getByTestId('route-condition').first().fill('total > 100')
    await expect
      .poll(async () => (await route.getByTestId('route-output').first().getByTestId('step-problem').allTextContents()).join(' '), { timeout: 10_000 })
      .toContain('cannot contain')
    await shot(page, 'steps-03-route-problem')
    await route.getByTestId('route-name').first().fill('large')
    await route.getByTestId('add-route-output').click()
    await route.getByTestId('route-name').nth(1).fill('small')
    await route.getByTestId('route-condition').nth(1).fill('total < 10')
    await route.getByTestId('route-otherwise').fill('medium')
    await page.getByTestId('job-name').fill('by-size')
    await page.getByTestId('output-folder').fill(join(data, 'sized'))
    await looksRight()
    const def = await saveAndRead('by-size')
    expect(def.steps).toEqual([{ route: { when: { large: 'total > 100', small: 'total < 10' }, otherwise: 'medium' } }])
    expect((def.output as Record<string, unknown>).split).toBeUndefined()

    await page.goto(`${server.origin}/#/jobs/by-size/edit`)
    await page.getByTestId('step-0').waitFor()
    expect(await page.getByTestId('route-mode-when').isChecked()).toBe(true)
    expect(await page.getByTestId('route-name').nth(1).inputValue()).toBe('small')
    expect(await page.getByTestId('route-otherwise').inputValue()).toBe('medium')
    await roundTrip('by-size')
  })

  it('round-trips jobs written by hand: a route by expression, a summary with fields the form does not show', async () => {
    await server.value('jobs.save', {
      job: {
        name: 'per-country',
        kind: 'records',
        input: { folder: inDir, include: ['*.csv'], format: 'csv' },
        steps: [{ route: { by: 'upper(country)' } }],
        output: { folder: join(data, 'per-country'), format: 'csv', quoting: 'all', split: { bytes: 1048576 } }
      }
    })
    await page.goto(`${server.origin}/#/jobs/per-country/edit`)
    await page.getByTestId('route-by').waitFor()
    expect(await page.getByTestId('route-mode-by').isChecked()).toBe(true)
    expect(await page.getByTestId('route-by').inputValue()).toBe('upper(country)')
    expect(await page.getByTestId('split-size').inputValue()).toBe('1048576')
    expect(await page.getByTestId('output-quoting').inputValue()).toBe('all')
    await roundTrip('per-country')

    await server.value('jobs.save', {
      job: {
        name: 'totals',
        kind: 'records',
        input: { folder: inDir, include: ['*.csv'], format: 'csv' },
        steps: [{ aggregate: { values: { orders: 'count', biggest: 'MAX( total )' }, maxGroups: 50 } }],
        output: { folder: join(data, 'totals'), format: 'jsonl', split: { records: 5 } }
      }
    })
    await page.goto(`${server.origin}/#/jobs/totals/edit`)
    await page.getByTestId('step-0').waitFor()
    // a value not in the form the screen writes is shown as written, and kept
    expect(await page.getByTestId('aggregate-custom').inputValue()).toBe('MAX( total )')
    await roundTrip('totals')
    const def = (await server.value('jobs.get', { name: 'totals' })).definition as { steps: unknown[] }
    expect(def.steps).toEqual([{ aggregate: { by: [], values: { orders: 'count', biggest: 'MAX( total )' }, maxGroups: 50 } }])
  })

  it('logged no errors in the page', () => {
    expect(consoleErrors).toEqual([])
  })
})
