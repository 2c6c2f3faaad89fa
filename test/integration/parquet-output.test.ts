// Parquet output end to end through the CLI, read back with DuckDB: the columns' types decided
// from the data, nulls kept, rows in input order; a merged output over several files and row
// groups; an empty output that is still a valid file; the same bytes every time, and after a
// kill -9 and a resume.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, lastJson, readJsonl, sha256, tempDir, treeHashes, writeJob, type RunJson } from '../helpers/cli'
import { exampleSteps, orderRows, ordersCsv } from '../helpers/orders'

let duck: DuckDBConnection

beforeAll(async () => {
  duck = await (await DuckDBInstance.create(':memory:')).connect()
})

afterAll(() => {
  duck?.closeSync()
})

interface Read {
  columns: { name: string; type: string }[]
  rows: Record<string, unknown>[]
}

/** A Parquet file as DuckDB reads it: column names and types, and the rows (BIGINT as numbers). */
async function readParquet(file: string): Promise<Read> {
  const r = await duck.runAndReadAll(`SELECT * FROM read_parquet('${file.replaceAll("'", "''")}')`)
  const types = r.columnTypes().map(String)
  const columns = r.columnNames().map((name, i) => ({ name, type: types[i] as string }))
  const rows = r.getRowObjectsJS().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])))
  return { columns, rows }
}

async function rowGroups(file: string): Promise<number> {
  const r = await duck.runAndReadAll(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${file.replaceAll("'", "''")}')`)
  return Number(r.getRowObjectsJS()[0]?.n ?? 0)
}

function run(dir: string, job: unknown, home = tempDir(), env: Record<string, string> = {}): { r: RunJson; home: string; stderr: string } {
  const res = cli(['run', writeJob(dir, job), '--home', home, '--json'], env)
  if (!res.stdout.trim()) throw new Error(`no result (exit ${res.code}): ${res.stderr}`)
  return { r: lastJson(res.stdout), home, stderr: res.stderr }
}

function dirWith(files: Record<string, string>): string {
  const dir = tempDir()
  mkdirSync(join(dir, 'in'))
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, 'in', name), content)
  return dir
}

/** Rows with every kind of column: whole numbers, fractions, true/false, text, empty cells, a mixed column. */
function typedCsv(n: number, offset = 0): string {
  const lines = ['id,name,price,qty,active,note,code']
  for (let k = 0; k < n; k++) {
    const i = offset + k
    const name = i % 11 === 0 ? `"Smith, ""J"" ${i}"` : `Customer ${i} é`
    const price = i % 9 === 0 ? '' : ((i * 37) % 1000) / 4 + ''
    const qty = i % 7 === 0 ? '' : String(i % 50)
    const active = i % 13 === 0 ? '' : i % 2 === 0 ? 'true' : 'false'
    const note = i % 5 === 0 ? '' : i % 17 === 0 ? '"two\nlines"' : `note ${i}`
    // Mostly numbers, some text: the column cannot be numeric.
    const code = i % 10 === 3 ? `C${i}` : String(i * 3)
    lines.push([i, name, price, qty, active, note, code].join(','))
  }
  return lines.join('\n') + '\n'
}

const typedJob = (output: Record<string, unknown>) => ({
  name: 'typed',
  kind: 'records',
  input: { folder: 'in', format: 'csv' },
  steps: [
    { validate: { id: { type: 'integer', required: true }, price: { type: 'number' }, qty: { type: 'integer' }, active: { type: 'boolean' } } },
    { derive: { total: 'price * qty', big: 'price > 200' } }
  ],
  output: { folder: 'out', ...output },
  policy: { concurrency: 2, chunkSize: 8192 }
})

/** A JSON-lines record as its Parquet row reads back: an absent column is null. */
function asRow(rec: Record<string, unknown>, columns: string[]): Record<string, unknown> {
  return Object.fromEntries(columns.map((c) => [c, rec[c] ?? null]))
}

