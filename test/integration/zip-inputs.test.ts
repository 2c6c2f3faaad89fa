// Zip archives of CSV / JSON-lines / JSON files as inputs, end to end through the CLI and the API:
// entries read in name order as they stream, never unpacked; line numbers of each entry and its
// name in every failure; damaged zips and entries reported without taking anything else down;
// byte-identical outputs after a kill -9 and a resume.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir, treeHashes, type RunJson } from '../helpers/cli'
import { dirWith, expectResumedLikeReference, failures, run, type Failure } from '../helpers/runs'
import { brokenOrders, csvJob, orderRows, ordersCsv } from '../helpers/orders'
import { serve, type Served } from '../helpers/server'
import { makeZip, type ZipEntrySpec } from '../helpers/zip'

/** id,amount files: amount must be a number. */
const amountJob = (include: string[], input: Record<string, unknown> = {}, policy: Record<string, unknown> = {}) => ({
  name: 'amounts',
  kind: 'records',
  input: { folder: 'in', include, format: 'csv', ...input },
  steps: [{ validate: { amount: { type: 'number' } } }],
  output: { folder: 'out', format: 'jsonl' },
  policy
})

const accounted = (r: RunJson): void => {
  expect(r.counts.in).toBe(r.counts.out + r.counts.filtered + r.counts.deduped + r.counts.failed)
}

