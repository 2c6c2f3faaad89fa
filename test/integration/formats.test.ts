// New formats end to end through the CLI: gzip-compressed inputs, JSON arrays in and out, Excel
// workbooks in and out; each keeping the promises (every record accounted for, failed records
// with file and line or sheet and row, byte-identical outputs after a kill -9 and a resume).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readJsonl, tempDir, treeHashes } from '../helpers/cli'
import { brokenOrders, csvJob, exampleSteps, orderRows, ordersCsv } from '../helpers/orders'
import { dirWith, expectResumedLikeReference, failures, run, type Failure } from '../helpers/runs'
import { serve, type Served } from '../helpers/server'
import { readWorkbookRows, writeOrdersWorkbook } from '../helpers/xlsx'

describe('gzip-compressed input', () => {
  it('gives the same outputs, byte for byte, and the same failed records (lines of the decompressed text) as the plain file', () => {
    const a = brokenOrders(3000, 1)
    const b = ordersCsv(orderRows(2000, 2), '\r\n')
    const plain = dirWith({ 'a.csv': a, 'b.csv': b })
    const zipped = dirWith({ 'a.csv.gz': gzipSync(a), 'b.csv.gz': gzipSync(b) })
    // The plain files in many partitions; each compressed one is a single partition.
    const p = run(plain, csvJob(['*.csv'], {}, { chunkSize: 16384 }))
    const z = run(zipped, csvJob(['*.csv.gz']))
    expect(z.stderr).toBe('')
    expect(z.r.status).toBe('partial')
    expect(z.r.counts).toEqual(p.r.counts)
    expect(z.r.counts.in).toBe(5003)
    expect(readdirSync(join(zipped, 'out')).sort()).toEqual(['a.jsonl', 'b.jsonl'])
    expect(treeHashes(join(zipped, 'out'))).toEqual(treeHashes(join(plain, 'out')))
    const strip = (fs: Failure[]) => fs.map((f) => ({ ...f, file: f.file.replace(/\.gz$/, '') }))
    const zf = failures(z.home, z.r.runId)
    expect(strip(zf)).toEqual(failures(p.home, p.r.runId))
    expect(zf.filter((f) => f.file === 'a.csv.gz').map((f) => f.code)).toEqual(['FIELD_COUNT', 'PARSE_ERROR', 'WRONG_TYPE'])
  })

  it('a quote never closed in a record over the size limit: the same failures and outputs as the plain file', () => {
    // The parser reports the broken record and reads again from the line after it: for a
    // compressed file, by decompressing again from the start.
    const rows = ordersCsv(orderRows(400, 9)).split('\n')
    rows.splice(200, 0, '"never closed,' + 'x'.repeat(3000))
    const text = rows.join('\n')
    const plain = dirWith({ 'a.csv': text })
    const zipped = dirWith({ 'a.csv.gz': gzipSync(text) })
    const policy = { maxRecordSize: '2KiB' }
    const p = run(plain, csvJob(['*.csv'], {}, policy))
    const z = run(zipped, csvJob(['*.gz'], {}, policy))
    expect(z.r.counts).toEqual(p.r.counts)
    expect(treeHashes(join(zipped, 'out'))).toEqual(treeHashes(join(plain, 'out')))
    const zf = failures(z.home, z.r.runId)
    expect(zf.map((f) => ({ ...f, file: 'a.csv' }))).toEqual(failures(p.home, p.r.runId))
    expect(zf.map((f) => f.code)).toContain('RECORD_TOO_LARGE')
  })

  it('reads gzip-compressed JSON lines and JSON arrays', () => {
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: i, v: `x${i}` })).join('\n') + '\n'
    const dir = dirWith({ 'l.jsonl.gz': gzipSync(lines), 'plain.jsonl': lines })
    const r = run(dir, { name: 'l', kind: 'records', input: { folder: 'in', include: ['*'], format: 'jsonl' }, output: { folder: 'out', format: 'jsonl' } }).r
    expect(r.status).toBe('succeeded')
    expect(readFileSync(join(dir, 'out', 'l.jsonl'), 'utf8')).toBe(lines)
    expect(readFileSync(join(dir, 'out', 'plain.jsonl'), 'utf8')).toBe(lines)
    const arr = dirWith({ 'a.json.gz': gzipSync('[\n' + lines.trim().split('\n').join(',\n') + '\n]\n') })
    const ra = run(arr, { name: 'a', kind: 'records', input: { folder: 'in', format: 'json' }, output: { folder: 'out', format: 'jsonl' } }).r
    expect(ra.status).toBe('succeeded')
    expect(readFileSync(join(arr, 'out', 'a.jsonl'), 'utf8')).toBe(lines)
  })

  it('a damaged or cut-short file keeps what came before the damage and fails the rest as one record, with its line', () => {
    const text = ordersCsv(orderRows(20000, 5))
    const gz = gzipSync(text)
    const dir = dirWith({ 'cut.csv.gz': gz.subarray(0, Math.floor(gz.length / 2)), 'notgz.csv.gz': 'id,x\n1,2\n' })
    const { r, home } = run(dir, { ...csvJob(['*.gz']), input: { folder: 'in', include: ['*.gz'], format: 'csv', compression: 'gzip' } })
    expect(r.status).toBe('partial')
    const fs = failures(home, r.runId)
    const cut = fs.find((f) => f.file === 'cut.csv.gz' && f.code === 'FILE_UNREADABLE')
    expect(cut?.message).toMatch(/cut\.csv\.gz: its compressed data ends early \(the file is cut short\); what follows line \d+ could not be read/)
    expect(fs.find((f) => f.file === 'notgz.csv.gz')?.message).toMatch(/notgz\.csv\.gz is not gzip-compressed; set input.compression to "none" to read it as it is/)
    expect(r.counts.in).toBe(r.counts.out + r.counts.filtered + r.counts.deduped + r.counts.failed)
    expect(r.counts.in).toBeGreaterThan(5000)
  })
})

