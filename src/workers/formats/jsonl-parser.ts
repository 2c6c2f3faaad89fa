// JSON lines: one JSON object per line. Incremental like the CSV parser: text arrives in blocks.
import { RAW_TEXT_LIMIT_CHARS, recordTooLargeMessage } from '../../shared/failures'
import { headOf, resolveLimit, utf8Length, type ReadFailure, type RecordLimit } from './csv-parser'

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
  /** A line that is not a record: bad JSON, or (RECORD_TOO_LARGE) longer than the limit, with only its first characters as `raw`. */
  malformed(line: number, raw: string, message: string, code: ReadFailure): void
}

const NOT_BLANK = /\S/

/**
 * The limit on a record's size works as in the CSV parser (see csv-parser.ts): a line carried
 * between pushes that passes it is no longer kept, only followed to its '\n'.
 */
export class JsonlParser {
  /** The line in progress, from earlier texts. */
  private parts: string[] = []
  private partsChars = 0
  /** UTF-8 size of `parts` once they are near the limit (-1 before). */
  private partsBytes = -1
  private skipping = false
  /** Skipped line: bytes so far (a lower bound), its first characters, and whether it holds more than white space. */
  private skipSize = 0
  private skipExcerpt = ''
  private skipNonBlank = false
  private skipEndCR = false
  private readonly maxBytes: number
  private readonly utf8: boolean
  private readonly gray: number
  line: number

  constructor(
    private readonly sink: JsonlSink,
    firstLine: number,
    limit?: RecordLimit
  ) {
    this.line = firstLine
    const { max, utf8, gray } = resolveLimit(limit)
    this.maxBytes = max
    this.utf8 = utf8
    this.gray = gray
  }

  push(text: string, final: boolean): void {
    let pos = 0
    for (;;) {
      const nl = text.indexOf('\n', pos)
      if (nl === -1) break
      if (this.skipping) this.endSkipped(text, pos, nl)
      else if (this.partsChars > 0 || this.parts.length > 0) {
        const s = this.parts.join('') + text.slice(pos, nl)
        this.clearParts()
        this.one(s, 0, s.length)
      } else this.one(text, pos, nl)
      pos = nl + 1
    }
    if (pos < text.length) this.carry(text, pos)
    if (final) {
      if (this.skipping) this.endSkipped(text, text.length, text.length)
      else if (this.parts.length > 0) {
        const s = this.parts.join('')
        this.clearParts()
        this.one(s, 0, s.length)
      }
    }
  }

  /** Keeps text[pos..] as the start of the line in progress, or only counts it once the line is over the limit. */
  private carry(text: string, pos: number): void {
    const n = text.length
    if (this.skipping) {
      this.skipSize += n - pos
      if (!this.skipNonBlank) this.skipNonBlank = NOT_BLANK.test(text.slice(pos))
      this.skipEndCR = text.charCodeAt(n - 1) === 13
      return
    }
    const part = text.slice(pos)
    this.parts.push(part)
    this.partsChars += part.length
    if (this.partsChars <= this.gray) return
    // A '\r' at the very end may be half of "\r\n": left out until the next text says.
    const cr = part.charCodeAt(part.length - 1) === 13 ? 1 : 0
    let size = this.partsChars - cr
    if (size <= this.maxBytes && this.utf8) {
      if (this.partsBytes < 0) {
        this.partsBytes = 0
        for (const p of this.parts) this.partsBytes += utf8Length(p, 0, p.length)
      } else this.partsBytes += utf8Length(part, 0, part.length)
      size = this.partsBytes - cr
    }
    if (size <= this.maxBytes) return
    this.skipping = true
    this.skipSize = size
    this.skipExcerpt = headOf(this.parts, '')
    this.skipNonBlank = this.parts.some((p) => NOT_BLANK.test(p))
    this.skipEndCR = false
    this.clearParts()
  }

  private clearParts(): void {
    this.parts = []
    this.partsChars = 0
    this.partsBytes = -1
  }

  /** The skipped line ends at text[nl] (or at the end of the input). */
  private endSkipped(text: string, pos: number, nl: number): void {
    const line = this.line++
    let size = this.skipSize + (nl - pos)
    if (nl > pos ? text.charCodeAt(nl - 1) === 13 : this.skipEndCR) size--
    const nonBlank = this.skipNonBlank || NOT_BLANK.test(text.slice(pos, nl))
    const excerpt = this.skipExcerpt
    this.skipping = false
    this.skipExcerpt = ''
    this.skipNonBlank = false
    // A line of white space is not a record, however long.
    if (nonBlank) this.sink.malformed(line, excerpt, recordTooLargeMessage(size, this.maxBytes, true), 'RECORD_TOO_LARGE')
  }

  private one(s: string, start: number, nl: number): void {
    const line = this.line++
    let end = nl
    if (end > start && s.charCodeAt(end - 1) === 13) end--
    if (end === start) return
    const raw = s.slice(start, end)
    if (raw.trim() === '') return
    if (end - start > this.gray) {
      const size = this.utf8 ? utf8Length(raw, 0, raw.length) : raw.length
      if (size > this.maxBytes) {
        this.sink.malformed(line, raw.slice(0, RAW_TEXT_LIMIT_CHARS), recordTooLargeMessage(size, this.maxBytes, false), 'RECORD_TOO_LARGE')
        return
      }
    }
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (e) {
      this.sink.malformed(line, raw, `not valid JSON: ${(e as Error).message}`, 'PARSE_ERROR')
      return
    }
    const inexact = LONG_NUMBER.test(raw) ? inexactNumber(raw) : null
    if (inexact !== null) {
      this.sink.malformed(line, raw, `the number ${inexact.length > 40 ? inexact.slice(0, 40) + '…' : inexact} cannot be kept exactly (more digits than a number holds); write it as a string ("…") in the file`, 'PARSE_ERROR')
      return
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`
      this.sink.malformed(line, raw, `each line must hold a JSON object ({...}); this one holds ${what}`, 'PARSE_ERROR')
      return
    }
    this.sink.record(value as Record<string, unknown>, line, raw)
  }
}
