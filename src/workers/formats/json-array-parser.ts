// JSON arrays: a file holding one top-level array of objects, [ {...}, {...} ], read as it streams.
// Incremental like the other parsers: text arrives in blocks, and only the element in progress is
// held, never the whole array.
//
// Elements are found by structure alone: strings (with their escapes) and nesting are followed,
// and an element ends at a comma or the closing "]" outside any string or nested value. Each
// element's text is then parsed with JSON.parse. A malformed element is one failed record, with
// the line where it starts; the elements after it are read as usual. The same structural rules,
// applied to bytes, let the planner split a big array into partitions (json-array-scan.ts): a
// partition starts right after a comma that ends an element, where this parser, started with
// `continued`, is in exactly the state a parser that read the file from its start would be in.
import { RAW_TEXT_LIMIT_CHARS, recordTooLargeMessage } from '../../shared/failures'
import { inexactNumber } from './jsonl-parser'

export interface JsonArraySink {
  record(rec: Record<string, unknown>, line: number, raw: string): void
  /** An element that is not a record (bad JSON, not an object, too large), or text that is not part of the array. */
  malformed(line: number, raw: string, message: string, code: 'PARSE_ERROR' | 'RECORD_TOO_LARGE'): void
}

export interface JsonArrayOptions {
  /** The text starts inside the array, right after the comma that ended an element (a partition other than the first). */
  continued?: boolean
  /** The text runs to the end of the file: the array must close in it. Default true. */
  last?: boolean
  /** Largest element, in bytes of its text (UTF-8 unless `utf8` is false). Default 16 MiB. */
  maxRecordBytes?: number
  utf8?: boolean
}

const DEFAULT_MAX_ELEMENT_BYTES = 16 * 1024 * 1024

// Where the parser is.
const BEFORE = 0 // before the opening "["
const BETWEEN = 1 // inside the array, where an element or "]" may come
const ELEMENT = 2 // inside an element
const AFTER = 3 // after the closing "]"
const IGNORE = 4 // the file is not an array, or text follows the array: nothing more is read

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9
}

/** UTF-8 length of a string (what it took in the file, if the file was UTF-8). */
function utf8Bytes(s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80) n += c < 0x800 || (c & 0xf800) === 0xd800 ? 1 : 2
  }
  return n
}

export class JsonArrayParser {
  private state: number
  /** The line of the next character. */
  line: number
  private readonly last: boolean
  private readonly maxBytes: number
  private readonly utf8: boolean
  private atStart: boolean

  // The element in progress.
  private parts: string[] = []
  private partsChars = 0
  private elementLine = 0
  private nest = 0
  private inString = false
  private escaped = false
  /** The element passed the size limit: only its first characters are kept and its size counted. */
  private oversized = false
  private oversizedChars = 0
  private excerpt = ''
  /** Line of the "]" that closed the array, for the message about text after it. */
  private closedOn = 0
  // In the text being pushed: the next backslash and the next line feed at or after where they
  // were last looked for (the text's length when there is none), so that strings are skipped
  // with indexOf, and each of these searches moves forward only: O(text) per push.
  private nextBackslash = -1
  private nextLf = -1
  // Numbers outside strings, as the element is scanned: only an element with a run of 16 digits or
  // an exponent of 3 digits can hold a number JSON.parse would change (checked then, exactly).
  private digits = 0
  /** Where the digits run started: 0 elsewhere, 1 after an "e", 2 after "e+" or "e-". */
  private marker = 0
  private exponent = false
  private longNumber = false

  constructor(
    private readonly sink: JsonArraySink,
    firstLine: number,
    opts: JsonArrayOptions = {}
  ) {
    this.line = firstLine
    this.state = opts.continued ? BETWEEN : BEFORE
    this.atStart = !opts.continued
    this.last = opts.last ?? true
    this.maxBytes = Math.max(0, Math.floor(opts.maxRecordBytes ?? DEFAULT_MAX_ELEMENT_BYTES))
    this.utf8 = opts.utf8 ?? true
  }