describe('Parquet output', () => {
  it('writes typed, nullable columns that DuckDB reads back as the records, the same bytes every time', async () => {
    const dir = dirWith({ 'a.csv': typedCsv(3000), 'b.csv': typedCsv(500, 3000) })
    const first = run(dir, typedJob({ format: 'parquet' }))
    expect(first.stderr).toBe('')
    expect(first.r.status).toBe('succeeded')
    expect(first.r.outputs.map((o) => o.path.split('/').pop()).sort()).toEqual(['a.parquet', 'b.parquet'])
    const again = run(dir, typedJob({ format: 'parquet' })).r
    expect(again.outputs.map((o) => o.sha256)).toEqual(first.r.outputs.map((o) => o.sha256))
    for (const o of first.r.outputs) expect(sha256(o.path)).toBe(o.sha256)

    run(dir, typedJob({ format: 'jsonl' }))
    const a = await readParquet(join(dir, 'out', 'a.parquet'))
    expect(a.columns).toEqual([
      { name: 'id', type: 'BIGINT' },
      { name: 'name', type: 'VARCHAR' },
      { name: 'price', type: 'DOUBLE' },
      { name: 'qty', type: 'BIGINT' },
      { name: 'active', type: 'BOOLEAN' },
      { name: 'note', type: 'VARCHAR' },
      { name: 'code', type: 'VARCHAR' },
      { name: 'total', type: 'DOUBLE' },
      { name: 'big', type: 'BOOLEAN' }
    ])
    const names = a.columns.map((c) => c.name)
    const expected = readJsonl(join(dir, 'out', 'a.jsonl')).map((rec) => asRow(rec, names))
    expect(a.rows).toHaveLength(3000)
    expect(a.rows).toEqual(expected)
    // the cases worth seeing by eye
    expect(a.rows[0]).toMatchObject({ id: 0, name: 'Smith, "J" 0', price: null, qty: null, active: null, note: '', total: null })
    expect(a.rows[17]).toMatchObject({ id: 17, note: 'two\nlines', active: false })
    expect(a.rows.filter((r) => r.active === null)).toHaveLength(Math.ceil(3000 / 13))
    const b = await readParquet(join(dir, 'out', 'b.parquet'))
    expect(b.rows).toEqual(readJsonl(join(dir, 'out', 'b.jsonl')).map((rec) => asRow(rec, names)))
  })

  it('merges two files into one output, in input order, over several row groups', async () => {
    // 105,000 records: more than one row group of 100,000.
    const dir = dirWith({ 'a.csv': typedCsv(60_000), 'b.csv': typedCsv(45_000, 60_000) })
    const job = (format: string) => ({ ...typedJob({ format, layout: 'merged', name: 'all' }), policy: { concurrency: 2 } })
    const r = run(dir, job('parquet')).r
    expect(r.counts.out).toBe(105_000)
    const file = join(dir, 'out', 'all.parquet')
    expect(await rowGroups(file)).toBe(2)
    run(dir, job('jsonl'))
    const pq = await readParquet(file)
    const names = pq.columns.map((c) => c.name)
    const expected = readJsonl(join(dir, 'out', 'all.jsonl')).map((rec) => asRow(rec, names))
    expect(pq.rows.length).toBe(expected.length)
    expect(pq.rows).toEqual(expected)
  })

  it('an output with no record is a valid Parquet file with the columns and no rows', async () => {
    const dir = dirWith({ 'a.csv': typedCsv(200) })
    const r = run(dir, { ...typedJob({ format: 'parquet' }), steps: [{ filter: 'id < 0' }] }).r
    expect(r.status).toBe('succeeded')
    expect(r.counts.out).toBe(0)
    const pq = await readParquet(join(dir, 'out', 'a.parquet'))
    expect(pq.rows).toEqual([])
    expect(pq.columns.map((c) => c.name)).toEqual(['id', 'name', 'price', 'qty', 'active', 'note', 'code'])
  })

  it('keeps text an Excel cell could not hold: over 32,767 characters, control characters', async () => {
    const long = 'x'.repeat(40_000)
    const dir = dirWith({ 'a.csv': typedCsv(20) + `9999,"${long}",1,1,true,bell \u0007 here,1\n` })
    const r = run(dir, typedJob({ format: 'parquet' })).r
    expect(r.status).toBe('succeeded')
    const pq = await readParquet(join(dir, 'out', 'a.parquet'))
    expect(pq.rows).toHaveLength(21)
    expect(pq.rows[20]).toMatchObject({ id: 9999, name: long, note: 'bell \u0007 here' })
  })

  it('refuses a delimiter and a split by bytes, in plain words', () => {
    const dir = dirWith({ 'a.csv': typedCsv(10) })
    const res = cli(['check', writeJob(dir, typedJob({ format: 'parquet', delimiter: ';', split: { bytes: '10MB' } }))])
    expect(res.code).not.toBe(0)
    const text = res.stdout + res.stderr
    expect(text).toContain('output.delimiter')
    expect(text).toContain('applies to csv and tsv output only')
    expect(text).toContain('split a Parquet file by "records"')
  })

  it('JSON lines to Parquet needs a select step naming the columns', () => {
    const dir = dirWith({ 'a.jsonl': '{"a":1}\n' })
    const res = cli(['check', writeJob(dir, { name: 'j', kind: 'records', input: { folder: 'in', format: 'jsonl' }, output: { folder: 'out', format: 'parquet' } })])
    expect(res.stdout + res.stderr).toContain('Parquet output from JSON lines needs the list of columns')
  })
})

