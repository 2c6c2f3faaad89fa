import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { scanJsonArray } from '../../src/main/engine/scan-json-array'
import { JsonArrayParser, type JsonArrayOptions } from '../../src/workers/formats/json-array-parser'
import { mulberry32 } from '../helpers/orders'
import { tempDir } from '../helpers/cli'

type Event = ['record', number, Record<string, unknown>] | ['bad', number, string, string]

/** Parse text pushed in pieces of `step` characters. */
function parse(text: string, step = text.length || 1, opts: JsonArrayOptions = {}, firstLine = 1): Event[] {
  const events: Event[] = []
  const p = new JsonArrayParser(
    {
      record: (rec, line) => events.push(['record', line, rec]),
      malformed: (line, _raw, message, code) => events.push(['bad', line, code, message])
    },
    firstLine,
    opts
  )
  if (text.length === 0) p.push('', true)
  for (let i = 0; i < text.length; i += step) p.push(text.slice(i, i + step), i + step >= text.length)
  return events
}

const lines = (events: Event[]): [string, number][] => events.map((e) => [e[0], e[1]])

describe('JSON array parser', () => {
  it('reads an array of objects, each with the line it starts on, whatever the pieces', () => {
    const text = '[\n  {"id": 1, "s": "a,b]}"},\n  {\n    "id": 2,\n    "nested": {"x": [1, 2, {"y": "\\"}"}]}\n  },\n  {"id": 3}\n]\n'
    const expected: Event[] = [
      ['record', 2, { id: 1, s: 'a,b]}' }],
      ['record', 3, { id: 2, nested: { x: [1, 2, { y: '"}' }] } }],
      ['record', 7, { id: 3 }]
    ]
    for (const step of [1, 2, 3, 7, 1000]) expect(parse(text, step), `step ${step}`).toEqual(expected)
  })

  it('an empty array has no records; a BOM and a trailing comma are fine', () => {
    expect(parse('[]')).toEqual([])
    expect(parse(' \n[ \n ]\n')).toEqual([])
    expect(parse('\uFEFF[{"a":1},]')).toEqual([['record', 1, { a: 1 }]])
    expect(parse('')).toEqual([])
  })

  it('a malformed element is one failed record at its line; the elements after it are read', () => {
    const text = '[\n{"id": 1},\n{"id": 2, "amount": },\n{"id": 3},\n42,\n[1, 2],\nnull,\n{"id": 9007199254740993},\n{"id": 4}\n]'
    const events = parse(text, 5)
    expect(lines(events)).toEqual([
      ['record', 2],
      ['bad', 3],
      ['record', 4],
      ['bad', 5],
      ['bad', 6],
      ['bad', 7],
      ['bad', 8],
      ['record', 9]
    ])
    expect(events[1]?.[3]).toMatch(/not valid JSON/)
    expect(events[3]?.[3]).toMatch(/must be a JSON object.*a number/)
    expect(events[4]?.[3]).toMatch(/an array/)
    expect(events[6]?.[3]).toMatch(/cannot be kept exactly/)
  })

  it('says plainly when the file is not an array, is cut short, or goes on after the array', () => {
    const notArray = parse('{"id": 1}\n{"id": 2}\n')
    expect(notArray).toHaveLength(1)
    expect(notArray[0]?.[3]).toMatch(/does not hold a JSON array: it starts with "\{".*use the format "jsonl"/)
    const cut = parse('[\n{"id": 1},\n{"id": 2, "na')
    expect(lines(cut)).toEqual([
      ['record', 2],
      ['bad', 3],
      ['bad', 3]
    ])
    expect(cut[1]?.[3]).toMatch(/file ends inside this element/)
    expect(cut[2]?.[3]).toMatch(/never closed/)
    const unclosed = parse('[{"id": 1},\n{"id": 2}\n')
    expect(lines(unclosed)).toEqual([
      ['record', 1],
      ['record', 2],
      ['bad', 3]
    ])
    const after = parse('[{"id": 1}]\n[{"id": 2}]')
    expect(lines(after)).toEqual([
      ['record', 1],
      ['bad', 2]
    ])
    expect(after[1]?.[3]).toMatch(/text after the end of the array \(it closed on line 1\)/)
    const big = parse('[{"x": 1e400}, {"x": -2.5E-300, "s": "1234567890123456789"}]')
    expect(big.map((e) => e[0])).toEqual(['bad', 'record'])
    expect(big[0]?.[3]).toMatch(/the number 1e400 cannot be kept exactly/)
    expect(lines(parse('[{"a":1},,{"b":2}]'))).toEqual([
      ['record', 1],
      ['bad', 1],
      ['record', 1]
    ])
  })

  it('an element over the size limit is skipped without being held, and the rest is read', () => {
    const big = `{"x": "${'y'.repeat(5000)}"}`
    const events = parse(`[\n{"id": 1},\n${big},\n{"id": 2}\n]`, 1000, { maxRecordBytes: 1000 })
    expect(lines(events)).toEqual([
      ['record', 2],
      ['bad', 3],
      ['record', 4]
    ])
    expect(events[1]?.[2]).toBe('RECORD_TOO_LARGE')
  })
})

/** A pretty-printed array with broken elements, nested values and strings full of structure. */
function randomArray(n: number, seed: number): string {
  const rnd = mulberry32(seed)
  const parts: string[] = []
  for (let i = 0; i < n; i++) {
    const r = rnd()
    if (r < 0.03) parts.push(`{"id": ${i}, "bad": }`)
    else if (r < 0.05) parts.push(`"just text, with a ] and a , in it"`)
    else if (r < 0.3) parts.push(JSON.stringify({ id: i, note: `a "quote", a \\ backslash, ]}{[ and ${'é'.repeat(i % 5)}`, tags: [i, { deep: [i] }] }, null, 2))
    else parts.push(JSON.stringify({ id: i, amount: Math.round(rnd() * 10000) / 100 }))
  }
  return '\uFEFF[\n' + parts.join(',\n') + '\n]\n'
}

describe('JSON array scan and split', () => {
  it('a split array gives exactly the records, failures and lines of one read whole', () => {
    const dir = tempDir()
    for (const seed of [1, 2, 3]) {
      const text = randomArray(3000, seed)
      const file = join(dir, `a${seed}.json`)
      writeFileSync(file, text)
      const whole = parse(text, 65536)
      expect(whole.filter((e) => e[0] === 'record').length).toBeGreaterThan(2500)
      const scan = scanJsonArray(file, 4096)
      expect(scan.notArray).toBeNull()
      expect(scan.partitions.length).toBeGreaterThan(20)
      const bytes = Buffer.from(text)
      const split: Event[] = []
      scan.partitions.forEach((p, i) => {
        const piece = bytes.subarray(p.start, p.end).toString('utf8')
        split.push(...parse(piece, 777, { continued: p.start > 0, last: i === scan.partitions.length - 1 }, p.firstLine))
      })
      expect(split).toEqual(whole)
      // Partitions tile the file.
      expect(scan.partitions[0]?.start).toBe(0)
      expect(scan.partitions.at(-1)?.end).toBe(bytes.length)
    }
  })

  it('finds a file that is not an array, and a blank one', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'lines.json'), '{"a": 1}\n{"a": 2}\n')
    writeFileSync(join(dir, 'blank.json'), ' \n\n')
    expect(scanJsonArray(join(dir, 'lines.json'), 1024)).toMatchObject({ notArray: '{"a": 1}\n{"a": 2}\n', partitions: [] })
    expect(scanJsonArray(join(dir, 'blank.json'), 1024)).toMatchObject({ blank: true, notArray: null, partitions: [] })
  })
})