describe('JSON array input', () => {
  const records = Array.from({ length: 400 }, (_, i) => ({ id: i + 1, amount: (i * 7) % 100, note: `n${i}, "q" ]}` }))
  const pretty = (list: unknown[]) => JSON.stringify(list, null, 2) + '\n'

  it('a malformed element fails with the line it starts on; the rest are read; a split array gives the same bytes as a whole one', () => {
    const text = pretty(records).replace('"id": 7,', '"id": 7,,').replace(/("id": 300,\n\s*"amount": )\d+/, '$1')
    const dir = dirWith({ 'a.json': text })
    const job = (policy: Record<string, unknown>) => ({
      name: 'arr',
      kind: 'records',
      input: { folder: 'in', format: 'json' },
      steps: [{ validate: { amount: { type: 'number', max: 95 } } }],
      output: { folder: 'out', format: 'jsonl' },
      policy
    })
    const whole = run(dir, job({ concurrency: 1 }))
    const wholeOut = readFileSync(join(dir, 'out', 'a.jsonl'))
    const split = run(dir, job({ concurrency: 2, chunkSize: 2048 }))
    expect(readFileSync(join(dir, 'out', 'a.jsonl'))).toEqual(wholeOut)
    expect(split.r.counts).toEqual(whole.r.counts)
    expect(failures(split.home, split.r.runId)).toEqual(failures(whole.home, whole.r.runId))
    expect(whole.r.counts.in).toBe(400)
    const fs = failures(whole.home, whole.r.runId)
    const lineOf = (id: number) => text.split('\n').findIndex((l) => l.includes(`"id": ${id},`)) // the element starts the line before
    const parse = fs.filter((f) => f.code === 'PARSE_ERROR')
    expect(parse.map((f) => f.line)).toEqual([lineOf(7), lineOf(300)])
    expect(parse[0]?.message).toMatch(/not valid JSON/)
    expect(parse[0]?.raw).toContain('"id": 7,,')
    expect(fs.filter((f) => f.code === 'OUT_OF_RANGE').length).toBeGreaterThan(0)
    expect(readJsonl(join(dir, 'out', 'a.jsonl'))[0]).toEqual(records[0])
  })

  it('refuses a file that is not an array with a plain message, and reads the other files', () => {
    const dir = dirWith({ 'good.json': pretty(records.slice(0, 3)), 'lines.json': '{"id": 1}\n{"id": 2}\n', 'empty.json': '' })
    const { r, home } = run(dir, { name: 'arr', kind: 'records', input: { folder: 'in', format: 'json' }, output: { folder: 'out', format: 'jsonl' } })
    expect(r.counts).toEqual({ in: 4, out: 3, filtered: 0, deduped: 0, failed: 1 })
    const f = failures(home, r.runId)
    expect(f).toHaveLength(1)
    expect(f[0]).toMatchObject({ file: 'lines.json', code: 'FILE_UNREADABLE' })
    expect(f[0]?.message).toMatch(/lines\.json: the file does not hold a JSON array: it starts with "\{".*use the format "jsonl"; the file was not processed/)
  })
})

