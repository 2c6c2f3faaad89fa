// The aggregate and route steps and split outputs, end to end through the CLI over real files:
// aggregates equal to DuckDB's over the same data at concurrency 1 and 2, routed records each in
// exactly one output with per-output counts, split parts that concatenate to the unsplit output,
// and byte-identical outputs after a kill -9 and a resume.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { describe, expect, it } from 'vitest'
import { cli, crashThenResume, readJsonl, tempDir, treeHashes, writeJob, type RunJson } from '../helpers/cli'
import { orderRows, ordersCsv } from '../helpers/orders'
import { failures, run } from '../helpers/runs'
import { serve } from '../helpers/server'

/** Two order files (3,000 and 2,000 rows) with quoted commas and line breaks; a bad amount at a known line of a.csv. */
function ordersDir(): string {
  const dir = tempDir()
  mkdirSync(join(dir, 'in'))
  const a = ordersCsv(orderRows(3000, 11))
  writeFileSync(join(dir, 'in', 'a.csv'), a + '9999,Bad Amount,de,12x,1,paid,note\n')
  writeFileSync(join(dir, 'in', 'b.csv'), ordersCsv(orderRows(2000, 12)))
  return dir
}

/** Run `job` over fresh orders, killed at `point`, then resume it: the counts and every output file must be the reference's. */
function killAndResume(job: unknown, point: string, counts: RunJson['counts'], expected: Record<string, string>): void {
  const dir = ordersDir()
  const c = crashThenResume(dir, job, point)
  for (const [name, hash] of Object.entries(c.afterKill)) expect(hash, `${name} after a crash at ${point}`).toBe(expected[name])
  expect(c.resumed.stderr, point).toBe('')
  expect(c.result.counts, point).toEqual(counts)
  // Byte-identical, and no partial file left anywhere under the output folder.
  expect(treeHashes(join(dir, 'out')), point).toEqual(expected)
}

function badLine(dir: string): number {
  const text = readFileSync(join(dir, 'in', 'a.csv'), 'utf8')
  return text.slice(0, text.indexOf('9999,Bad Amount')).split('\n').length
}

const VALUES = {
  orders: 'count',
  revenue: 'sum(amount)',
  average: 'avg(amount)',
  smallest: 'min(amount)',
  largest: 'max(quantity)',
  customers: 'distinct(customer)'
}

const aggregateJob = (concurrency: number, extra: Record<string, unknown> = {}) => ({
  name: 'by-country',
  kind: 'records',
  input: { folder: 'in', format: 'csv' },
  steps: [{ filter: "status != 'cancelled'" }, { aggregate: { by: ['country', 'status'], values: VALUES, ...extra } }],
  output: { folder: 'out', format: 'jsonl', layout: 'merged' },
  // Small partitions: many partial summaries to merge.
  policy: { concurrency, chunkSize: 16384 }
})