  push(text: string, final: boolean): void {
    let i = 0
    const n = text.length
    this.nextBackslash = -1
    this.nextLf = -1
    if (this.atStart && n > 0) {
      this.atStart = false
      if (text.charCodeAt(0) === 0xfeff) i = 1
    }
    while (i < n) {
      switch (this.state) {
        case BEFORE: {
          const c = text.charCodeAt(i)
          if (isSpace(c)) {
            if (c === 10) this.line++
            i++
          } else if (c === 91) {
            this.state = BETWEEN
            i++
          } else {
            this.sink.malformed(this.line, text.slice(i, i + 200), notAnArrayMessage(text.charAt(i)), 'PARSE_ERROR')
            this.state = IGNORE
            i = n
          }
          break
        }
        case BETWEEN: {
          const c = text.charCodeAt(i)
          if (isSpace(c)) {
            if (c === 10) this.line++
            i++
          } else if (c === 93) {
            // "]" right after "[" or after an element's comma (a trailing comma is tolerated).
            this.closedOn = this.line
            this.state = AFTER
            i++
          } else if (c === 44) {
            this.sink.malformed(this.line, ',', 'an empty element: two commas in a row, or a comma right after "["', 'PARSE_ERROR')
            i++
          } else {
            this.elementLine = this.line
            this.nest = 0
            this.inString = false
            this.escaped = false
            this.digits = 0
            this.marker = 0
            this.longNumber = false
            this.state = ELEMENT
            i = this.scanElement(text, i)
          }
          break
        }
        case ELEMENT:
          i = this.scanElement(text, i)
          break
        case AFTER: {
          const c = text.charCodeAt(i)
          if (isSpace(c)) {
            if (c === 10) this.line++
            i++
          } else {
            this.sink.malformed(this.line, text.slice(i, i + RAW_TEXT_LIMIT_CHARS), `text after the end of the array (it closed on line ${this.closedOn}); a file holds one array`, 'PARSE_ERROR')
            this.state = IGNORE
            i = n
          }
          break
        }
        default:
          i = n
      }
    }
    if (!final) return
    if (this.state === ELEMENT) {
      this.endElement('', ' (the file ends inside this element: is it cut short?)')
      this.state = BETWEEN
      if (this.last) this.unclosed()
    } else if (this.state === BETWEEN && this.last) {
      this.unclosed()
    }
  }

  private unclosed(): void {
    this.sink.malformed(this.line, '', 'the array is never closed: the file ends before its closing "]" (is it cut short?)', 'PARSE_ERROR')
    this.state = IGNORE
  }

  /** Scan an element from `from`; returns where scanning stopped (the text's end, or just after the element's end). */
  private scanElement(text: string, from: number): number {
    const n = text.length
    let i = from
    let nest = this.nest
    let inString = this.inString
    let escaped = this.escaped
    let line = this.line
    let digits = this.digits
    let marker = this.marker
    for (; i < n; i++) {
      if (inString) {
        if (escaped) {
          escaped = false
          if (text.charCodeAt(i) === 10) line++
          continue
        }
        // Skip to the string's closing quote or its next escape, counting the line feeds passed.
        let quote = text.indexOf('"', i)
        if (quote === -1) quote = n
        if (this.nextBackslash < i) {
          const b = text.indexOf('\\', i)
          this.nextBackslash = b === -1 ? n : b
        }
        const stop = this.nextBackslash < quote ? this.nextBackslash : quote
        if (this.nextLf < i) {
          const f = text.indexOf('\n', i)
          this.nextLf = f === -1 ? n : f
        }
        while (this.nextLf < stop) {
          line++
          const f = text.indexOf('\n', this.nextLf + 1)
          this.nextLf = f === -1 ? n : f
        }
        if (stop === n) {
          i = n
          break
        }
        if (stop === quote) inString = false
        else escaped = true
        i = stop
        continue
      }
      const c = text.charCodeAt(i)
      if (c <= 57 && c >= 48) {
        if (digits === 0) this.exponent = marker !== 0
        digits++
        if (digits >= 16 || (this.exponent && digits >= 3)) this.longNumber = true
        continue
      }
      digits = 0
      marker = c === 101 || c === 69 ? 1 : (c === 43 || c === 45) && marker === 1 ? 2 : 0
      if (c === 34) inString = true
      else if (c === 123 || c === 91) nest++
      else if (c === 125 || c === 93) {
        if (nest > 0) nest--
        else if (c === 93) {
          this.line = line
          this.nest = 0
          this.endElement(text.slice(from, i), '')
          this.closedOn = line
          this.state = AFTER
          return i + 1
        }
      } else if (c === 44 && nest === 0) {
        this.line = line
        this.nest = 0
        this.endElement(text.slice(from, i), '')
        this.state = BETWEEN
        return i + 1
      } else if (c === 10) line++
    }
    // The element goes on in the next text.
    this.line = line
    this.digits = digits
    this.marker = marker
    this.nest = nest
    this.inString = inString
    this.escaped = escaped
    this.keep(text.slice(from))
    return n
  }