describe('JSON array output', () => {
  it('is valid JSON however many partitions it was assembled from, with dedupe, and [] when empty', () => {
    const dir = dirWith({ 'a.csv': brokenOrders(3000, 3), 'b.csv': ordersCsv(orderRows(2000, 4)) })
    const j = run(dir, csvJob(['*.csv'], { format: 'json', layout: 'merged' }, { chunkSize: 8192 })).r
    expect(j.status).toBe('partial')
    const parsed = JSON.parse(readFileSync(join(dir, 'out', 'orders.json'), 'utf8')) as unknown[]
    expect(parsed).toHaveLength(j.counts.out)
    run(dir, csvJob(['*.csv'], { format: 'jsonl', layout: 'merged' }, { chunkSize: 8192 }))
    expect(parsed).toEqual(readJsonl(join(dir, 'out', 'orders.jsonl')))
    // every record filtered out: an empty array
    const none = run(dir, { ...csvJob(['a.csv'], { format: 'json' }), steps: [{ filter: 'id < 0' }] }).r
    expect(none.counts.out).toBe(0)
    expect(readFileSync(join(dir, 'out', 'a.json'), 'utf8')).toBe('[]\n')
    expect(JSON.parse(readFileSync(join(dir, 'out', 'a.json'), 'utf8'))).toEqual([])
  })
})