describe('zip archives of CSV files', () => {
  it('reads the matching entries in name order, skipping folders and hidden files, with the same bytes and failures as the files unzipped', () => {
    const a = brokenOrders(1500, 1)
    const b = ordersCsv(orderRows(1000, 2), '\r\n')
    const c = brokenOrders(500, 3)
    // Archive order is not name order; a folder entry, macOS's resource forks, a hidden file and
    // a file of another kind are skipped.
    const entries: ZipEntrySpec[] = [
      { name: 'sub/c.csv', data: c },
      { name: '__MACOSX/._a.csv', data: 'junk' },
      { name: 'b.csv', data: b, method: 0 },
      { name: 'sub/', data: '' },
      { name: '.hidden.csv', data: 'id\n1\n' },
      { name: 'notes.md', data: '# about these orders' },
      { name: 'a.csv', data: a }
    ]
    const plain = dirWith({ 'a.csv': a, 'b.csv': b, 'sub/c.csv': c })
    const zipped = dirWith({ 'orders.zip': makeZip(entries) })
    const p = run(plain, csvJob(['**/*.csv'], { layout: 'merged' }))
    const z = run(zipped, csvJob(['*.zip'], { layout: 'merged' }))
    expect(z.stderr).toBe('')
    expect(z.r.status).toBe('partial')
    expect(z.r.counts).toEqual(p.r.counts)
    expect(z.r.counts.in).toBe(3006)
    accounted(z.r)
    expect(treeHashes(join(zipped, 'out'))).toEqual(treeHashes(join(plain, 'out')))
    // The same failures at the same lines of each entry, each message naming the entry.
    const sorted = (fs: Failure[]) => fs.sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1))
    const expected = failures(p.home, p.r.runId).map((f) => ({ ...f, file: 'orders.zip', message: `${f.message} (line ${f.line} of ${f.file} in orders.zip)` }))
    const got = failures(z.home, z.r.runId, 'stored')
    expect(sorted([...got])).toEqual(sorted(expected))
    expect(got.filter((f) => f.message.includes('of sub/c.csv')).map((f) => f.code)).toEqual(['FIELD_COUNT', 'PARSE_ERROR', 'WRONG_TYPE'])
    const bad = got.find((f) => f.code === 'WRONG_TYPE' && f.message.includes('of a.csv'))
    expect(bad?.line).toBe(a.trimEnd().split('\n').length)
    expect(bad?.message).toMatch(/^quantity: "x" is not a whole number \(line \d+ of a\.csv in orders\.zip\)$/)

    // Per input, the zip gives one output named after it.
    const perInput = dirWith({ 'orders.zip': makeZip(entries) })
    const pi = run(perInput, csvJob(['*.zip']))
    expect(readdirSync(join(perInput, 'out'))).toEqual(['orders.jsonl'])
    expect(readFileSync(join(perInput, 'out', 'orders.jsonl'))).toEqual(readFileSync(join(zipped, 'out', 'orders.jsonl')))
    expect(pi.r.counts).toEqual(z.r.counts)
  })

  it('fails an entry whose header differs from the first entry’s as one record naming both headers, and reads the others', () => {
    const dir = dirWith({
      'orders.zip': makeZip([
        { name: '1-jan.csv', data: 'id,amount\n1,10\n2,20\n' },
        { name: '2-feb.csv', data: 'id,total\n3,30\n4,40\n5,50\n' },
        { name: '3-mar.csv', data: '\uFEFFid,amount\r\n6,60\r\n' },
        { name: '4-apr.csv', data: '' }
      ])
    })
    const { r, home, stderr } = run(dir, {
      name: 'h',
      kind: 'records',
      input: { folder: 'in', format: 'csv' },
      steps: [{ validate: { amount: { type: 'number' } } }],
      output: { folder: 'out', format: 'jsonl' }
    })
    expect(stderr).toBe('')
    expect(r.status).toBe('partial')
    expect(r.counts).toEqual({ in: 4, out: 3, filtered: 0, deduped: 0, failed: 1 })
    expect(readFileSync(join(dir, 'out', 'orders.jsonl'), 'utf8')).toBe('{"id":"1","amount":10}\n{"id":"2","amount":20}\n{"id":"6","amount":60}\n')
    const [f] = failures(home, r.runId, 'stored')
    expect(f).toMatchObject({ file: 'orders.zip', line: 1, code: 'FILE_UNREADABLE' })
    expect(f?.message).toContain('2-feb.csv inside orders.zip has other columns than the first file of the zip ("id", "amount"): its header is "id", "total"')
  })

  it('damaged zips and entries: a plain message naming the file and entry, no crash, every other record read and all accounted for', () => {
    const good = 'id,amount\n1,10\n2,20\n3,30\n'
    const long = 'id,amount\n' + Array.from({ length: 20000 }, (_, i) => `${i},${i % 97}.5`).join('\n') + '\n'
    const whole = makeZip([{ name: 'a.csv', data: long }])
    const dir = dirWith({
      'cut.zip': whole.subarray(0, Math.floor(whole.length / 2)),
      'notzip.zip': 'id,amount\n1,2\n',
      'entries.zip': makeZip([
        { name: 'a-good.csv', data: good },
        // deflate data with a hole punched in its middle
        { name: 'b-damaged.csv', data: long, damage: (s) => Buffer.concat([s.subarray(0, s.length >> 1), Buffer.alloc(64, 0xff), s.subarray((s.length >> 1) + 64)]) },
        // stored as is, one byte changed after the fact: only the checksum tells
        { name: 'c-checksum.csv', data: good, method: 0, crc: 12345 },
        { name: 'd-locked.csv', data: good, flags: 1 },
        { name: 'e-inner.zip', data: makeZip([{ name: 'x.csv', data: good }]) },
        { name: 'f-good.csv', data: good }
      ]),
      'pictures.zip': makeZip([{ name: 'cat.png', data: 'not really' }]),
      'plain.csv': good
    })
    const { r, home, stderr, code } = run(dir, amountJob(['*'], { compression: 'auto' }))
    expect(stderr).toBe('')
    expect(code).toBe(2)
    expect(r.status).toBe('partial')
    accounted(r)
    const fs = failures(home, r.runId, 'stored')
    const of = (file: string) => fs.filter((f) => f.file === file).map((f) => f.message)
    expect(of('cut.zip')).toEqual([expect.stringMatching(/^cut\.zip is not a zip file, or it is cut short .*; the file was not processed$/)])
    expect(of('notzip.zip')).toEqual([expect.stringMatching(/^notzip\.zip is not a zip file/)])
    expect(of('pictures.zip')).toEqual([expect.stringMatching(/^pictures\.zip holds no \.csv, \.tsv or \.txt file to read \(it holds cat\.png\)/)])
    const e = of('entries.zip')
    expect(e).toHaveLength(4)
    expect(e[0]).toMatch(/^b-damaged\.csv inside entries\.zip is damaged \(.+\); what follows line \d+ of it could not be read$/)
    expect(e[1]).toBe('c-checksum.csv inside entries.zip is damaged: its content does not match the checksum stored in the zip, so the rows read from it may hold wrong values')
    expect(e[2]).toMatch(/^d-locked\.csv inside entries\.zip is password-protected/)
    expect(e[3]).toMatch(/^e-inner\.zip inside entries\.zip is a zip file inside the zip/)
    // The good entries, and the records of the damaged one before the damage, are read.
    const out = readFileSync(join(dir, 'out', 'entries.jsonl'), 'utf8').trim().split('\n')
    expect(out.length).toBeGreaterThan(6 + 100)
    expect(out.slice(0, 3).map((l) => JSON.parse(l).id)).toEqual(['1', '2', '3'])
    expect(out.slice(-3).map((l) => JSON.parse(l).id)).toEqual(['1', '2', '3'])
    expect(readFileSync(join(dir, 'out', 'plain.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3)

    // With compression "zip", a file that is not a zip is refused by name, not read as text.
    const forced = dirWith({ 'a.csv': good })
    const fz = run(forced, amountJob(['*'], { compression: 'zip' }))
    expect(fz.r.counts).toMatchObject({ in: 1, failed: 1 })
    expect(failures(fz.home, fz.r.runId, 'stored')[0]?.message).toMatch(/^a\.csv is not a zip file.*set input\.compression to "auto"/)
  })

  it('a zip is found by its signature whatever its name; the record size limit holds inside an entry that inflates to far more than the zip', () => {
    const rows = 'id,amount\n1,10\n'
    // 64 MiB of one line in a zip of a few hundred KiB, then a normal row.
    const bomb = 'id,amount\n' + 'x'.repeat(64 << 20) + '\n2,20\n'
    const dir = dirWith({ 'export.dat': makeZip([{ name: 'a.csv', data: rows }, { name: 'b.csv', data: bomb }]) })
    const { r, home, stderr } = run(dir, amountJob(['*.dat'], {}, { maxRecordSize: '1MiB' }))
    expect(stderr).toBe('')
    expect(r.counts).toMatchObject({ in: 3, failed: 1 })
    const [f] = failures(home, r.runId, 'stored')
    expect(f).toMatchObject({ code: 'RECORD_TOO_LARGE', line: 2 })
    expect(f?.message).toMatch(/\(line 2 of b\.csv in export\.dat\)$/)
    expect(readdirSync(join(dir, 'out'))).toEqual(['export.jsonl'])
    expect((r as RunJson & { stats: { peakRssMb: number } }).stats.peakRssMb).toBeLessThan(400)
  })

  it('reads JSON lines and JSON arrays from zips', () => {
    const lines = (from: number) => Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: from + i, v: `x${from + i}` })).join('\n') + '\n'
    const dir = dirWith({ 'l.zip': makeZip([{ name: 'b.ndjson', data: lines(100) }, { name: 'a.jsonl', data: lines(0) + '{bad\n' }, { name: 'readme.txt', data: 'hi' }]) })
    const { r, home } = run(dir, { name: 'l', kind: 'records', input: { folder: 'in', format: 'jsonl' }, output: { folder: 'out', format: 'jsonl' } })
    expect(r.counts).toMatchObject({ in: 41, out: 40, failed: 1 })
    expect(readFileSync(join(dir, 'out', 'l.jsonl'), 'utf8')).toBe(lines(0) + lines(100))
    expect(failures(home, r.runId, 'stored')[0]).toMatchObject({ line: 21, code: 'PARSE_ERROR', message: expect.stringMatching(/\(line 21 of a\.jsonl in l\.zip\)$/) })
    const arr = (from: number) => '[\n' + lines(from).trim().split('\n').join(',\n') + '\n]\n'
    const adir = dirWith({ 'a.zip': makeZip([{ name: '2.json', data: arr(100) }, { name: '1.json', data: arr(0) }]) })
    const ra = run(adir, { name: 'a', kind: 'records', input: { folder: 'in', format: 'json' }, output: { folder: 'out', format: 'jsonl' } }).r
    expect(ra.status).toBe('succeeded')
    expect(readFileSync(join(adir, 'out', 'a.jsonl'), 'utf8')).toBe(lines(0) + lines(100))
  })
})

