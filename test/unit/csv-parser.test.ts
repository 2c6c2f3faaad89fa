import { describe, expect, it } from 'vitest'
import { RAW_TEXT_LIMIT_CHARS } from '../../src/shared/failures'
import { CsvParser, type CsvDialect } from '../../src/workers/formats/csv-parser'
import { JsonlParser } from '../../src/workers/formats/jsonl-parser'
import { mulberry32 as rng } from '../helpers/orders'

type Event =
  | { kind: 'record'; fields: string[]; line: number; raw: string }
  | { kind: 'malformed'; line: number; raw: string; message: string }

interface Outcome {
  events: Event[]
  line: number
  endedInsideQuotes: boolean
}

const COMMA: CsvDialect = { delimiter: ',', quote: '"' }

/** Parses `chunks` in order (the last push is final) and records everything the sink sees. */
function parseChunks(chunks: string[], dialect: CsvDialect = COMMA, firstLine = 1): Outcome {
  const events: Event[] = []
  const parser: CsvParser = new CsvParser(
    dialect,
    {
      record(fields, line) {
        events.push({ kind: 'record', fields, line, raw: parser.lastRaw() })
      },
      malformed(line, raw, message) {
        events.push({ kind: 'malformed', line, raw, message })
      }
    },
    firstLine
  )
  if (chunks.length === 0) parser.push('', true)
  chunks.forEach((c, k) => parser.push(c, k === chunks.length - 1))
  return { events, line: parser.line, endedInsideQuotes: parser.endedInsideQuotes }
}

function parse(text: string, dialect: CsvDialect = COMMA, firstLine = 1): Outcome {
  return parseChunks([text], dialect, firstLine)
}

function records(text: string, dialect: CsvDialect = COMMA): string[][] {
  return parse(text, dialect).events.map((e) => (e.kind === 'record' ? e.fields : ['<malformed>', e.raw]))
}

/** Splits `text` into pieces whose lengths cycle through `sizes`. */
function chunk(text: string, sizes: number[]): string[] {
  const out: string[] = []
  let k = 0
  for (let i = 0; i < text.length; ) {
    const n = sizes[k++ % sizes.length]!
    out.push(text.slice(i, i + n))
    i += n
  }
  return out
}

function randomChunks(text: string, rand: () => number, maxSize: number): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(rand() * maxSize)
    out.push(text.slice(i, i + n))
    i += n
  }
  // Empty pushes must be harmless too.
  if (rand() < 0.3) out.splice(Math.floor(rand() * (out.length + 1)), 0, '')
  return out
}

/**
 * Char-by-char statement of the semantics, written independently of the
 * parser, on the whole text at once.
 */
function reference(text: string, dialect: CsvDialect = COMMA, firstLine = 1): Outcome {
  const { delimiter: D, quote: Q } = dialect
  const n = text.length
  const events: Event[] = []
  let endedInsideQuotes = false
  const stripCR = (s: string): string => (s.endsWith('\r') ? s.slice(0, -1) : s)
  let pos = 0
  let line = firstLine
  records: while (pos < n) {
    const recLine = line
    let cur = line
    const fields: string[] = []
    let i = pos
    for (;;) {
      if (i < n && text[i] === Q) {
        const quoteLine = cur
        let val = ''
        i++
        for (;;) {
          if (i >= n) {
            endedInsideQuotes = true
            const nl = text.indexOf('\n', pos)
            const first = nl === -1 ? text.slice(pos) : text.slice(pos, nl)
            events.push({ kind: 'malformed', line: recLine, raw: stripCR(first), message: `a quote opened on line ${quoteLine} is never closed` })
            if (nl === -1) {
              pos = n
              line = recLine
            } else {
              pos = nl + 1
              line = recLine + 1
            }
            continue records
          }
          const c = text[i]!
          if (c === Q) {
            if (text[i + 1] === Q) {
              val += Q
              i += 2
              continue
            }
            i++
            break
          }
          if (c === '\n') cur++
          val += c
          i++
        }
        fields.push(val)
        if (i >= n) {
          events.push({ kind: 'record', fields, line: recLine, raw: stripCR(text.slice(pos)) })
          pos = n
          line = cur
          continue records
        }
        const c = text[i]
        if (c === D) {
          i++
          continue
        }
        if (c === '\n' || (c === '\r' && (i + 1 === n || text[i + 1] === '\n'))) {
          const end = c === '\n' ? i : i + 1
          events.push({ kind: 'record', fields, line: recLine, raw: stripCR(text.slice(pos, end)) })
          if (end < n) {
            pos = end + 1
            line = cur + 1
          } else {
            pos = n
            line = cur
          }
          continue records
        }
        const nl = text.indexOf('\n', i)
        const end = nl === -1 ? n : nl
        events.push({ kind: 'malformed', line: recLine, raw: stripCR(text.slice(pos, end)), message: `unexpected text after a closing quote in field ${fields.length}` })
        pos = nl === -1 ? n : nl + 1
        line = nl === -1 ? cur : cur + 1
        continue records
      }
      let j = i
      while (j < n && text[j] !== D && text[j] !== '\n') j++
      if (j < n && text[j] === D) {
        fields.push(text.slice(i, j))
        i = j + 1
        continue
      }
      const v = stripCR(text.slice(i, j))
      if (fields.length > 0 || v !== '') {
        fields.push(v)
        events.push({ kind: 'record', fields, line: recLine, raw: stripCR(text.slice(pos, j)) })
      }
      pos = j < n ? j + 1 : n
      line = j < n ? cur + 1 : cur
      continue records
    }
  }
  return { events, line, endedInsideQuotes }
}

