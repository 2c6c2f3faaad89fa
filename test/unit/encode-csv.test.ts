// The CSV/TSV encoder (src/workers/formats/encode.ts) decides quoting with one regular expression
// per delimiter; it must quote exactly the cells the four includes() it replaced quoted.
import { describe, expect, it } from 'vitest'
import { csvHeaderLine, recordEncoder } from '../../src/workers/formats/encode'

/** The encoder as it was: the reference. */
function referenceCell(v: unknown, delimiter: string): string {
  let s: string
  if (v === null || v === undefined) return ''
  if (typeof v === 'string') s = v
  else if (typeof v === 'number' || typeof v === 'boolean') s = String(v)
  else s = JSON.stringify(v)
  if (s.includes(delimiter) || s.includes('"') || s.includes('\n') || s.includes('\r')) return '"' + s.replaceAll('"', '""') + '"'
  return s
}
const referenceLine = (rec: Record<string, unknown>, columns: string[], d: string): string =>
  columns.map((c) => referenceCell(Object.hasOwn(rec, c) ? rec[c] : null, d)).join(d) + '\n'

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ALPHABET = ['a', 'Z', '0', ' ', ',', ';', '\t', '|', '"', "'", '\n', '\r', '\\', ']', '[', '^', '-', '.', 'é', '€', '\ud83d', '\ude00', '\u2028', '\u0000', '\u001f']
const DELIMITERS = [',', ';', '\t', '|', ']', '^', '-', '\\', '.', '€', '\ud83d', 'a', '0', ', ', '']

describe('CSV encoder quoting', () => {
  it('matches the includes() reference on random values, for every delimiter', () => {
    const r = rng(7)
    const word = (): string => Array.from({ length: Math.floor(r() * 6) }, () => ALPHABET[Math.floor(r() * ALPHABET.length)]).join('')
    const value = (): unknown => {
      const k = r()
      if (k < 0.6) return word()
      if (k < 0.7) return [1.5, -0, NaN, -Infinity, 1e21, 0.1, -3][Math.floor(r() * 7)]
      if (k < 0.75) return r() < 0.5
      if (k < 0.8) return null
      if (k < 0.85) return undefined
      return { x: word(), y: [word(), 1] }
    }
    const columns = ['a', 'b,c', 'd"e', 'f\ng', '1', '__proto__', '']
    for (const d of DELIMITERS) {
      expect(csvHeaderLine(columns, d)).toBe(columns.map((c) => referenceCell(c, d)).join(d) + '\n')
      const encode = recordEncoder(d === '\t' ? 'tsv' : 'csv', columns, d)
      for (let i = 0; i < 3000; i++) {
        const rec: Record<string, unknown> = Object.create(null)
        for (const c of columns) if (r() < 0.9) rec[c] = value()
        expect(encode(rec)).toBe(referenceLine(rec, columns, d))
      }
    }
  })
})

describe('quoting "all"', () => {
  it('quotes every value and the header, doubles quotes, and leaves no value (null) empty so it differs from ""', () => {
    const encode = recordEncoder('csv', ['a', 'b', 'c', 'd'], ';', 'all')
    expect(encode({ a: 'x', b: '', c: null, d: 'say "hi"; ok' })).toBe('"x";"";;"say ""hi""; ok"\n')
    expect(encode({ a: 12.5, b: true })).toBe('"12.5";"true";;\n')
    expect(csvHeaderLine(['id', 'name'], ',', 'all')).toBe('"id","name"\n')
    // the default is unchanged
    expect(recordEncoder('csv', ['a', 'b'], ',')({ a: 'x', b: '' })).toBe('x,\n')
  })
})