/** The same summary computed by DuckDB from the same CSV files, rows keyed by group. */
async function duckdbReference(dir: string): Promise<Map<string, Record<string, unknown>>> {
  const inst = await DuckDBInstance.create(':memory:')
  const con = await inst.connect()
  const src = join(dir, 'in', '*.csv').replace(/'/g, "''")
  const reader = await con.runAndReadAll(`
    WITH t AS (SELECT * FROM read_csv('${src}', header = true, all_varchar = true, quote = '"', escape = '"', strict_mode = true, ignore_errors = true)
               WHERE status <> 'cancelled' AND TRY_CAST(amount AS DOUBLE) IS NOT NULL)
    SELECT country, status, count(*)::INTEGER AS orders, sum(CAST(amount AS DOUBLE)) AS revenue, avg(CAST(amount AS DOUBLE)) AS average,
           min(CAST(amount AS DOUBLE)) AS smallest, max(CAST(quantity AS INTEGER))::INTEGER AS largest, count(DISTINCT customer)::INTEGER AS customers
    FROM t GROUP BY country, status`)
  const out = new Map<string, Record<string, unknown>>()
  for (const row of reader.getRowObjectsJS()) out.set(`${row.country}|${row.status}`, row as Record<string, unknown>)
  con.closeSync()
  return out
}

describe('aggregate', () => {
  it('equals an independent computation (DuckDB) at concurrency 1 and 2, and the two runs write the same bytes', async () => {
    const dir1 = ordersDir()
    const dir2 = ordersDir()
    const one = run(dir1, aggregateJob(1))
    const two = run(dir2, aggregateJob(2))
    expect(one.stderr).toBe('')
    expect(one.r.status).toBe('partial')
    // Every record accounted for: the cancelled ones filtered, the bad amount failed, the rest in the summary.
    for (const { r } of [one, two]) expect(r.counts.in).toBe(r.counts.out + r.counts.filtered + r.counts.deduped + r.counts.failed)
    expect(one.r.counts.in).toBe(5001)
    expect(one.r.counts.failed).toBe(1)
    expect(two.r.counts).toEqual(one.r.counts)
    expect(treeHashes(join(dir2, 'out'))).toEqual(treeHashes(join(dir1, 'out')))

    const [bad] = failures(one.home, one.r.runId)
    expect(bad).toMatchObject({ file: 'a.csv', line: badLine(dir1), code: 'AGGREGATE_ERROR' })
    expect(bad?.message).toContain('sum(amount) needs a number; "12x" is not one')

    const rows = readJsonl(join(dir1, 'out', 'by-country.jsonl'))
    const reference = await duckdbReference(dir1)
    expect(rows.length).toBe(reference.size)
    expect(rows.reduce((s, r) => s + (r.orders as number), 0)).toBe(one.r.counts.out)
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['country', 'status', 'orders', 'revenue', 'average', 'smallest', 'largest', 'customers'])
      const ref = reference.get(`${row.country}|${row.status}`) as Record<string, number>
      expect(ref, `${row.country}|${row.status}`).toBeDefined()
      expect(row.orders).toBe(ref.orders)
      expect(row.revenue as number).toBeCloseTo(ref.revenue as number, 6)
      expect(row.average as number).toBeCloseTo(ref.average as number, 9)
      expect(Number(row.smallest)).toBe(ref.smallest)
      expect(Number(row.largest)).toBe(ref.largest)
      expect(row.customers).toBe(ref.customers)
    }
    // Groups in order of first appearance in the input.
    const firstSeen: string[] = []
    for (const r of orderRows(3000, 11)) {
      const k = `${r.country}|${r.status}`
      if (r.status !== 'cancelled' && !firstSeen.includes(k)) firstSeen.push(k)
    }
    expect(rows.map((r) => `${r.country}|${r.status}`)).toEqual(firstSeen)
  })

  it('writes one summary per input file with the per-input layout, as CSV with its header', () => {
    const dir = ordersDir()
    const job = { ...aggregateJob(2), output: { folder: 'out', format: 'csv' } }
    const { r } = run(dir, job)
    expect(r.outputs.map((o) => relative(join(dir, 'out'), o.path)).sort()).toEqual(['a.csv', 'b.csv'])
    const lines = readFileSync(join(dir, 'out', 'b.csv'), 'utf8').trim().split('\n')
    expect(lines[0]).toBe('country,status,orders,revenue,average,smallest,largest,customers')
    const orders = lines.slice(1).reduce((s, l) => s + Number(l.split(',')[2]), 0)
    expect(orders).toBe(orderRows(2000, 12).filter((o) => o.status !== 'cancelled').length)
  })

  it('stops the run with a plain message when the groups pass maxGroups, and writes nothing', () => {
    const dir = ordersDir()
    const job = { ...aggregateJob(2, { maxGroups: 50 }), steps: [{ aggregate: { by: ['customer'], values: { n: 'count' }, maxGroups: 50 } }] }
    const { r, code } = run(dir, job)
    expect(code).not.toBe(0)
    expect(r.status).toBe('failed')
    expect(r.message).toMatch(/more than 50 groups \("customer"\).*raise aggregate\.maxGroups/)
    expect(existsSync(join(dir, 'out', 'by-country.jsonl'))).toBe(false)
  })

  it('resumes after kill -9 to the same summary, byte for byte', () => {
    const ref = ordersDir()
    const reference = run(ref, aggregateJob(2))
    const expected = treeHashes(join(ref, 'out'))
    for (const point of ['after-partition-commit:3', 'after-output-staged:1']) killAndResume(aggregateJob(2), point, reference.r.counts, expected)
  })
})