/** Three zips of orders (one with broken rows), for kill -9 and resume. */
function crashJobDir(): { dir: string; job: unknown } {
  const dir = dirWith({
    'a.zip': makeZip([{ name: 'jan.csv', data: brokenOrders(2000, 1) }, { name: 'feb.csv', data: brokenOrders(1000, 4) }]),
    'b.zip': makeZip([{ name: 'mar.csv', data: ordersCsv(orderRows(2000, 2)) }]),
    'c.zip': makeZip([{ name: 'apr.csv', data: ordersCsv(orderRows(1000, 3)) }, { name: 'may.csv', data: ordersCsv(orderRows(500, 5)) }])
  })
  return { dir, job: csvJob(['*.zip'], { format: 'xlsx' }, { maxFailedRecords: 1000 }) }
}

describe('kill -9 during a run over zips, then resume', () => {
  it('resumes to byte-identical outputs, nothing lost or doubled', () => {
    const ref = crashJobDir()
    const reference = run(ref.dir, ref.job)
    expect(reference.stderr).toBe('')
    const referenceOut = treeHashes(join(ref.dir, 'out'))
    const referenceFailures = failures(reference.home, reference.r.runId, 'stored')
    accounted(reference.r)
    expect(reference.r.counts.in).toBe(6506)
    for (const point of ['after-partition-commit:1', 'after-output-staged:2', 'before-rename']) {
      const { dir, job } = crashJobDir()
      expectResumedLikeReference(dir, job, point, { counts: reference.r.counts, outputs: referenceOut, failures: referenceFailures }, 'stored')
    }
  })
})