describe('CsvParser', () => {
  it('parses simple rows with LF and CRLF', () => {
    expect(records('a,b,c\n1,2,3\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3']
    ])
    expect(records('a,b,c\r\n1,2,3\r\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3']
    ])
    expect(records('a,b\r\n1,2\n3,4\r\n5,6')).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
      ['5', '6']
    ])
  })

  it('keeps field values exactly, including spaces and empty fields', () => {
    expect(records(' a , b ,,\n')).toEqual([[' a ', ' b ', '', '']])
    expect(records(',\n')).toEqual([['', '']])
  })

  it('handles quoted delimiters, doubled quotes and quoted newlines', () => {
    expect(records('"a,b",c\n')).toEqual([['a,b', 'c']])
    expect(records('"he said ""hi""",x\n')).toEqual([['he said "hi"', 'x']])
    expect(records('""\n')).toEqual([['']])
    expect(records('"",""\n')).toEqual([['', '']])
    expect(records('"a\nb",c\n"d\r\ne",f\r\n')).toEqual([
      ['a\nb', 'c'],
      ['d\r\ne', 'f']
    ])
    expect(records('x,"""",y\n')).toEqual([['x', '"', 'y']])
  })

  it('treats a lone \\r as data', () => {
    expect(records('a\rb,c\n"d\re",f\n')).toEqual([
      ['a\rb', 'c'],
      ['d\re', 'f']
    ])
    expect(records('a,b\r\r\n')).toEqual([['a', 'b\r']])
  })

  it('skips empty lines but counts them', () => {
    const out = parse('\na,b\n\r\n\n"c\nd",e\n\n\rf\n\r')
    expect(out.events).toEqual([
      { kind: 'record', fields: ['a', 'b'], line: 2, raw: 'a,b' },
      { kind: 'record', fields: ['c\nd', 'e'], line: 5, raw: '"c\nd",e' },
      { kind: 'record', fields: ['\rf'], line: 8, raw: '\rf' }
    ])
    expect(out.line).toBe(9)
  })

  it('reports the starting line of records after multi-line records', () => {
    const out = parse('h1,h2\n"a\nb\nc",1\nx,2\n"y\r\n",3\nz,4', COMMA, 10)
    expect(out.events.map((e) => [e.line, e.kind === 'record' ? e.fields : []])).toEqual([
      [10, ['h1', 'h2']],
      [11, ['a\nb\nc', '1']],
      [14, ['x', '2']],
      [15, ['y\r\n', '3']],
      [17, ['z', '4']]
    ])
    expect(out.line).toBe(17)
  })

  it('treats quotes inside unquoted fields as data', () => {
    expect(records('ab"c,d\n5" pipe,x""y,"q"\n')).toEqual([
      ['ab"c', 'd'],
      ['5" pipe', 'x""y', 'q']
    ])
  })

  it('reports text after a closing quote as malformed and resyncs at the line end', () => {
    const out = parse('a,b,c\n1,2,"x"y,"z\n3,4,5\n')
    expect(out.events).toEqual([
      { kind: 'record', fields: ['a', 'b', 'c'], line: 1, raw: 'a,b,c' },
      { kind: 'malformed', line: 2, raw: '1,2,"x"y,"z', message: 'unexpected text after a closing quote in field 3' },
      { kind: 'record', fields: ['3', '4', '5'], line: 3, raw: '3,4,5' }
    ])
    expect(out.endedInsideQuotes).toBe(false)
  })

  it('counts a malformed record that spans lines from its first line', () => {
    const out = parse('"a\nb" c\r\nd\n')
    expect(out.events).toEqual([
      { kind: 'malformed', line: 1, raw: '"a\nb" c', message: 'unexpected text after a closing quote in field 1' },
      { kind: 'record', fields: ['d'], line: 3, raw: 'd' }
    ])
  })

  it('treats a lone \\r after a closing quote as text after the quote', () => {
    const out = parse('"a"\rb\nc\n')
    expect(out.events[0]).toMatchObject({ kind: 'malformed', line: 1, raw: '"a"\rb' })
    expect(out.events[1]).toMatchObject({ kind: 'record', fields: ['c'], line: 2 })
  })

  it('limits an unterminated quote to the first line of its record', () => {
    const out = parse('a,b\n1,"oops\n2,x\n3,y\r\n')
    expect(out.events).toEqual([
      { kind: 'record', fields: ['a', 'b'], line: 1, raw: 'a,b' },
      { kind: 'malformed', line: 2, raw: '1,"oops', message: 'a quote opened on line 2 is never closed' },
      { kind: 'record', fields: ['2', 'x'], line: 3, raw: '2,x' },
      { kind: 'record', fields: ['3', 'y'], line: 4, raw: '3,y' }
    ])
    expect(out.endedInsideQuotes).toBe(true)
    expect(out.line).toBe(5)
  })

  it('names the line where the unclosed quote opened', () => {
    const out = parse('"a\nb",c,"d\ne\n')
    expect(out.events[0]).toEqual({ kind: 'malformed', line: 1, raw: '"a', message: 'a quote opened on line 2 is never closed' })
    // Parsing restarts at line 2, where `b",c,"d` holds a new unterminated quote.
    expect(out.events[1]).toEqual({ kind: 'malformed', line: 2, raw: 'b",c,"d', message: 'a quote opened on line 2 is never closed' })
    expect(out.events[2]).toMatchObject({ kind: 'record', fields: ['e'], line: 3 })
    expect(out.endedInsideQuotes).toBe(true)
  })

  it('reports an unterminated quote on the last line', () => {
    const out = parse('a\n"b')
    expect(out.events).toEqual([
      { kind: 'record', fields: ['a'], line: 1, raw: 'a' },
      { kind: 'malformed', line: 2, raw: '"b', message: 'a quote opened on line 2 is never closed' }
    ])
    expect(out.line).toBe(2)
    expect(out.endedInsideQuotes).toBe(true)
  })

  it('supports tab, semicolon and pipe delimiters and another quote char', () => {
    expect(records('a\tb\t"c\td"\n1\t2\t3\n', { delimiter: '\t', quote: '"' })).toEqual([
      ['a', 'b', 'c\td'],
      ['1', '2', '3']
    ])
    expect(records('a;b;"c;d"\n1,5;2\n', { delimiter: ';', quote: '"' })).toEqual([
      ['a', 'b', 'c;d'],
      ['1,5', '2']
    ])
    expect(records("a|'b|''c'''|\"d\n", { delimiter: '|', quote: "'" })).toEqual([['a', "b|'c'", '"d']])
  })

  it('rejects invalid dialects', () => {
    const sink = { record() {}, malformed() {} }
    expect(() => new CsvParser({ delimiter: ',,', quote: '"' }, sink, 1)).toThrow(RangeError)
    expect(() => new CsvParser({ delimiter: '"', quote: '"' }, sink, 1)).toThrow(RangeError)
    expect(() => new CsvParser({ delimiter: '\n', quote: '"' }, sink, 1)).toThrow(RangeError)
  })

  it('parses a final record without a trailing newline', () => {
    expect(records('a,b\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2']
    ])
    expect(records('a,b\n"1",2')).toEqual([
      ['a', 'b'],
      ['1', '2']
    ])
    expect(records('a,"b"')).toEqual([['a', 'b']])
    expect(records('a,')).toEqual([['a', '']])
    // A '\r' right at the end is a terminator that lost its '\n'.
    expect(records('a,b\r')).toEqual([['a', 'b']])
    expect(records('a,"b"\r')).toEqual([['a', 'b']])
  })

  it('handles empty input and input of only empty lines', () => {
    expect(parse('')).toEqual({ events: [], line: 1, endedInsideQuotes: false })
    expect(parse('\n\r\n\n', COMMA, 5)).toEqual({ events: [], line: 8, endedInsideQuotes: false })
    expect(parseChunks(['a\n', '', '\r'])).toMatchObject({ events: [{ fields: ['a'] }], line: 2 })
  })

  it('gives lastRaw of multi-line records, including ones spanning pushes', () => {
    const text = 'x,"a\r\nb",y\r\nplain,row\r\n"c""d",e\n'
    const expected = ['x,"a\r\nb",y', 'plain,row', '"c""d",e']
    expect(parse(text).events.map((e) => e.raw)).toEqual(expected)
    for (let size = 1; size <= 6; size++) {
      expect(parseChunks(chunk(text, [size])).events.map((e) => e.raw)).toEqual(expected)
    }
  })

  it('rejects a push after the final push', () => {
    const p = new CsvParser(COMMA, { record() {}, malformed() {} }, 1)
    p.push('a\n', true)
    expect(() => p.push('b\n', false)).toThrow()
  })

  it('parses a record longer than several chunks', () => {
    const long = 'v'.repeat(1000)
    const text = `1,"${long.replace(/v{10}/g, 'v\n"",vvvvv')}",${long}\n2,b\n`
    const whole = parse(text)
    expect(whole.events).toHaveLength(2)
    const first = whole.events[0]!
    expect(first.kind === 'record' && first.fields[1]).toBe(long.replace(/v{10}/g, 'v\n",vvvvv'))
    expect(first.kind === 'record' && first.fields[2]).toBe(long)
    expect(whole.events[1]).toMatchObject({ fields: ['2', 'b'], line: 102 })
    for (const size of [7, 64, 333]) expect(parseChunks(chunk(text, [size]))).toEqual(whole)
  })

  it('gives identical results for every chunking into pieces of 1..7 characters', () => {
    const text =
      'id,name,note\r\n1,"Smith, J","said ""hi""\nthen left"\n\n2,ab"c,\r\n' +
      '"3",x,"y"z,w\n4,\r,"\r\n"\r\n\r\n5,"",""""\n6,"unterminated,\n7,tail'
    const whole = parse(text)
    expect(whole).toEqual(reference(text))
    for (let size = 1; size <= 7; size++) {
      expect(parseChunks(chunk(text, [size]))).toEqual(whole)
      for (let offset = 1; offset < size; offset++) {
        expect(parseChunks(chunk(text, [offset, size]))).toEqual(whole)
      }
    }
  })

  it('matches the reference semantics on random inputs and random chunkings', () => {
    const rand = rng(20240601)
    const alphabet = ['a', 'b', ',', ',', '"', '"', '\n', '\n', '\r', '\r\n', ' ', '""']
    for (let round = 0; round < 2000; round++) {
      let text = ''
      const len = Math.floor(rand() * 40)
      for (let k = 0; k < len; k++) text += alphabet[Math.floor(rand() * alphabet.length)]
      const firstLine = 1 + Math.floor(rand() * 5)
      const expected = reference(text, COMMA, firstLine)
      expect(parseChunks([text], COMMA, firstLine), JSON.stringify(text)).toEqual(expected)
      expect(parseChunks(randomChunks(text, rand, 8), COMMA, firstLine), JSON.stringify(text)).toEqual(expected)
      // The line after the end is the first line plus every '\n'.
      expect(expected.line).toBe(firstLine + text.split('\n').length - 1)
    }
  })

  it('matches the reference on larger random CSV with random chunk sizes', () => {
    const rand = rng(7)
    const cell = (): string => {
      const r = rand()
      if (r < 0.6) return 'v' + Math.floor(rand() * 1000)
      if (r < 0.8) return '"q, ""x""\n' + Math.floor(rand() * 10) + '"'
      if (r < 0.9) return ''
      return 'in"side'
    }
    let text = ''
    for (let row = 0; row < 2000; row++) {
      const cols = 1 + Math.floor(rand() * 6)
      const cells: string[] = []
      for (let c = 0; c < cols; c++) cells.push(cell())
      text += cells.join(',') + (rand() < 0.5 ? '\n' : '\r\n')
      if (rand() < 0.02) text += '\n'
      if (rand() < 0.01) text += '"bad"x,1\n'
    }
    const expected = reference(text)
    expect(parse(text)).toEqual(expected)
    for (let k = 0; k < 5; k++) expect(parseChunks(randomChunks(text, rand, 1 + Math.floor(rand() * 5000)))).toEqual(expected)
  })

  it('parses a 5 MB quoted field pushed in 64 KiB pieces in linear time', () => {
    const big = 'x'.repeat(64) + '\n' + 'y"'.repeat(10)
    const field = big.repeat(Math.ceil((5 * 1024 * 1024) / big.length))
    const text = 'a,"' + field.replace(/"/g, '""') + '",b\nc,d\n'
    let fields: string[] = []
    let last: number | null = null
    let raw = ''
    const parser: CsvParser = new CsvParser(
      COMMA,
      {
        record(f, line) {
          if (f.length === 3) {
            fields = f
            raw = parser.lastRaw()
          }
          last = line
        },
        malformed() {
          throw new Error('unexpected malformed record')
        }
      },
      1
    )
    const started = performance.now()
    const pieces = chunk(text, [64 * 1024])
    pieces.forEach((p, k) => parser.push(p, k === pieces.length - 1))
    const ms = performance.now() - started
    expect(fields[1]).toBe(field)
    expect(fields[2]).toBe('b')
    expect(raw).toBe(text.slice(0, text.indexOf('\nc,d')))
    const newlines = field.split('\n').length - 1
    expect(last).toBe(2 + newlines)
    // Linear work is ~10 ms here; re-scanning the carried field on each of
    // the ~100 pushes would be hundreds of ms.
    expect(ms).toBeLessThan(2000)
  })

  it('recovers from chained unterminated quotes in linear time', () => {
    // Every line closes the open quote and opens another, so each restart
    // would run to the end again; a naive re-parse took 27 s for 16k lines.
    const lines = 50_000
    const text = '"a\n' + 'x",y,"z\n'.repeat(lines)
    const started = performance.now()
    const out = parse(text)
    const ms = performance.now() - started
    expect(out.events).toHaveLength(lines + 1)
    expect(out.events[0]).toEqual({ kind: 'malformed', line: 1, raw: '"a', message: `a quote opened on line ${lines + 1} is never closed` })
    expect(out.events[lines]).toEqual({ kind: 'malformed', line: lines + 1, raw: 'x",y,"z', message: `a quote opened on line ${lines + 1} is never closed` })
    expect(out.line).toBe(lines + 2)
    expect(out.endedInsideQuotes).toBe(true)
    expect(ms).toBeLessThan(2000)
    const small = '"a\n' + 'x",y,"z\n'.repeat(30) + 'q\n'
    expect(parse(small)).toEqual(reference(small))
  })

  it('passes the same fields array only to one record', () => {
    const seen: string[][] = []
    const p = new CsvParser(COMMA, { record: (f) => seen.push(f), malformed() {} }, 1)
    p.push('"a",b\n"c",d\n', true)
    expect(seen).toEqual([
      ['a', 'b'],
      ['c', 'd']
    ])
    expect(seen[0]).not.toBe(seen[1])
  })
})