const routeJob = (steps: unknown[], output: Record<string, unknown> = {}) => ({
  name: 'routed',
  kind: 'records',
  input: { folder: 'in', format: 'csv' },
  steps,
  output: { folder: 'out', format: 'jsonl', layout: 'merged', ...output },
  policy: { concurrency: 2, chunkSize: 16384 }
})

describe('route', () => {
  it('sends each record to exactly one output named by the expression, with per-output counts', () => {
    const dir = ordersDir()
    const { r } = run(dir, routeJob([{ derive: { region: "if(country == 'de', 'DE', country)" } }, { route: { by: 'region' } }]))
    expect(r.counts.failed).toBe(0)
    const out = join(dir, 'out')
    // "de" routed as "DE", so "DE" (first seen) keeps its name.
    const folders = readdirSync(out).sort()
    expect(folders).toEqual(['DE', 'Fr', 'GB', 'nl', 'us'])
    let total = 0
    for (const o of r.outputs) {
      const records = readJsonl(o.path)
      expect(records.length).toBe(o.records)
      const folder = relative(out, o.path).split('/')[0]
      for (const rec of records) expect(rec.region).toBe(folder)
      total += o.records
    }
    expect(total).toBe(r.counts.out)
    expect(r.counts.out).toBe(r.counts.in)
  })

  it('keeps names that differ only in case apart, and blank values go to "(blank)"', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    writeFileSync(join(dir, 'in', 'x.csv'), 'id,tag\n1,a\n2,A\n3,\n4,a/b\n5,a\n')
    const { r } = run(dir, routeJob([{ route: { by: 'tag' } }]))
    const got = Object.fromEntries(r.outputs.map((o) => [relative(join(dir, 'out'), o.path), o.records]))
    expect(got).toEqual({ 'a/routed.jsonl': 2, 'A (2)/routed.jsonl': 1, '(blank)/routed.jsonl': 1, 'a_b/routed.jsonl': 1 })
  })

  it('with conditions: the first that holds wins, the rest go to "otherwise", and every named output exists', () => {
    const dir = ordersDir()
    const job = routeJob([{ route: { when: { large: 'amount > 900', refunds: "status == 'refunded'" }, otherwise: 'normal' } }], { layout: 'per-input', format: 'csv' })
    const { r } = run(dir, job)
    expect(r.counts.failed).toBe(0)
    const byName = Object.fromEntries(r.outputs.map((o) => [relative(join(dir, 'out'), o.path), o.records]))
    expect(Object.keys(byName).sort()).toEqual(['large/a.csv', 'large/b.csv', 'normal/a.csv', 'normal/b.csv', 'refunds/a.csv', 'refunds/b.csv'])
    expect(byName['refunds/a.csv']).toBe(0)
    expect(readFileSync(join(dir, 'out', 'refunds', 'a.csv'), 'utf8')).toBe('id,customer,country,amount,quantity,status,note\n')
    const rows = orderRows(3000, 11)
    expect(byName['large/a.csv']).toBe(rows.filter((o) => Number(o.amount) > 900).length)
    // "12x" is not a number: compared as text, it is not above 900.
    expect(byName['normal/a.csv']).toBe(rows.filter((o) => Number(o.amount) <= 900).length + 1)
  })

  it('removes duplicates within each output', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    writeFileSync(join(dir, 'in', 'x.csv'), 'id,team\n1,red\n1,blue\n2,red\n1,red\n2,blue\n')
    const { r } = run(dir, routeJob([{ route: { by: 'team' } }, { dedupe: ['id'] }]))
    expect(r.counts).toMatchObject({ in: 5, out: 4, deduped: 1 })
    expect(readJsonl(join(dir, 'out', 'red', 'routed.jsonl')).map((x) => x.id)).toEqual(['1', '2'])
    expect(readJsonl(join(dir, 'out', 'blue', 'routed.jsonl')).map((x) => x.id)).toEqual(['1', '2'])
  })
})

