// UTF-16 text inputs end to end through the CLI: what Excel writes for "Unicode Text" (a
// UTF-16LE TSV with a byte order mark and CRLF line ends), UTF-16BE, JSON lines and JSON arrays
// in UTF-16, and BOM-less files with input.encoding. Each gives the outputs, byte for byte, and
// the failed records of the same text saved as UTF-8; a broken character fails its row as
// ENCODING_ERROR, never mojibake in the output; a kill -9 and a resume change nothing.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readJsonl, tempDir, treeHashes } from '../helpers/cli'
import { exampleSteps, orderRows, ordersCsv } from '../helpers/orders'
import { dirWith, expectResumedLikeReference, failures, run, type Failure } from '../helpers/runs'
import { serve, type Served } from '../helpers/server'

const LE_BOM = Buffer.from([0xff, 0xfe])
const BE_BOM = Buffer.from([0xfe, 0xff])
const utf16le = (text: string, bom = true): Buffer => Buffer.concat([bom ? LE_BOM : Buffer.alloc(0), Buffer.from(text, 'utf16le')])
const utf16be = (text: string, bom = true): Buffer => Buffer.concat([bom ? BE_BOM : Buffer.alloc(0), Buffer.from(text, 'utf16le').swap16()])

/** Orders as Excel's "Unicode Text" holds them: tab-separated, CRLF, non-ASCII text; a few broken rows. */
function ordersTsv(n: number, seed: number): string {
  const names = ['Müller', '東京 Trading', 'Zoë 😀', 'Ørsted', 'Smith']
  const csv = ordersCsv(orderRows(n, seed), '\r\n')
  // Quoted fields stay quoted (Excel quotes a field holding a tab, a quote or a line break).
  const lines = csv.split('\r\n').map((l, i) => (i === 0 ? l : l.replace(/Customer (\d+)/, (_m, k: string) => `${names[Number(k) % names.length]} ${k}`)))
  const tsv = lines.map((l) => l.replace(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/g, '\t')).join('\r\n')
  return tsv + '77\tshort row\r\n88\tOk\tde\t1.00\tx\tpaid\tn\r\n'
}

const tsvJob = (include: string[], input: Record<string, unknown> = {}, policy: Record<string, unknown> = {}) => ({
  name: 'unicode-text',
  kind: 'records',
  input: { folder: 'in', include, format: 'tsv', ...input },
  steps: exampleSteps(),
  output: { folder: 'out', format: 'jsonl' },
  policy: { concurrency: 2, ...policy }
})

const balanced = (c: { in: number; out: number; filtered: number; deduped: number; failed: number }): void => {
  expect(c.in).toBe(c.out + c.filtered + c.deduped + c.failed)
}

