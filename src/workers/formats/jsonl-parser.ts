// JSON lines: one JSON object per line. Incremental like the CSV parser: text arrives in blocks.

/** Cheap pre-check: only lines with a long digit run or a big exponent can hold an inexact number. */
const LONG_NUMBER = /\d{16}|[eE][+-]?\d{3}/

/**
 * The first number literal outside strings that JSON.parse would change (too many digits for a
 * double, or out of range), or null. Values are written as read, so such a line must fail
 * rather than be rewritten silently (9007199254740993 would become ...992).
 */
export function inexactNumber(raw: string): string | null {
  let inString = false
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (inString) {
      if (c === 92) i++
      else if (c === 34) inString = false
      continue
    }
    if (c === 34) {
      inString = true
      continue
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(raw.slice(i, i + 400))
      if (!m) continue
      const tok = m[0]
      const n = Number(tok)
      const digits = tok.replace(/^-/, '').split(/[eE]/)[0]?.replace('.', '').replace(/^0+/, '') ?? ''
      if (!Number.isFinite(n) || (!m[1] && !m[2] && !Number.isSafeInteger(n)) || digits.replace(/0+$/, '').length > 17) return tok
      i += tok.length - 1
    }
  }
  return null
}

export interface JsonlSink {
  record(rec: Record<string, unknown>, line: number, raw: string): void
  malformed(line: number, raw: string, message: string): void
}

export class JsonlParser {
  private carry = ''
  line: number

  constructor(
    private readonly sink: JsonlSink,
    firstLine: number
  ) {
    this.line = firstLine
  }

  push(text: string, final: boolean): void {
    const s = this.carry ? this.carry + text : text
    let pos = 0
    for (;;) {
      const nl = s.indexOf('\n', pos)
      if (nl === -1) break
      this.one(s, pos, nl)
      pos = nl + 1
    }
    this.carry = s.slice(pos)
    if (final && this.carry) {
      this.one(this.carry, 0, this.carry.length)
      this.carry = ''
    }
  }

  private one(s: string, start: number, nl: number): void {
    const line = this.line++
    let end = nl
    if (end > start && s.charCodeAt(end - 1) === 13) end--
    if (end === start) return
    const raw = s.slice(start, end)
    if (raw.trim() === '') return
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (e) {
      this.sink.malformed(line, raw, `not valid JSON: ${(e as Error).message}`)
      return
    }
    const inexact = LONG_NUMBER.test(raw) ? inexactNumber(raw) : null
    if (inexact !== null) {
      this.sink.malformed(line, raw, `the number ${inexact.length > 40 ? inexact.slice(0, 40) + '…' : inexact} cannot be kept exactly (more digits than a number holds); write it as a string ("…") in the file`)
      return
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`
      this.sink.malformed(line, raw, `each line must hold a JSON object ({...}); this one holds ${what}`)
      return
    }
    this.sink.record(value as Record<string, unknown>, line, raw)
  }
}
