import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scanFile, type ScanOptions, type ScanResult } from '../../src/main/engine/scan'
import { CsvParser } from '../../src/workers/formats/csv-parser'
import { mulberry32 as rng } from '../helpers/orders'

let dir = ''
let counter = 0

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchery-scan-'))
})

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})

function write(content: string | Buffer): string {
  const file = path.join(dir, `f${counter++}.dat`)
  fs.writeFileSync(file, content)
  return file
}

const CSV: ScanOptions = { format: 'csv', quote: '"', header: true, targetPartitionBytes: 1 << 20 }

type Event = [kind: 'record' | 'malformed', line: number, payload: string[] | string]

function parseText(text: string, firstLine: number): { events: Event[]; endedInsideQuotes: boolean; line: number } {
  const events: Event[] = []
  const parser = new CsvParser(
    { delimiter: ',', quote: '"' },
    {
      record: (fields, line) => events.push(['record', line, fields]),
      malformed: (line, raw) => events.push(['malformed', line, raw])
    },
    firstLine
  )
  parser.push(text, true)
  return { events, endedInsideQuotes: parser.endedInsideQuotes, line: parser.line }
}

/** Byte-by-byte statement of the partitioning rule, for comparison. */
function expectedPartitions(buf: Buffer, dataStart: number, target: number, quote: number | null): ScanResult['partitions'] {
  const parts: ScanResult['partitions'] = []
  let lines = 0
  for (let i = 0; i < dataStart; i++) if (buf[i] === 10) lines++
  let start = dataStart
  let firstLine = lines + 1
  let next = dataStart + target
  let inQuotes = false
  for (let i = dataStart; i < buf.length; i++) {
    const b = buf[i]
    if (b === quote) inQuotes = !inQuotes
    else if (b === 10) {
      lines++
      if (!inQuotes && i + 1 >= next && i + 1 < buf.length) {
        parts.push({ start, end: i + 1, firstLine })
        start = i + 1
        firstLine = lines + 1
        next = i + 1 + target
      }
    }
  }
  if (dataStart < buf.length) parts.push({ start, end: buf.length, firstLine })
  return parts
}

/** Well-formed CSV with quoted newlines, delimiters, doubled quotes, mixed line ends, empty lines and non-ASCII text. */
function generateCsv(rows: number, seed: number, padding = ''): string {
  const rand = rng(seed)
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!
  const cell = (): string => {
    const r = rand()
    if (r < 0.5) return pick(['alpha', '42', '3.14', '', 'café', '日本語', 'x y'])
    if (r < 0.65) return '"a, b"'
    if (r < 0.8) return '"line one\nline two"'
    if (r < 0.9) return '"say ""hi""\r\nbye"'
    return '"""quoted"" start"'
  }
  let text = 'id,name,"note, with comma",extra\r\n'
  for (let i = 0; i < rows; i++) {
    const fields = [String(i), cell(), cell(), cell()]
    if (padding !== '') fields.push(padding)
    text += fields.join(',') + pick(['\n', '\r\n'])
    if (rand() < 0.03) text += pick(['\n', '\r\n'])
  }
  return text
}

function checkPartitionsParseLikeWhole(file: string, result: ScanResult, target: number): void {
  const buf = fs.readFileSync(file)
  expect(result.size).toBe(buf.length)
  expect(result.sha256).toBe(createHash('sha256').update(buf).digest('hex'))
  expect(result.partitions).toEqual(expectedPartitions(buf, result.dataStart, target, 34))
  const whole = parseText(buf.subarray(0, result.size).toString('utf8'), 1)
  // The generated files are well-formed: a malformed record would mean the test data is wrong.
  expect(whole.events.filter((e) => e[0] === 'malformed')).toEqual([])
  // The header is the first record of the whole-file parse.
  const header = whole.events.shift()
  expect(header).toEqual(['record', result.headerLine, parseText(result.headerBytes!.toString('utf8'), 1).events[0]![2]])
  const pieces: Event[] = []
  let prevEnd = result.dataStart
  for (const p of result.partitions) {
    expect(p.start).toBe(prevEnd)
    expect(buf[p.start - 1]).toBe(10)
    prevEnd = p.end
    const part = parseText(buf.subarray(p.start, p.end).toString('utf8'), p.firstLine)
    expect(part.endedInsideQuotes).toBe(false)
    pieces.push(...part.events)
  }
  expect(prevEnd).toBe(result.size)
  expectSameEvents(pieces, whole.events)
}

/** toEqual on 250k events takes seconds; compare serialised and diff only the first mismatch. */
function expectSameEvents(actual: Event[], expected: Event[]): void {
  for (let k = 0; k < Math.max(actual.length, expected.length); k++) {
    if (JSON.stringify(actual[k]) !== JSON.stringify(expected[k])) {
      expect({ index: k, event: actual[k] }).toEqual({ index: k, event: expected[k] })
    }
  }
}

function scanCsv(content: string | Buffer, target: number, opts: Partial<ScanOptions> = {}): { file: string; result: ScanResult } {
  const file = write(content)
  return { file, result: scanFile(file, { ...CSV, ...opts, targetPartitionBytes: target }) }
}