// ---------------------------------------------------------------------------------------------
// The record size limit.

type LimitedEvent = Event | { kind: 'tooLarge'; line: number; raw: string }

interface LimitedOutcome {
  events: LimitedEvent[]
  line: number
  endedInsideQuotes: boolean
  messages: string[]
}

/**
 * Parses `text` in `chunks` with a record size limit and reads the text again from
 * parser.resumeLine when the parser asks for it, as the worker does with the file.
 */
function parseLimited(text: string, sizes: number[], maxRecordBytes: number, utf8 = true, dialect: CsvDialect = COMMA): LimitedOutcome {
  const events: LimitedEvent[] = []
  const messages: string[] = []
  const parser: CsvParser = new CsvParser(
    dialect,
    {
      record(fields, line) {
        events.push({ kind: 'record', fields, line, raw: parser.lastRaw() })
      },
      malformed(line, raw, message, code) {
        if (code === 'RECORD_TOO_LARGE') {
          events.push({ kind: 'tooLarge', line, raw })
          messages.push(message)
        } else events.push({ kind: 'malformed', line, raw, message })
      }
    },
    1,
    { maxRecordBytes, utf8 }
  )
  const feed = (t: string): void => {
    const pieces = t === '' ? [''] : chunk(t, sizes)
    pieces.forEach((c, k) => parser.push(c, k === pieces.length - 1))
  }
  feed(text)
  let resumes = 0
  while (parser.resumeLine !== null) {
    resumes++
    if (resumes > 1) throw new Error('resumeLine set twice')
    let at = 0
    for (let l = 1; l < parser.resumeLine; l++) at = text.indexOf('\n', at) + 1
    parser.reopen()
    feed(text.slice(at))
  }
  return { events, line: parser.line, endedInsideQuotes: parser.endedInsideQuotes, messages }
}