  private keep(piece: string): void {
    if (this.oversized) {
      this.oversizedChars += piece.length
      return
    }
    this.parts.push(piece)
    this.partsChars += piece.length
    // Checked once per text (64 KiB at a time): what is held stays within the limit plus one block.
    if (this.partsChars * 3 > this.maxBytes || !this.utf8) {
      const size = this.utf8 ? this.parts.reduce((s, p) => s + utf8Bytes(p), 0) : this.partsChars
      if (size > this.maxBytes) {
        this.oversized = true
        this.oversizedChars = size
        this.excerpt = this.parts.join('').slice(0, RAW_TEXT_LIMIT_CHARS)
        this.parts = []
        this.partsChars = 0
      }
    }
  }

  private endElement(tail: string, note: string): void {
    const line = this.elementLine
    if (this.oversized) {
      const size = this.oversizedChars + tail.length
      this.oversized = false
      this.oversizedChars = 0
      const excerpt = this.excerpt
      this.excerpt = ''
      this.sink.malformed(line, excerpt, recordTooLargeMessage(size, this.maxBytes, true), 'RECORD_TOO_LARGE')
      return
    }
    let raw = this.parts.length ? this.parts.join('') + tail : tail
    this.parts = []
    this.partsChars = 0
    raw = raw.trimEnd()
    // A UTF-8 character is at most 3 bytes per UTF-16 unit: short elements need no counting.
    const size = this.utf8 && raw.length * 3 > this.maxBytes ? utf8Bytes(raw) : raw.length
    if (size > this.maxBytes) {
      this.sink.malformed(line, raw.slice(0, RAW_TEXT_LIMIT_CHARS), recordTooLargeMessage(size, this.maxBytes, false), 'RECORD_TOO_LARGE')
      return
    }
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (e) {
      this.sink.malformed(line, raw, `not valid JSON: ${(e as Error).message}${note}`, 'PARSE_ERROR')
      return
    }
    const inexact = this.longNumber ? inexactNumber(raw) : null
    if (inexact !== null) {
      this.sink.malformed(
        line,
        raw,
        `the number ${inexact.length > 40 ? inexact.slice(0, 40) + '…' : inexact} cannot be kept exactly (more digits than a number holds); write it as a string ("…") in the file`,
        'PARSE_ERROR'
      )
      return
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`
      this.sink.malformed(line, raw, `each element of the array must be a JSON object ({...}); this one is ${what}`, 'PARSE_ERROR')
      return
    }
    this.sink.record(value as Record<string, unknown>, line, raw)
  }
}

export function notAnArrayMessage(first: string): string {
  const shown = first === '{' ? '"{" (one object, or JSON lines?)' : JSON.stringify(first)
  return `the file does not hold a JSON array: it starts with ${shown}, not "["; for one object per line, use the format "jsonl"`
}