describe('scanFile', () => {
  it('never places a boundary inside a quoted field', () => {
    const text = generateCsv(400, 1)
    for (const target of [1, 7, 64, 300, 5000, 1 << 20]) {
      const { file, result } = scanCsv(text, target)
      expect(result.headerBytes!.toString('utf8')).toBe('id,name,"note, with comma",extra')
      expect(result.headerLine).toBe(1)
      expect(result.dataStart).toBe(Buffer.byteLength('id,name,"note, with comma",extra\r\n'))
      if (target === 64) expect(result.partitions.length).toBeGreaterThan(50)
      if (target === 1 << 20) expect(result.partitions).toHaveLength(1)
      checkPartitionsParseLikeWhole(file, result, target)
    }
  })

  it('handles files larger than one read block', () => {
    // ~9 MB: several 4 MiB blocks, so quotes, CRLF pairs and records straddle
    // block edges. Long rows keep the record count (and the test) small.
    const text = generateCsv(50_000, 2, 'p'.repeat(150))
    const { file, result } = scanCsv(text, 1 << 20)
    expect(result.size).toBeGreaterThan(8 * 1024 * 1024)
    expect(result.partitions.length).toBeGreaterThan(7)
    checkPartitionsParseLikeWhole(file, result, 1 << 20)
  })

  it('detects the UTF-8 BOM and starts data after it', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    const withHeader = scanCsv(Buffer.concat([bom, Buffer.from('id,x\n1,2\n')]), 64).result
    expect(withHeader.bom).toBe(true)
    expect(withHeader.headerBytes!.toString('utf8')).toBe('id,x')
    expect(withHeader.dataStart).toBe(8)
    expect(withHeader.partitions).toEqual([{ start: 8, end: 12, firstLine: 2 }])

    const noHeader = scanCsv(Buffer.concat([bom, Buffer.from('1,2\n3,4\n')]), 1, { header: false }).result
    expect(noHeader).toMatchObject({ bom: true, dataStart: 3, headerBytes: null, headerLine: null })
    expect(noHeader.partitions).toEqual([
      { start: 3, end: 7, firstLine: 1 },
      { start: 7, end: 11, firstLine: 2 }
    ])

    const onlyBom = scanCsv(bom, 64, { header: false }).result
    expect(onlyBom).toMatchObject({ bom: true, size: 3, dataStart: 3, partitions: [] })

    expect(scanCsv('id,x\n1,2\n', 64).result.bom).toBe(false)
  })

  it('finds the end of a header with quoted delimiters and newlines', () => {
    const { file, result } = scanCsv('"id","na,me","multi\r\nline ""h"""\r\n1,2,3\r\n4,"5\n6",7\n', 1)
    expect(result.headerBytes!.toString('utf8')).toBe('"id","na,me","multi\r\nline ""h"""')
    expect(result.headerLine).toBe(1)
    expect(result.partitions.map((p) => p.firstLine)).toEqual([3, 4])
    checkPartitionsParseLikeWhole(file, result, 1)
  })

  it('skips empty lines before the header', () => {
    const { result } = scanCsv('\n\r\n\nid,x\r\n1,2\n', 64)
    expect(result.headerLine).toBe(4)
    expect(result.headerBytes!.toString('utf8')).toBe('id,x')
    expect(result.partitions).toEqual([{ start: 10, end: 14, firstLine: 5 }])
  })

  it('keeps a leading lone \\r as part of the header', () => {
    const { result } = scanCsv('\rid,x\n1\n', 64)
    expect(result.headerBytes!.toString('latin1')).toBe('\rid,x')
  })

  it('handles a \\r at the end of a read block before the header', () => {
    const block = 4 * 1024 * 1024
    const blank = '\n'.repeat(block - 1)
    const lone = scanCsv(blank + '\rid\n1\n', 1 << 20).result
    expect(lone.headerLine).toBe(block)
    expect(lone.headerBytes!.toString('latin1')).toBe('\rid')
    expect(lone.partitions).toEqual([{ start: block + 3, end: block + 5, firstLine: block + 1 }])
    const crlf = scanCsv(blank + '\r\nid\n1\n', 1 << 20).result
    expect(crlf.headerLine).toBe(block + 1)
    expect(crlf.headerBytes!.toString('latin1')).toBe('id')
    expect(crlf.partitions).toEqual([{ start: block + 4, end: block + 6, firstLine: block + 2 }])
  })

  it('returns no partitions for a header-only or empty file', () => {
    for (const text of ['id,x\n', 'id,x\r\n', 'id,x']) {
      const { result } = scanCsv(text, 64)
      expect(result.headerBytes!.toString('utf8')).toBe('id,x')
      expect(result.headerLine).toBe(1)
      expect(result.dataStart).toBe(text.length)
      expect(result.partitions).toEqual([])
    }
    const empty = scanCsv('', 64).result
    expect(empty).toEqual({
      size: 0,
      sha256: createHash('sha256').digest('hex'),
      bom: false,
      dataStart: 0,
      headerBytes: null,
      headerLine: null,
      partitions: []
    })
    expect(scanCsv('\n\r\n', 64).result).toMatchObject({ dataStart: 3, headerBytes: null, headerLine: null, partitions: [] })
    expect(scanCsv('', 64, { header: false }).result.partitions).toEqual([])
    expect(scanFile(write(''), { ...CSV, format: 'jsonl' }).partitions).toEqual([])
  })

  it('partitions CRLF files after the \\n', () => {
    const text = 'a,b\r\n' + Array.from({ length: 50 }, (_, i) => `${i},"v\r\n${i}"`).join('\r\n') + '\r\n'
    const { file, result } = scanCsv(text, 20)
    expect(result.headerBytes!.toString()).toBe('a,b')
    for (const p of result.partitions.slice(0, -1)) expect(fs.readFileSync(file).subarray(p.end - 2, p.end).toString()).toBe('\r\n')
    expect(result.partitions.length).toBeGreaterThan(10)
    checkPartitionsParseLikeWhole(file, result, 20)
  })

  it('places boundaries at the first record end at or after each target', () => {
    // Records of 4 bytes: with target 8 every second record end is a boundary.
    const { result } = scanCsv('1,2\n3,4\n5,6\n7,8\n9,0\n', 8, { header: false })
    expect(result.partitions).toEqual([
      { start: 0, end: 8, firstLine: 1 },
      { start: 8, end: 16, firstLine: 3 },
      { start: 16, end: 20, firstLine: 5 }
    ])
  })

  it('uses the configured quote byte', () => {
    const { result } = scanCsv("id\n'a\nb'\nc\n", 1, { quote: "'" })
    expect(result.partitions).toEqual([
      { start: 3, end: 9, firstLine: 2 },
      { start: 9, end: 11, firstLine: 4 }
    ])
  })

  it('partitions JSON lines at every newline and counts lines', () => {
    const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ i, s: 'quote " and \\" ' + 'x'.repeat(i % 17) }))
    const text = lines.join('\n') + '\n'
    const file = write(text)
    const result = scanFile(file, { format: 'jsonl', quote: '"', header: true, targetPartitionBytes: 100 })
    expect(result).toMatchObject({ bom: false, dataStart: 0, headerBytes: null, headerLine: null, size: Buffer.byteLength(text) })
    expect(result.sha256).toBe(createHash('sha256').update(text).digest('hex'))
    expect(result.partitions).toEqual(expectedPartitions(Buffer.from(text), 0, 100, null))
    expect(result.partitions.length).toBeGreaterThan(20)
    const buf = fs.readFileSync(file)
    const seen: string[] = []
    for (const p of result.partitions) {
      const partLines = buf.subarray(p.start, p.end).toString('utf8').split('\n').slice(0, -1)
      expect(partLines[0]).toBe(lines[p.firstLine - 1])
      seen.push(...partLines)
    }
    expect(seen).toEqual(lines)

    const bomFile = write(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}\n{"a":2}')]))
    expect(scanFile(bomFile, { format: 'jsonl', quote: '"', header: false, targetPartitionBytes: 1 })).toMatchObject({
      bom: true,
      dataStart: 3,
      partitions: [
        { start: 3, end: 11, firstLine: 1 },
        { start: 11, end: 18, firstLine: 2 }
      ]
    })
  })

  it('computes sha256 of the whole file', () => {
    const content = Buffer.alloc(5 * 1024 * 1024 + 123)
    for (let i = 0; i < content.length; i++) content[i] = (i * 31 + (i >> 9)) & 0xff
    const file = write(content)
    const result = scanFile(file, { ...CSV, header: false })
    expect(result.sha256).toBe(createHash('sha256').update(content).digest('hex'))
    expect(result.size).toBe(content.length)
  })

  it('falls back to the first line as header when a header quote never closes', () => {
    const { result } = scanCsv('"id,name\r\n1,2\n3,4\n', 1)
    expect(result.headerBytes!.toString()).toBe('"id,name')
    expect(result.headerLine).toBe(1)
    expect(result.partitions).toEqual([{ start: 10, end: 18, firstLine: 2 }])
  })

  it('lets the parser detect a boundary that a stray quote put inside a quoted field', () => {
    // `5"` flips the scanner's parity, so a later quoted newline looks like a record end.
    const text = 'a,b\n1,5" pipe\n' + '2,"x\ny"\n'.repeat(5)
    const { file, result } = scanCsv(text, 1)
    const buf = fs.readFileSync(file)
    const ended = result.partitions.map((p) => parseText(buf.subarray(p.start, p.end).toString(), p.firstLine).endedInsideQuotes)
    expect(ended).toContain(true)
  })

  it('rejects bad options', () => {
    const file = write('a\n')
    expect(() => scanFile(file, { ...CSV, targetPartitionBytes: 0 })).toThrow(RangeError)
    expect(() => scanFile(file, { ...CSV, targetPartitionBytes: Number.NaN })).toThrow(RangeError)
    expect(() => scanFile(file, { ...CSV, quote: '""' })).toThrow(RangeError)
    expect(() => scanFile(file, { ...CSV, quote: '«' })).toThrow(RangeError)
  })
})