describe('Excel workbooks', () => {
  it('reads a sheet by name with typed cells; a bad row is reported by sheet and row', async () => {
    const dir = dirWith({})
    await writeOrdersWorkbook(join(dir, 'in', 'orders.xlsx'))
    const { r, home } = run(dir, {
      name: 'xl',
      kind: 'records',
      input: { folder: 'in', format: 'xlsx', sheet: 'Orders' },
      steps: [{ validate: { amount: { type: 'number' }, ordered: { type: 'date' } } }],
      output: { folder: 'out', format: 'jsonl' }
    })
    expect(r.status).toBe('partial')
    // 6 data rows and 2 more after a blank row, which is not a record
    expect(r.counts).toEqual({ in: 8, out: 7, filtered: 0, deduped: 0, failed: 1 })
    const f = failures(home, r.runId)
    expect(f).toEqual([
      {
        file: 'orders.xlsx',
        line: 5,
        code: 'WRONG_TYPE',
        message: 'amount: "n/a" is not a number (sheet "Orders", row 5)',
        raw: '{"id":4,"customer":"Customer 4","amount":"n/a","ordered":"2026-01-04","paid":true,"note":"note 4"}'
      }
    ])
    const out = readJsonl(join(dir, 'out', 'orders.jsonl'))
    expect(out[0]).toEqual({ id: 1, customer: 'Customer 1', amount: 10.5, ordered: '2026-01-01', paid: false, note: 'note 1' })
    // an empty cell is ""
    expect(out[1]).toEqual({ id: 2, customer: 'Customer 2', amount: 20.5, ordered: '2026-01-02', paid: true, note: '' })
    // rich text as plain text, a formula's cached result, a date-time, a merged cell's value in its top-left cell only
    expect(out[5]).toEqual({ id: 100, customer: 'Rich Text', amount: 2, ordered: '2026-02-03T09:30:00', paid: true, note: 'merged note' })
    expect(out[6]).toEqual({ id: 101, customer: 'Merged below', amount: 7, ordered: null, paid: '', note: '' })
  })

  it('reads the first sheet by default or a sheet by position, and names the sheets when one is missing', async () => {
    const dir = dirWith({})
    await writeOrdersWorkbook(join(dir, 'in', 'orders.xlsx'))
    const job = (sheet?: string | number) => ({ name: 'xl', kind: 'records', input: { folder: 'in', format: 'xlsx', ...(sheet !== undefined ? { sheet } : {}) }, output: { folder: 'out', format: 'jsonl' } })
    // The first sheet holds a header row only
    expect(run(dir, job()).r.counts).toMatchObject({ in: 0, out: 0 })
    expect(readJsonl(join(dir, 'out', 'orders.jsonl'))).toEqual([])
    expect(run(dir, job(3)).r.counts.out).toBe(1)
    expect(readJsonl(join(dir, 'out', 'orders.jsonl'))).toEqual([{ id: 1, reason: 'broken' }])
    const missing = run(dir, job('Orderz'))
    expect(failures(missing.home, missing.r.runId)[0]?.message).toBe(
      'orders.xlsx has no sheet named "Orderz"; its sheets are "Notes", "Orders", "Returns"; the file was not processed'
    )
  })

  it('writes a workbook: one sheet named after the job, a header row, numbers as numbers; the same bytes every time', async () => {
    const dir = dirWith({ 'a.csv': brokenOrders(500, 7) })
    const job = csvJob(['*.csv'], { format: 'xlsx' }, { chunkSize: 4096 })
    const first = run(dir, job).r
    expect(first.status).toBe('partial')
    const again = run(dir, job).r
    expect(again.outputs[0]?.sha256).toBe(first.outputs[0]?.sha256)
    const book = await readWorkbookRows(join(dir, 'out', 'a.xlsx'))
    expect(book.sheets).toEqual(['orders'])
    const jsonl = run(dir, csvJob(['*.csv'], { format: 'jsonl' }, { chunkSize: 4096 })).r
    expect(jsonl.counts).toEqual(first.counts)
    const expected = readJsonl(join(dir, 'out', 'a.jsonl'))
    const header = book.rows[0] as string[]
    expect(header).toEqual(['id', 'customer', 'country', 'amount', 'quantity', 'status', 'note', 'total'])
    expect(book.rows.length - 1).toBe(expected.length)
    book.rows.slice(1).forEach((row, i) => {
      const rec = expected[i] as Record<string, unknown>
      const values = header.map((h) => (rec[h] === '' || rec[h] === null ? undefined : rec[h]))
      // exceljs gives sparse rows: an empty cell is a hole
      expect(Array.from({ length: header.length }, (_, k) => row[k])).toEqual(values)
    })
    expect(typeof book.rows[1]?.[0]).toBe('number')
    expect(typeof book.rows[1]?.[3]).toBe('number')
    expect(typeof book.rows[1]?.[1]).toBe('string')
  })

  it('reads back its own output: xlsx in, xlsx out', async () => {
    const dir = dirWith({})
    await writeOrdersWorkbook(join(dir, 'in', 'orders.xlsx'))
    const r = run(dir, { name: 'Orders [Q1] clean and long name over 31', kind: 'records', input: { folder: 'in', format: 'xlsx', sheet: 'Orders' }, output: { folder: 'out', format: 'xlsx' } }).r
    expect(r.counts.out).toBe(8)
    const book = await readWorkbookRows(join(dir, 'out', 'orders.xlsx'))
    expect(book.sheets).toEqual(['Orders _Q1_ clean and long name'])
    expect(book.rows[1]).toEqual([1, 'Customer 1', 10.5, '2026-01-01', false, 'note 1'])
  })
})