describe('the engine API: preview and dry run of a zip', () => {
  let s: Served
  beforeAll(async () => {
    s = await serve(tempDir())
  })
  afterAll(async () => {
    await s.stop()
  })

  it('previews a zip from its first matching entry, says it is a zip, and dry-runs it', async () => {
    const dir = dirWith({ 'orders.zip': makeZip([{ name: 'notes.md', data: '# x' }, { name: 'b.csv', data: 'id;name;amount\n9;Zed;1\n' }, { name: 'a.csv', data: 'id;name;amount\n1;Ann;2.5\n2;Bob;3\n' }]) })
    const p = await s.value('inputs.preview', { folder: join(dir, 'in') })
    expect(p).toMatchObject({ format: 'csv', delimiter: ';', header: true, compression: 'zip', files: [{ relPath: 'orders.zip' }], rows: [['1', 'Ann', '2.5'], ['2', 'Bob', '3']] })
    const lines = dirWith({ 'events.zip': makeZip([{ name: 'e.jsonl', data: '{"id":1,"ok":true}\n{"id":2,"ok":false}\n' }]) })
    expect(await s.value('inputs.preview', { folder: join(lines, 'in') })).toMatchObject({ format: 'jsonl', compression: 'zip', rows: [['1', 'true'], ['2', 'false']] })
    const dry = await s.value('runs.dryRun', {
      job: { name: 'zip-dry', kind: 'records', input: { folder: join(dir, 'in'), format: 'csv', delimiter: ';' }, output: { folder: join(dir, 'out'), format: 'jsonl' } }
    })
    expect(dry.output).toEqual([
      { id: '1', name: 'Ann', amount: '2.5' },
      { id: '2', name: 'Bob', amount: '3' },
      { id: '9', name: 'Zed', amount: '1' }
    ])
  })
})