describe('kill -9 during a Parquet run, then resume', () => {
  const crashJob = () => ({
    name: 'orders',
    kind: 'records',
    input: { folder: 'in', include: ['*.csv'], format: 'csv' },
    steps: exampleSteps(),
    output: { folder: 'out', format: 'parquet' },
    policy: { concurrency: 2, chunkSize: 16384, maxFailedRecords: 1000 }
  })
  const crashDir = () => dirWith({ 'a.csv': ordersCsv(orderRows(3000, 1)) + '77,short row\n', 'b.csv': ordersCsv(orderRows(2000, 2)), 'c.csv': ordersCsv(orderRows(1000, 3)) })

  it('resumes to byte-identical files, nothing lost or doubled', () => {
    const refDir = crashDir()
    const reference = run(refDir, crashJob())
    expect(reference.stderr).toBe('')
    expect(reference.r.status).toBe('partial')
    const referenceOut = treeHashes(join(refDir, 'out'))
    expect(Object.keys(referenceOut).sort()).toEqual(['a.parquet', 'b.parquet', 'c.parquet'])
    for (const point of ['after-output-staged:1', 'after-output-staged:3', 'after-parquet-row-group:2', 'before-rename']) {
      const dir = crashDir()
      const home = tempDir()
      const crashed = cli(['run', writeJob(dir, crashJob()), '--home', home, '--json'], { BATCHERY_CRASH_AT: point })
      expect(crashed.signal, point).toBe('SIGKILL')
      if (existsSync(join(dir, 'out'))) {
        for (const [name, hash] of Object.entries(treeHashes(join(dir, 'out')))) {
          if (name.endsWith('.partial')) continue
          expect(hash, `${name} after a crash at ${point}`).toBe(referenceOut[name])
        }
      }
      const runs = JSON.parse(cli(['runs', '--home', home, '--json']).stdout) as { runId: string }[]
      const runId = runs[0]?.runId as string
      const resumed = cli(['resume', runId, '--home', home, '--json'])
      expect(resumed.stderr, point).toBe('')
      expect(lastJson(resumed.stdout).counts, point).toEqual(reference.r.counts)
      expect(treeHashes(join(dir, 'out')), point).toEqual(referenceOut)
      expect(existsSync(join(home, 'staging', runId))).toBe(false)
    }
  })
})