/** A job over inputs of a new format, for kill -9 and resume. */
async function crashJobDir(kind: 'gz' | 'json' | 'xlsx'): Promise<{ dir: string; job: unknown }> {
  const dir = dirWith({})
  if (kind === 'gz') {
    writeFileSync(join(dir, 'in', 'a.csv.gz'), gzipSync(brokenOrders(3000, 1)))
    writeFileSync(join(dir, 'in', 'b.csv.gz'), gzipSync(ordersCsv(orderRows(2000, 2))))
    writeFileSync(join(dir, 'in', 'c.csv.gz'), gzipSync(ordersCsv(orderRows(1000, 3))))
    return { dir, job: csvJob(['*.gz'], { format: 'xlsx' }, { maxFailedRecords: 1000 }) }
  }
  if (kind === 'json') {
    const rows = orderRows(4000, 4).map((r) => ({ ...r }))
    const text = JSON.stringify(rows, null, 1).replace('"id": 17,', '"id": 17,,')
    writeFileSync(join(dir, 'in', 'a.json'), text)
    writeFileSync(join(dir, 'in', 'b.json'), JSON.stringify(orderRows(1000, 5)))
    return {
      dir,
      job: { name: 'arr', kind: 'records', input: { folder: 'in', format: 'json' }, steps: exampleSteps(), output: { folder: 'out', format: 'json' }, policy: { concurrency: 2, chunkSize: 16384 } }
    }
  }
  for (const n of [1, 2, 3]) await writeOrdersWorkbook(join(dir, 'in', `w${n}.xlsx`), 500 * n)
  return {
    dir,
    job: {
      name: 'xl',
      kind: 'records',
      input: { folder: 'in', format: 'xlsx', sheet: 'Orders' },
      steps: [{ validate: { amount: { type: 'number' } } }, { dedupe: ['customer'] }],
      output: { folder: 'out', format: 'jsonl', layout: 'merged' },
      policy: { concurrency: 2 }
    }
  }
}

describe('kill -9 during a run over new formats, then resume', () => {
  const cases: ['gz' | 'json' | 'xlsx', string[]][] = [
    ['gz', ['after-partition-commit:1', 'after-output-staged:2', 'before-rename']],
    ['json', ['after-partition-commit:3', 'after-output-staged:1']],
    ['xlsx', ['after-partition-commit:2', 'before-run-commit']]
  ]
  for (const [kind, points] of cases) {
    it(`${kind}: resumes to byte-identical outputs, nothing lost or doubled`, async () => {
      const ref = await crashJobDir(kind)
      const reference = run(ref.dir, ref.job)
      expect(reference.stderr).toBe('')
      const referenceOut = treeHashes(join(ref.dir, 'out'))
      const referenceFailures = failures(reference.home, reference.r.runId)
      expect(reference.r.counts.in).toBe(reference.r.counts.out + reference.r.counts.filtered + reference.r.counts.deduped + reference.r.counts.failed)
      for (const point of points) {
        const { dir, job } = await crashJobDir(kind)
        expectResumedLikeReference(dir, job, point, { counts: reference.r.counts, outputs: referenceOut, failures: referenceFailures })
      }
    })
  }
})