describe('UTF-16 text files', () => {
  it('a UTF-16LE TSV with BOM (Excel "Unicode Text") gives the outputs, byte for byte, and the failed records of the same file saved as UTF-8', () => {
    const a = ordersTsv(3000, 1)
    const b = ordersTsv(500, 2)
    const plain = dirWith({ 'a.txt': a, 'b.txt': b })
    const wide = dirWith({ 'a.txt': utf16le(a), 'b.txt': utf16le(b) })
    // The UTF-8 files in many partitions; each UTF-16 file is one.
    const p = run(plain, tsvJob(['*.txt'], {}, { chunkSize: 16384 }))
    const w = run(wide, tsvJob(['*.txt']))
    expect(w.stderr).toBe('')
    expect(w.r.status).toBe('partial')
    expect(w.r.counts).toEqual(p.r.counts)
    expect(w.r.counts.in).toBe(3504)
    balanced(w.r.counts)
    expect(treeHashes(join(wide, 'out'))).toEqual(treeHashes(join(plain, 'out')))
    const wf = failures(w.home, w.r.runId)
    expect(wf).toEqual(failures(p.home, p.r.runId))
    expect(wf.filter((f) => f.file === 'a.txt').map((f) => f.code)).toEqual(['FIELD_COUNT', 'WRONG_TYPE'])
    const out = readFileSync(join(wide, 'out', 'a.jsonl'), 'utf8')
    expect(out).toContain('Müller')
    expect(out).toContain('東京 Trading')
    expect(out).toContain('Zoë 😀')
    expect(out).not.toMatch(/[\uFFFD\u0000]/)
  })

  it('UTF-16BE with BOM likewise, whatever input.encoding says (the BOM decides)', () => {
    const text = ordersTsv(800, 3)
    const plain = dirWith({ 'a.tsv': text })
    const wide = dirWith({ 'a.tsv': utf16be(text) })
    const p = run(plain, tsvJob(['*.tsv']))
    const w = run(wide, tsvJob(['*.tsv'], { encoding: 'windows-1252' }))
    expect(w.stderr).toBe('')
    expect(w.r.counts).toEqual(p.r.counts)
    expect(treeHashes(join(wide, 'out'))).toEqual(treeHashes(join(plain, 'out')))
    expect(failures(w.home, w.r.runId)).toEqual(failures(p.home, p.r.runId))
  })

  it('JSON lines and a JSON array in UTF-16LE', () => {
    const records = Array.from({ length: 300 }, (_, i) => ({ id: i + 1, name: ['Müller', '東京', '😀 smile'][i % 3], n: i }))
    const lines = records.map((r) => JSON.stringify(r)).join('\r\n') + '\r\n'
    const dir = dirWith({ 'l.jsonl': utf16le(lines), 'broken.jsonl': utf16le('{"id": 1}\r\n{"id": 2,,}\r\n{"id": 3}\r\n') })
    const jl = run(dir, { name: 'l', kind: 'records', input: { folder: 'in', format: 'jsonl' }, output: { folder: 'out', format: 'jsonl' } })
    expect(jl.stderr).toBe('')
    expect(readFileSync(join(dir, 'out', 'l.jsonl'), 'utf8')).toBe(lines.replaceAll('\r\n', '\n'))
    expect(failures(jl.home, jl.r.runId)).toMatchObject([{ file: 'broken.jsonl', line: 2, code: 'PARSE_ERROR' }])
    expect(jl.r.counts).toEqual({ in: 303, out: 302, filtered: 0, deduped: 0, failed: 1 })

    const arr = dirWith({ 'a.json': utf16le(JSON.stringify(records, null, 2) + '\r\n'), 'plain.json': JSON.stringify(records, null, 2) + '\n' })
    const ja = run(arr, { name: 'a', kind: 'records', input: { folder: 'in', format: 'json' }, output: { folder: 'out', format: 'jsonl' }, policy: { chunkSize: 2048 } })
    expect(ja.stderr).toBe('')
    expect(ja.r.status).toBe('succeeded')
    expect(readFileSync(join(arr, 'out', 'a.jsonl'), 'utf8')).toBe(readFileSync(join(arr, 'out', 'plain.jsonl'), 'utf8'))
    expect(readJsonl(join(arr, 'out', 'a.jsonl'))).toEqual(records)
  })

  it('a lone surrogate fails its row as ENCODING_ERROR at its line, an odd byte at the end fails the last row; the rest is written, no mojibake', () => {
    const text = 'id\tname\r\n1\tMüller\r\n2\tbad PLACEHOLDER here\r\n3\t東京\r\n4\tlast\r\n'
    const bytes = utf16le(text)
    // Put a lone high surrogate (D800) where PLACEHOLDER's first code unit is.
    const at = bytes.indexOf(Buffer.from('PLACEHOLDER', 'utf16le'))
    bytes.writeUInt16LE(0xd800, at)
    const dir = dirWith({ 'lone.tsv': bytes, 'odd.tsv': Buffer.concat([utf16le('id\tname\r\n1\ta\r\n2\tb'), Buffer.from([0x41])]) })
    const { r, home } = run(dir, { name: 'enc', kind: 'records', input: { folder: 'in', format: 'tsv' }, output: { folder: 'out', format: 'csv' } })
    expect(r.status).toBe('partial')
    expect(r.counts).toEqual({ in: 6, out: 4, filtered: 0, deduped: 0, failed: 2 })
    balanced(r.counts)
    const fs = failures(home, r.runId)
    expect(fs.map((f) => [f.file, f.line, f.code])).toEqual([
      ['lone.tsv', 3, 'ENCODING_ERROR'],
      ['odd.tsv', 3, 'ENCODING_ERROR']
    ])
    expect(fs[0]?.message).toMatch(/not valid UTF-16.*half of a two-part character/)
    expect(fs[0]?.raw).toContain('LACEHOLDER')
    expect(readFileSync(join(dir, 'out', 'lone.csv'), 'utf8')).toBe('id,name\n1,Müller\n3,東京\n4,last\n')
    expect(readFileSync(join(dir, 'out', 'odd.csv'), 'utf8')).toBe('id,name\n1,a\n')
  })

  it('input.encoding "utf16le" (or "utf-16le") reads a file without a BOM; "utf16be" likewise; a UTF-8 file is refused, not read as nonsense', () => {
    const text = ordersTsv(300, 4)
    const plain = dirWith({ 'a.tsv': text })
    const p = run(plain, tsvJob(['*.tsv']))
    for (const [encoding, bytes] of [
      ['utf16le', utf16le(text, false)],
      ['utf-16le', utf16le(text, false)],
      ['utf16be', utf16be(text, false)]
    ] as const) {
      const dir = dirWith({ 'a.tsv': bytes })
      const w = run(dir, tsvJob(['*.tsv'], { encoding }))
      expect(w.stderr, encoding).toBe('')
      expect(w.r.counts, encoding).toEqual(p.r.counts)
      expect(treeHashes(join(dir, 'out')), encoding).toEqual(treeHashes(join(plain, 'out')))
    }
    const wrong = dirWith({ 'utf8.tsv': text })
    const w = run(wrong, tsvJob(['*.tsv'], { encoding: 'utf16le' }))
    expect(w.r.counts).toMatchObject({ in: 1, out: 0, failed: 1 })
    expect(failures(w.home, w.r.runId)).toMatchObject([{ file: 'utf8.tsv', line: 1, code: 'FILE_UNREADABLE' }])
    expect(failures(w.home, w.r.runId)[0]?.message).toMatch(/utf8\.tsv does not look like UTF-16 text, but input\.encoding is "utf16le"; set input\.encoding.*the file was not processed/)
  })

  it('without a BOM or input.encoding, UTF-16 is refused with the way out; inside a .gz it is refused plainly', () => {
    const text = 'id\tname\r\n1\tMüller\r\n'
    const dir = dirWith({ 'nobom.tsv': utf16le(text, false), 'in.tsv.gz': gzipSync(utf16le(text)) })
    const { r, home } = run(dir, tsvJob(['*']))
    expect(r.counts).toMatchObject({ in: 2, out: 0, failed: 2 })
    const fs = failures(home, r.runId)
    expect(fs.find((f) => f.file === 'nobom.tsv')?.message).toMatch(/nobom\.tsv looks like UTF-16 text without a byte order mark; set input\.encoding to "utf16le"/)
    expect(fs.find((f) => f.file === 'in.tsv.gz')?.message).toMatch(/holds UTF-16 text, which Batchery reads from files that are not compressed only; unpack it, or save it as UTF-8/)
  })

  it('a quote never closed in a record over the size limit: the same failures and outputs as the UTF-8 file', () => {
    // The parser reports the broken record and reads on from the line after it: for a UTF-16
    // file, by decoding again from the start.
    const rows = ordersTsv(400, 9).split('\r\n')
    rows.splice(200, 0, '"never closed\t' + 'ü'.repeat(3000))
    const text = rows.join('\r\n')
    const plain = dirWith({ 'a.tsv': text })
    const wide = dirWith({ 'a.tsv': utf16le(text) })
    const policy = { maxRecordSize: '4KiB' }
    const p = run(plain, tsvJob(['*.tsv'], {}, policy))
    const w = run(wide, tsvJob(['*.tsv'], {}, policy))
    expect(w.r.counts).toEqual(p.r.counts)
    expect(treeHashes(join(wide, 'out'))).toEqual(treeHashes(join(plain, 'out')))
    const wf = failures(w.home, w.r.runId)
    expect(wf).toEqual(failures(p.home, p.r.runId))
    expect(wf.map((f) => f.code)).toContain('RECORD_TOO_LARGE')
  })
})