describe('dedupe past the keys held in memory', () => {
  it('gives the same outputs when the keys move to disk, and after a kill during assembly', () => {
    const job = { ...routeJob([{ route: { by: 'country' } }, { dedupe: ['id'] }], { layout: 'per-input' }), name: 'many-keys' }
    const inMemory = ordersDir()
    const reference = run(inMemory, job)
    expect(reference.r.counts.deduped).toBeGreaterThan(500)
    const expected = treeHashes(join(inMemory, 'out'))
    // A bound of 100 keys: the run's 4,000 keys go to the scratch file early in the assembly.
    const onDisk = ordersDir()
    const spilled = run(onDisk, job, tempDir(), { BATCHERY_DEDUPE_KEYS_IN_MEMORY: '100' })
    expect(spilled.r.counts).toEqual(reference.r.counts)
    expect(treeHashes(join(onDisk, 'out'))).toEqual(expected)
    const log = readFileSync(join(spilled.home, 'logs', `${spilled.r.runId}.log`), 'utf8')
    expect(log).toContain('dedupe keys held on disk')
    const dir = ordersDir()
    const c = crashThenResume(dir, job, 'after-output-staged:3', join(dir, 'out'), { BATCHERY_DEDUPE_KEYS_IN_MEMORY: '100' })
    expect(c.result.counts).toEqual(reference.r.counts)
    expect(treeHashes(join(dir, 'out'))).toEqual(expected)
  })
})

describe('CSV quoting', () => {
  it('"all" quotes every value and header of every part; the job check refuses it for JSON output', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    writeFileSync(join(dir, 'in', 'x.csv'), 'id,name,note\n1,Ann,\n2,"Bob, Jr",says "hi"\n')
    const { r } = run(dir, { ...routeJob([], { format: 'csv', quoting: 'all', split: { records: 1 } }), name: 'q' })
    expect(r.outputs.map((o) => readFileSync(o.path, 'utf8'))).toEqual(['"id","name","note"\n"1","Ann",""\n', '"id","name","note"\n"2","Bob, Jr","says ""hi"""\n'])
    const refused = cli(['run', writeJob(dir, routeJob([], { quoting: 'all' })), '--home', tempDir()])
    expect(refused.stderr).toContain('output.quoting: applies to csv and tsv output only')
  })
})

describe('split output', () => {
  it('cuts at N records into numbered parts that join to the unsplit output, each with its header', () => {
    const whole = ordersDir()
    const parts = ordersDir()
    const base = { ...routeJob([{ filter: "status != 'cancelled'" }], { format: 'csv' }), name: 'orders' }
    const w = run(whole, base)
    const p = run(parts, { ...base, output: { ...base.output, split: { records: 700 } } })
    expect(p.r.counts).toEqual(w.r.counts)
    const names = readdirSync(join(parts, 'out')).sort()
    const n = Math.ceil(w.r.counts.out / 700)
    expect(names).toEqual(Array.from({ length: n }, (_, i) => `orders-part-${String(i + 1).padStart(4, '0')}.csv`))
    const texts = names.map((f) => readFileSync(join(parts, 'out', f), 'utf8'))
    const header = 'id,customer,country,amount,quantity,status,note\n'
    for (const t of texts) expect(t.startsWith(header)).toBe(true)
    expect(p.r.outputs.map((o) => o.records)).toEqual([...Array(n - 1).fill(700), w.r.counts.out - 700 * (n - 1)])
    // Quoted line breaks stay inside their record: the parts, headers removed, are the whole output.
    expect(header + texts.map((t) => t.slice(header.length)).join('')).toBe(readFileSync(join(whole, 'out', 'orders.csv'), 'utf8'))
  })

  it('cuts at N bytes: each part of a JSON array is valid JSON and no larger than the limit', () => {
    const dir = ordersDir()
    const { r } = run(dir, { ...routeJob([], { format: 'json', split: { bytes: '64KB' } }), name: 'orders' })
    let total = 0
    for (const o of r.outputs) {
      const text = readFileSync(o.path)
      expect(text.length).toBeLessThanOrEqual(64_000)
      const arr = JSON.parse(text.toString('utf8')) as unknown[]
      expect(arr.length).toBe(o.records)
      total += arr.length
    }
    expect(r.outputs.length).toBeGreaterThan(5)
    expect(total).toBe(r.counts.out)
  })

  it('routed and split outputs resume after kill -9 to the same bytes, with no partial file left', () => {
    const job = routeJob([{ route: { by: 'country' } }, { dedupe: ['id'] }], { format: 'json', split: { records: 250 } })
    const ref = ordersDir()
    const reference = run(ref, job)
    const expected = treeHashes(join(ref, 'out'))
    expect(Object.keys(expected).length).toBeGreaterThan(10)
    for (const point of ['after-partition-commit:4', 'after-output-staged:7', 'after-rename:3']) killAndResume(job, point, reference.r.counts, expected)
  })
})