describe('the engine API: preview for the new-job screen, dry run, re-run of failed records', () => {
  let s: Served
  beforeAll(async () => {
    s = await serve(tempDir())
  })
  afterAll(async () => {
    await s.stop()
  })

  it('previews a workbook: its sheets, the header and first rows of a sheet, a type per column', async () => {
    const dir = dirWith({})
    // 20 rows: one "n/a" amount among them leaves the column a number column
    await writeOrdersWorkbook(join(dir, 'in', 'orders.xlsx'), 20)
    const p = await s.value('inputs.preview', { folder: join(dir, 'in'), sheet: 'Orders' })
    expect(p).toMatchObject({ format: 'xlsx', header: true, sheets: ['Notes', 'Orders', 'Returns'], sheet: 'Orders' })
    expect(p.columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'integer'],
      ['customer', 'string'],
      ['amount', 'number'],
      ['ordered', 'date'],
      ['paid', 'boolean'],
      ['note', 'string']
    ])
    expect(p.rows[0]).toEqual(['1', 'Customer 1', '10.5', '2026-01-01', 'false', 'note 1'])
    // the first sheet by default
    expect((await s.value('inputs.preview', { folder: join(dir, 'in') })).sheet).toBe('Notes')
    const missing = await s.call('inputs.preview', { folder: join(dir, 'in'), sheet: 'Nope' })
    expect(missing.ok).toBe(false)
  })

  it('previews a compressed CSV by its decompressed content, and a JSON array', async () => {
    const gz = dirWith({ 'a.csv.gz': gzipSync('id;name;amount\n1;Ann;2.5\n2;Bob;3\n') })
    const p = await s.value('inputs.preview', { folder: join(gz, 'in') })
    expect(p).toMatchObject({ format: 'csv', delimiter: ';', header: true, compression: 'gzip', rows: [['1', 'Ann', '2.5'], ['2', 'Bob', '3']] })
    const dry = await s.value('runs.dryRun', {
      job: { name: 'gz-dry', kind: 'records', input: { folder: join(gz, 'in'), format: 'csv', delimiter: ';' }, output: { folder: join(gz, 'out'), format: 'jsonl' } }
    })
    expect(dry.output).toEqual([
      { id: '1', name: 'Ann', amount: '2.5' },
      { id: '2', name: 'Bob', amount: '3' }
    ])
    const arr = dirWith({ 'a.json': JSON.stringify([{ id: 1, ok: true }, { id: 2, ok: false, extra: 'x' }], null, 2) })
    const j = await s.value('inputs.preview', { folder: join(arr, 'in') })
    expect(j).toMatchObject({ format: 'json', rows: [['1', 'true', ''], ['2', 'false', 'x']] })
    expect(j.columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'integer'],
      ['ok', 'boolean'],
      ['extra', 'string']
    ])
    // a .json file of one object per line is JSON lines
    const lines = dirWith({ 'a.json': '{"id": 1}\n{"id": 2}\n' })
    expect((await s.value('inputs.preview', { folder: join(lines, 'in') })).format).toBe('jsonl')
  })

  it('dry-runs a workbook, and re-runs its failed records once the job is fixed', async () => {
    const dir = dirWith({})
    await writeOrdersWorkbook(join(dir, 'in', 'orders.xlsx'))
    const job = {
      name: 'xl-api',
      kind: 'records',
      input: { folder: join(dir, 'in'), format: 'xlsx', sheet: 'Orders' },
      steps: [{ validate: { amount: { type: 'number' } } }],
      output: { folder: join(dir, 'out'), format: 'csv' }
    }
    const dry = await s.value('runs.dryRun', { job, limit: 3 })
    expect(dry.counts).toMatchObject({ in: 3, out: 3 })
    expect(dry.output[0]).toEqual({ id: 1, customer: 'Customer 1', amount: 10.5, ordered: '2026-01-01', paid: false, note: 'note 1' })
    await s.value('jobs.save', { job })
    const first = s.waitFor('run.stateChanged', (p) => p.job === 'xl-api' && p.to === 'partial')
    const { runId } = await s.value('runs.start', { job: 'xl-api' })
    await first
    // the fix: "n/a" is an empty amount
    await s.value('jobs.save', { job: { ...job, steps: [{ derive: { amount: "amount == 'n/a' ? '' : amount" } }, { validate: { amount: { type: 'number' } } }] } })
    const done = s.waitFor('run.stateChanged', (p) => p.job === 'xl-api' && p.runId !== runId && (p.to === 'succeeded' || p.to === 'partial'))
    const re = await s.value('runs.rerunFailed', { runId })
    expect((await done).to).toBe('succeeded')
    expect((await s.value('runs.get', { runId: re.runId })).counts).toMatchObject({ in: 1, out: 1, failed: 0 })
    expect(readFileSync(join(dir, 'out', `rerun-${runId}`, 'orders.csv'), 'utf8')).toBe('id,customer,amount,ordered,paid,note\n4,Customer 4,,2026-01-04,true,note 4\n')
  })
})