/** The reference semantics with a limit: every record (or broken one) whose raw text is over the limit is too large instead. */
function referenceLimited(text: string, maxRecordBytes: number, utf8 = true): Omit<LimitedOutcome, 'messages'> {
  const ref = reference(text)
  const events = ref.events.map((e): LimitedEvent => {
    const size = utf8 ? Buffer.byteLength(e.raw, 'utf8') : e.raw.length
    return size > maxRecordBytes ? { kind: 'tooLarge', line: e.line, raw: e.raw.slice(0, RAW_TEXT_LIMIT_CHARS) } : e
  })
  return { events, line: ref.line, endedInsideQuotes: ref.endedInsideQuotes }
}

/** A fresh flat string per call (not a slice of one shared string), as blocks read from a file are. */
function freshText(n: number, ch: string): string {
  return Buffer.alloc(n, ch).toString('latin1')
}

describe('CsvParser record size limit', () => {
  it('passes a record of exactly the limit and fails one byte more, in one push or many', () => {
    const at = '1,' + 'a'.repeat(8) // 10 bytes
    const over = '2,' + 'b'.repeat(9) // 11 bytes
    const text = `${at}\n${over}\r\n3,c\n${at}\r\n`
    for (const sizes of [[text.length], [1], [3], [4, 7]]) {
      const out = parseLimited(text, sizes, 10)
      expect(out.events, `pieces of ${sizes.join('/')}`).toEqual([
        { kind: 'record', fields: ['1', 'aaaaaaaa'], line: 1, raw: at },
        { kind: 'tooLarge', line: 2, raw: over },
        { kind: 'record', fields: ['3', 'c'], line: 3, raw: '3,c' },
        { kind: 'record', fields: ['1', 'aaaaaaaa'], line: 4, raw: at }
      ])
      expect(out.line).toBe(5)
    }
  })

  it('says in the message how big the record is, what the limit is and how to raise it', () => {
    const out = parseLimited('x\n' + 'y'.repeat(3 * 1024 * 1024) + '\nz\n', [64 * 1024], 1024 * 1024)
    expect(out.events.map((e) => [e.kind, e.line])).toEqual([
      ['record', 1],
      ['tooLarge', 2],
      ['record', 3]
    ])
    const message = out.messages[0] ?? ''
    expect(message).toMatch(/at least 3 MiB \(3,145,728 bytes\)/)
    expect(message).toMatch(/more than the 1 MiB allowed for one record/)
    expect(message).toMatch(/policy\.maxRecordSize/)
    expect(message).toMatch(/"4MiB"/)
    // In one push the whole record was in memory anyway: measured exactly.
    expect(parseLimited('y'.repeat(2000) + '\n', [1 << 20], 1000).messages[0]).toMatch(/^the record is 2 KiB \(2,000 bytes\), more than the 1000 bytes allowed/)
  })

  it('keeps only a bounded excerpt of a record too large', () => {
    const big = '1,' + 'p'.repeat(50_000)
    const out = parseLimited(big + '\n2,q\n', [4096], 10_000)
    expect(out.events[0]).toEqual({ kind: 'tooLarge', line: 1, raw: big.slice(0, RAW_TEXT_LIMIT_CHARS) })
    expect(out.events[1]).toMatchObject({ kind: 'record', fields: ['2', 'q'], line: 2 })
  })

  it('follows quoted line breaks, quotes and delimiters through a record too large, and numbers the lines after it', () => {
    const field = ('lorem, "ipsum""\n' + 'z'.repeat(40) + '\r\n').repeat(50) // 100 physical lines
    const big = `7,"${field.replace(/"/g, '""')}",end`
    const text = `h1,h2,h3\n5,a,b\n${big}\n8,c,d\n"9",e,"f\ng"\n10,x,y`
    const expected = [
      { kind: 'record', line: 1 },
      { kind: 'record', line: 2 },
      { kind: 'tooLarge', line: 3 },
      { kind: 'record', line: 104 },
      { kind: 'record', line: 105 },
      { kind: 'record', line: 107 }
    ]
    for (const sizes of [[text.length], [64], [1, 2, 3], [1000]]) {
      const out = parseLimited(text, sizes, 500)
      expect(out.events.map((e) => ({ kind: e.kind, line: e.line })), `pieces of ${sizes.join('/')}`).toEqual(expected)
      expect(out.events[2]?.raw).toBe(big.slice(0, RAW_TEXT_LIMIT_CHARS))
      expect(out.events[4]).toMatchObject({ fields: ['9', 'e', 'f\ng'] })
      expect(out.line).toBe(107)
      expect(out).toMatchObject(referenceLimited(text, 500))
    }
  })

  it('counts UTF-8 bytes, or characters for single-byte encodings', () => {
    const text = 'éééé,😀\nabc\n' // the first record is 4*2 + 1 + 4 = 13 bytes, 7 UTF-16 units
    expect(parseLimited(text, [text.length], 13).events[0]).toMatchObject({ kind: 'record', line: 1 })
    expect(parseLimited(text, [text.length], 12).events[0]).toMatchObject({ kind: 'tooLarge', line: 1 })
    for (const sizes of [[1], [2], [5]]) expect(parseLimited(text, sizes, 12).events[0], `pieces of ${sizes}`).toMatchObject({ kind: 'tooLarge', line: 1 })
    expect(parseLimited(text, [1], 13).events[0]).toMatchObject({ kind: 'record' })
    // Latin-1: one byte per character (the emoji is two UTF-16 units of a decoder's output).
    expect(parseLimited(text, [1], 7, false).events[0]).toMatchObject({ kind: 'record' })
    expect(parseLimited(text, [1], 6, false).events[0]).toMatchObject({ kind: 'tooLarge' })
  })

  it('a quote never closed in a text too large to keep: the first line is the broken record, and parsing goes on from the next line (resumeLine)', () => {
    const rest = Array.from({ length: 200 }, (_, i) => `${i},row ${i}`).join('\n') + '\n'
    const text = 'id,v\n1,"never closed\n' + rest
    const out = parseLimited(text, [50], 300)
    expect(out.events.slice(0, 3)).toEqual([
      { kind: 'record', fields: ['id', 'v'], line: 1, raw: 'id,v' },
      { kind: 'malformed', line: 2, raw: '1,"never closed', message: 'a quote opened on line 2 is never closed' },
      { kind: 'record', fields: ['0', 'row 0'], line: 3, raw: '0,row 0' }
    ])
    expect(out.events).toHaveLength(202)
    expect(out.endedInsideQuotes).toBe(true)
    expect(out).toMatchObject(referenceLimited(text, 300))
    // Without a line break the record runs to the end: it is one line, too large.
    const one = parseLimited('a,b\n1,"' + 'x'.repeat(1000), [64], 300)
    expect(one.events.map((e) => [e.kind, e.line])).toEqual([
      ['record', 1],
      ['tooLarge', 2]
    ])
    expect(one.messages[0]).toMatch(/at least/)
  })

  it('matches the reference semantics with a limit on random inputs, chunkings and limits', () => {
    const rand = rng(424242)
    const cell = (): string => {
      const r = rand()
      if (r < 0.35) return 'v' + 'x'.repeat(Math.floor(rand() * 30))
      if (r < 0.5) return '"q, ""é""\n' + 'y'.repeat(Math.floor(rand() * 40)) + '"'
      if (r < 0.6) return '😀'.repeat(Math.floor(rand() * 6))
      if (r < 0.7) return ''
      if (r < 0.75) return '"bad"x'
      if (r < 0.78) return '"open\n'
      if (r < 0.85) return '\r'
      return 'in"side'
    }
    for (let round = 0; round < 400; round++) {
      let text = ''
      const rows = 1 + Math.floor(rand() * 12)
      for (let row = 0; row < rows; row++) {
        const cols = 1 + Math.floor(rand() * 4)
        const cells: string[] = []
        for (let c = 0; c < cols; c++) cells.push(cell())
        text += cells.join(',') + (rand() < 0.5 ? '\n' : '\r\n')
        if (rand() < 0.1) text += '\n'
      }
      if (rand() < 0.3) text = text.replace(/\r?\n$/, '')
      const limit = [4, 12, 30, 80, 200][Math.floor(rand() * 5)] as number
      const utf8 = rand() < 0.8
      const expected = referenceLimited(text, limit, utf8)
      const sizes = [1 + Math.floor(rand() * 9), 1 + Math.floor(rand() * 40)]
      const where = `${JSON.stringify(text)} limit ${limit} utf8 ${utf8} pieces ${sizes}`
      expect(parseLimited(text, [text.length || 1], limit, utf8), where).toMatchObject(expected)
      expect(parseLimited(text, sizes, limit, utf8), where).toMatchObject(expected)
    }
  })

  it('skips a 64 MiB record pushed in 64 KiB blocks without holding it (heap stays bounded)', () => {
    const BLOCK = 64 * 1024
    const events: string[] = []
    const parser = new CsvParser(
      COMMA,
      {
        record: (fields, line) => events.push(`${line}:${fields.join('|')}`),
        malformed: (line, raw, message, code) => events.push(`${line}:${code}:${raw.length}:${message.slice(0, 29)}`)
      },
      1,
      { maxRecordBytes: 1 << 20 }
    )
    globalThis.gc?.()
    const base = process.memoryUsage().heapUsed
    let peak = 0
    parser.push('a,b\n1,"', false)
    // Quoted line breaks, delimiters and doubled quotes all through it: one '\n' per 64 blocks.
    const mixed = 'y,""' + 'z'.repeat(BLOCK - 5) + '\n'
    for (let k = 0; k < 1024; k++) {
      parser.push(k % 64 === 0 ? Buffer.from(mixed, 'latin1').toString('latin1') : freshText(BLOCK, 'x'), false)
      if (k % 16 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - base)
    }
    parser.push('",z\n2,c\n', true)
    expect(events).toEqual(['1:a|b', `2:RECORD_TOO_LARGE:${RAW_TEXT_LIMIT_CHARS}:the record is at least 64 MiB`, '19:2|c'])
    // Holding the record would take 64 MB and more; blocks are garbage as soon as they are parsed.
    expect(peak).toBeLessThan(32 * 1024 * 1024)
  })
})