describe('job check', () => {
  it('names unknown columns in aggregate and route steps before anything runs', () => {
    const dir = ordersDir()
    const routed = cli(['run', writeJob(dir, routeJob([{ route: { by: 'upper(contry)', } }])), '--home', tempDir()])
    expect(routed.code).not.toBe(0)
    expect(routed.stderr).toContain('steps[0].route.by: unknown column "contry"; did you mean "country"?')
    const job = routeJob([{ aggregate: { by: ['stauts'], values: { revenue: 'sum(amout)' } } }])
    const res = cli(['run', writeJob(dir, job), '--home', tempDir()])
    expect(res.code).not.toBe(0)
    expect(res.stderr).toContain('steps[0].aggregate.by[0]: unknown column "stauts"; did you mean "status"?')
    expect(res.stderr).toContain('steps[0].aggregate.values.revenue: unknown column "amout"; did you mean "amount"?')
    const both = cli(['run', writeJob(dir, routeJob([{ route: { by: 'country' } }, { aggregate: { values: { n: 'count' } } }])), '--home', tempDir()])
    expect(both.stderr).toContain('a job cannot both route and aggregate yet')
    expect(existsSync(join(dir, 'out'))).toBe(false)
  })
})

describe('dry run', () => {
  it('fails a row over the job\'s own record size limit, as a run would', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    writeFileSync(join(dir, 'in', 'x.csv'), `id,note\n1,short\n2,${'x'.repeat(5000)}\n3,short\n`)
    const s = await serve(tempDir())
    try {
      const job = { name: 'small-records', kind: 'records', input: { folder: join(dir, 'in'), format: 'csv' }, output: { folder: join(dir, 'out'), format: 'jsonl' }, policy: { maxRecordSize: '2KB' } }
      const d = await s.value('runs.dryRun', { job, limit: 10 })
      expect(d.counts).toMatchObject({ in: 3, out: 2, failed: 1 })
      expect(d.failures[0]).toMatchObject({ line: 3, code: 'RECORD_TOO_LARGE' })
    } finally {
      await s.stop()
    }
  })

  it('shows the summary of an aggregate and the output of each routed record', async () => {
    const dir = ordersDir()
    const s = await serve(tempDir())
    try {
      const job = (j: Record<string, unknown>) => ({ ...j, input: { folder: join(dir, 'in'), format: 'csv' }, output: { ...(j.output as object), folder: join(dir, 'out') } })
      const a = await s.value('runs.dryRun', { job: job(aggregateJob(2)), limit: 500 })
      expect(a.counts.in).toBe(500)
      expect(a.output.length).toBeGreaterThan(5)
      expect(a.output.reduce((n, r) => n + (r.orders as number), 0)).toBe(a.counts.out)
      expect(Object.keys(a.output[0] as object)).toEqual(['country', 'status', ...Object.keys(VALUES)])
      const r = await s.value('runs.dryRun', { job: job(routeJob([{ route: { by: 'upper(country)' } }])), limit: 50 })
      expect(r.routes?.length).toBe(r.output.length)
      r.output.forEach((rec, i) => expect(r.routes?.[i]).toBe(String(rec.country).toUpperCase()))
      expect(existsSync(join(dir, 'out'))).toBe(false)
    } finally {
      await s.stop()
    }
  })
})