describe('kill -9 during a run over UTF-16 files, then resume', () => {
  const make = () => ({
    dir: dirWith({ 'a.txt': utf16le(ordersTsv(2000, 11)), 'b.txt': utf16be(ordersTsv(1500, 12)), 'c.txt': utf16le(ordersTsv(1000, 13)) }),
    job: { ...tsvJob(['*.txt']), output: { folder: 'out', format: 'csv', layout: 'merged' } }
  })
  it('resumes to byte-identical outputs, nothing lost or doubled', () => {
    const ref = make()
    const reference = run(ref.dir, ref.job)
    expect(reference.stderr).toBe('')
    const referenceOut = treeHashes(join(ref.dir, 'out'))
    const referenceFailures: Failure[] = failures(reference.home, reference.r.runId)
    balanced(reference.r.counts)
    for (const point of ['after-partition-commit:1', 'after-output-staged:1', 'before-rename', 'before-run-commit']) {
      const { dir, job } = make()
      expectResumedLikeReference(dir, job, point, { counts: reference.r.counts, outputs: referenceOut, failures: referenceFailures })
    }
  })
})

describe('the engine API over UTF-16 files', () => {
  let s: Served
  beforeAll(async () => {
    s = await serve(tempDir())
  })
  afterAll(async () => {
    await s.stop()
  })

  it('previews a UTF-16LE TSV: tab, header, rows decoded, encoding said', async () => {
    const dir = dirWith({ 'export.txt': utf16le('id\tname\tcity\r\n1\tMüller\tBerlin\r\n2\t東京 Trading\tTōkyō\r\n3\tZoë 😀\tRio\r\n') })
    const p = await s.value('inputs.preview', { folder: join(dir, 'in') })
    expect(p).toMatchObject({ format: 'csv', delimiter: '\t', header: true, encoding: 'utf16le' })
    expect(p.columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'integer'],
      ['name', 'string'],
      ['city', 'string']
    ])
    expect(p.rows).toEqual([
      ['1', 'Müller', 'Berlin'],
      ['2', '東京 Trading', 'Tōkyō'],
      ['3', 'Zoë 😀', 'Rio']
    ])
    const be = dirWith({ 'a.json': utf16be('[{"id": 1, "name": "Müller"}, {"id": 2, "name": "東京"}]') })
    const pj = await s.value('inputs.preview', { folder: join(be, 'in') })
    expect(pj).toMatchObject({ format: 'json', encoding: 'utf16be', rows: [['1', 'Müller'], ['2', '東京']] })
  })

  it('a dry run reads a UTF-16 file', async () => {
    const dir = dirWith({ 'a.txt': utf16le(ordersTsv(50, 21)) })
    const job = { ...tsvJob(['*.txt']), input: { folder: join(dir, 'in'), include: ['*.txt'], format: 'tsv' }, output: { folder: join(dir, 'out'), format: 'jsonl' } }
    const d = await s.value('runs.dryRun', { job, limit: 200 })
    balanced({ ...d.counts, deduped: d.counts.deduped ?? 0 })
    expect(d.counts.in).toBe(52)
    expect(d.output.some((r) => String(r.customer).startsWith('Müller'))).toBe(true)
  })
})