describe('JsonlParser record size limit', () => {
  function parseJsonl(text: string, sizes: number[], maxRecordBytes: number, utf8 = true): { events: string[]; messages: string[]; line: number } {
    const events: string[] = []
    const messages: string[] = []
    const parser = new JsonlParser(
      {
        record: (rec, line, raw) => events.push(`${line} record ${raw}`),
        malformed: (line, raw, message, code) => {
          events.push(`${line} ${code} ${raw}`)
          messages.push(message)
        }
      },
      1,
      { maxRecordBytes, utf8 }
    )
    const pieces = chunk(text, sizes)
    pieces.forEach((c, k) => parser.push(c, k === pieces.length - 1))
    return { events, messages, line: parser.line }
  }

  it('passes a line of exactly the limit and fails one byte more, with the lines after it numbered right', () => {
    const at = '{"a":"' + 'x'.repeat(10) + '"}' // 18 bytes
    const over = '{"a":"' + 'x'.repeat(11) + '"}' // 19 bytes
    const text = `${at}\n${over}\r\n\n{"b":1}\r\n${at}`
    for (const sizes of [[text.length], [1], [5], [3, 17]]) {
      const out = parseJsonl(text, sizes, 18)
      expect(out.events, `pieces of ${sizes}`).toEqual([`1 record ${at}`, `2 RECORD_TOO_LARGE ${over}`, '4 record {"b":1}', `5 record ${at}`])
      expect(out.messages[0]).toMatch(/19 bytes.*more than the 18 bytes allowed.*policy\.maxRecordSize/)
    }
  })

  it('counts UTF-8 bytes of a line', () => {
    const line = '{"a":"ééé"}' // 14 bytes, 11 characters
    expect(parseJsonl(line + '\n', [1], 14).events).toEqual([`1 record ${line}`])
    expect(parseJsonl(line + '\n', [1], 13).events).toEqual([`1 RECORD_TOO_LARGE ${line}`])
    expect(parseJsonl(line + '\n', [1], 11, false).events).toEqual([`1 record ${line}`])
  })

  it('skips a 64 MiB line pushed in 64 KiB blocks without holding it, and goes on after it', () => {
    const events: string[] = []
    const parser = new JsonlParser(
      {
        record: (_rec, line, raw) => events.push(`${line} ${raw}`),
        malformed: (line, raw, message, code) => events.push(`${line} ${code} ${raw.length} ${message.slice(0, 29)}`)
      },
      1,
      { maxRecordBytes: 1 << 20 }
    )
    globalThis.gc?.()
    const base = process.memoryUsage().heapUsed
    let peak = 0
    parser.push('{"n":1}\n{"big":"', false)
    for (let k = 0; k < 1024; k++) {
      parser.push(freshText(64 * 1024, 'x'), false)
      if (k % 16 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - base)
    }
    parser.push('"}\r\n   \n{"n":3}', true)
    expect(events).toEqual(['1 {"n":1}', `2 RECORD_TOO_LARGE ${RAW_TEXT_LIMIT_CHARS} the record is at least 64 MiB`, '4 {"n":3}'])
    expect(peak).toBeLessThan(32 * 1024 * 1024)
  })

  it('a huge line of white space is a blank line, not a record', () => {
    expect(parseJsonl('{"a":1}\n' + ' '.repeat(5000) + '\n{"a":2}\n', [100], 1000).events).toEqual(['1 record {"a":1}', '3 record {"a":2}'])
  })
})
