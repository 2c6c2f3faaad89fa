// Incremental CSV record parser for the worker hot path. Pure string
// processing (no node: imports) so it runs unchanged in worker threads and
// tests.
//
// Two paths:
// - fast: a whole line inside the current text with no quote character is
//   split with String.prototype.split, which measured fastest
//   (/work/shared/bench/lib/t.mjs). The next quote index is cached, so the
//   quote scan over a text is a single forward pass.
// - slow: a resumable state machine for lines holding a quote and for any
//   record that runs past the end of the pushed text. Its state survives
//   between pushes, so a record longer than a block (a 10 MB quoted field) is
//   scanned once, not again from its start on every push.
//
// Record size limit: a record is held whole until it ends, so one enormous
// record (a 1 GB line) would exhaust memory. A record larger than
// maxRecordBytes is reported as RECORD_TOO_LARGE instead: once what is carried
// between pushes passes the limit, the parser stops keeping the record's text
// (only a short excerpt) and runs the same state machine to find where the
// record ends, so line numbers and the records after it stay right. Sizes are
// bytes of the record's text without its line end: UTF-8 bytes, or one per
// character for single-byte encodings. Counting UTF-8 bytes costs a scan, so
// it is done only for records long enough to be near the limit (a character
// is at most 3 UTF-8 bytes per UTF-16 unit).

import { DEFAULT_MAX_RECORD_BYTES, RAW_TEXT_LIMIT_CHARS, recordTooLargeMessage } from '../../shared/failures'

export interface CsvDialect {
  /** One char, e.g. ',', '\t', ';', '|'. */
  delimiter: string
  /** One char, default '"'. */
  quote: string
}

/** Why a record could not be read: broken quotes (or bad JSON), or larger than the limit. */
export type ReadFailure = 'PARSE_ERROR' | 'RECORD_TOO_LARGE'

export interface CsvSink {
  /** One well-formed record. `line` is the 1-based physical line where the record starts. */
  record(fields: string[], line: number): void
  /**
   * One record that cannot be read. It is still a record for accounting: the caller counts it as
   * failed. For RECORD_TOO_LARGE, `raw` is only the record's first RAW_TEXT_LIMIT_CHARS characters.
   */
  malformed(line: number, raw: string, message: string, code: ReadFailure): void
}

export interface RecordLimit {
  /** Largest record, in bytes of its text without the line end. Default DEFAULT_MAX_RECORD_BYTES. */
  maxRecordBytes?: number
  /** The text was decoded from UTF-8, so sizes count UTF-8 bytes (default); false: one byte per character. */
  utf8?: boolean
}

const NON_ASCII = /[^\x00-\x7f]/

/** UTF-8 length of s[from, to): what the text took in the file, if it was UTF-8. */
export function utf8Length(s: string, from: number, to: number): number {
  let n = to - from
  if (n <= 0) return 0
  if (!NON_ASCII.test(from === 0 && to === s.length ? s : s.slice(from, to))) return n
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    // 2 bytes below U+0800, 3 above; a surrogate pair is 4 bytes for 2 units.
    if (c >= 0x80) n += c < 0x800 || (c & 0xf800) === 0xd800 ? 1 : 2
  }
  return n
}

/** Limits resolved for a parser: `gray` is the character count up to which a record cannot be over the limit. */
export function resolveLimit(opts: RecordLimit | undefined): { max: number; utf8: boolean; gray: number } {
  const max = Math.max(0, Math.floor(opts?.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES))
  const utf8 = opts?.utf8 ?? true
  return { max, utf8, gray: utf8 ? Math.floor(max / 3) : max }
}

/** First `max` characters of parts.join('') + tail, without joining everything. */
export function headOf(parts: readonly string[] | null, tail: string, max: number = RAW_TEXT_LIMIT_CHARS): string {
  let out = ''
  if (parts !== null) {
    for (const p of parts) {
      if (out.length >= max) return out
      out += p.length <= max - out.length ? p : p.slice(0, max - out.length)
    }
  }
  return out.length >= max ? out : out + tail.slice(0, max - out.length)
}

const LF = 10
const CR = 13

// Slow-path states.
const S_FIELD = 0 // at the start of a field
const S_UNQ = 1 // inside an unquoted field
const S_Q = 2 // inside a quoted field
const S_AFTER_Q = 3 // just after a quote inside a quoted field: a closing quote or half of ""
const S_AFTER_Q_CR = 4 // closing quote then '\r': only '\n' may follow
const S_BAD = 5 // malformed: skipping to the end of the line

// How the slow path's loop ended.
const EXIT_OUT = 0 // the text ran out inside the record
const EXIT_RECORD = 1 // a record ends at `at`
const EXIT_BAD = 2 // a malformed record ends at `at`
const EXIT_EMPTY = 3 // an empty line ends at `at`
const EXIT_OPEN = 4 // recovering: a quoted '\n' at `at` proves the record is never closed

function badAfterQuote(field: number): string {
  return `unexpected text after a closing quote in field ${field}`
}

function neverClosed(line: number): string {
  return `a quote opened on line ${line} is never closed`
}

export class CsvParser {
  private readonly delim: string
  private readonly delimCode: number
  private readonly quote: string
  private readonly quoteCode: number
  private readonly sink: CsvSink

  private ln: number
  private ended = false
  private finished = false
  /** Set by an unterminated quote at the end of input: the text to parse again, from the line after the broken record's first line. */
  private rewind: string | null = null
  /** Parsing the `rewind` text; see unterminated(). */
  private recovering = false
  /** Line of the quote left open at the end of the first parse. */
  private lastOpenQuoteLine = 0

  // The text being parsed and, for the slow path, cached next positions of
  // the quote, '\n' and the delimiter (always >= the scan position, or the
  // text length when there is none). Each only moves forward, so the slow
  // path's indexOf calls add up to O(text length) per push.
  private s = ''
  private n = 0
  private nextQ = -1
  private nextNl = -1
  private nextD = -1

  // Record in progress on the slow path.
  private inRec = false
  private st = S_FIELD
  private fields: string[] = []
  /** Value of the current field so far (slices from earlier texts, unescaped quotes). */
  private acc = ''
  /** Start of the current unquoted field in `s`. */
  private fieldStart = 0
  private recLine = 0
  /** Start of the record in `s` (0 when the record began in an earlier text). */
  private recStart = 0
  private quoteLine = 0
  private badMessage = ''
  /** Raw text of the record from earlier texts; null when it began in `s`. */
  private parts: string[] | null = null
  private partsEndCR = false
  /** Characters in `parts`, and their size in bytes once they are long enough to be near the limit (-1 before). */
  private partsChars = 0
  private partsBytes = -1

  // Record size limit (see the top of the file).
  private readonly maxBytes: number
  private readonly utf8: boolean
  /** Records of at most this many characters are within the limit whatever their characters. */
  private readonly gray: number
  /** The record in progress is over the limit: its text is no longer kept, only counted. */
  private skipping = false
  /** Bytes of the skipped record so far: exact up to where skipping began, then one per character (a lower bound). */
  private skipSize = 0
  /** Characters of the skipped record so far, and its first RAW_TEXT_LIMIT_CHARS of them. */
  private skipChars = 0
  private skipExcerpt = ''
  /** Skipped record: size of its first physical line in bytes (lower bound), or -1 when it had no '\n' when skipping began. */
  private skipFirstLine = -1
  private skipFirstExcerpt = ''
  /** skipSize when skipping began: the first line is at least this big when it had no '\n' by then. */
  private skipSizeAtStart = 0
  /** The skipped text so far ends with '\r', counted in skipSize and skipChars, which a '\n' next would make a line end. */
  private skipEndCR = false
  /** After the final push: the line to parse again from (see resumeLine). */
  private resumeAt: number | null = null

  // lastRaw(): bounds in `s` of the last delivered record, plus the raw text
  // it had in earlier texts. Stored as numbers so the fast path pays two
  // stores per record and slicing happens only if someone asks.
  private rawStart = 0
  private rawEnd = 0
  private rawPrefix: string[] | null = null
  private rawCut = false

  constructor(dialect: CsvDialect, sink: CsvSink, firstLine: number, limit?: RecordLimit) {
    const { delimiter, quote } = dialect
    if (delimiter.length !== 1 || quote.length !== 1) {
      throw new RangeError('CSV delimiter and quote must each be one character')
    }
    if (delimiter === quote) throw new RangeError('CSV delimiter and quote must differ')
    for (const c of [delimiter, quote]) {
      if (c === '\n' || c === '\r') throw new RangeError('CSV delimiter and quote cannot be a line terminator')
    }
    this.delim = delimiter
    this.delimCode = delimiter.charCodeAt(0)
    this.quote = quote
    this.quoteCode = quote.charCodeAt(0)
    this.sink = sink
    this.ln = firstLine
    const { max, utf8, gray } = resolveLimit(limit)
    this.maxBytes = max
    this.utf8 = utf8
    this.gray = gray
  }

  /** True if, after push(..., true), the text ended inside an open quoted field. */
  get endedInsideQuotes(): boolean {
    return this.ended
  }

  /**
   * 1-based physical line number of the next line the parser would read: the
   * first line plus every '\n' consumed. Exact between pushes; inside sink
   * callbacks it may lag behind.
   */
  get line(): number {
    return this.ln
  }

  /**
   * Set after the final push when a quote that is never closed opened a record too large to keep:
   * as for any never-closed quote, only the record's first line is reported and parsing must go
   * on from the line after it, but that text was not kept. The caller reads its input again from
   * the start of this line, calls reopen() and pushes it (a final push at the end again). The
   * re-parse ends every record at its first quoted line break (see unterminated()), so this
   * happens at most once per parser.
   */
  get resumeLine(): number | null {
    return this.resumeAt
  }

  /** Accept pushes again after a final push that set resumeLine; the next text must start at that line. */
  reopen(): void {
    if (this.resumeAt === null) throw new Error('CsvParser.reopen called without a resumeLine')
    this.resumeAt = null
    this.finished = false
  }

  /** Feed decoded text. Text need not end on a record boundary unless final is true; the parser keeps the incomplete tail internally. */
  push(text: string, final: boolean): void {
    if (this.finished) throw new Error('CsvParser.push called after the final push')
    if (final) this.finished = true
    let s = text
    for (;;) {
      this.run(s, final)
      const again = this.rewind
      if (again === null) break
      this.rewind = null
      s = again
    }
  }

  /** Raw text of the record most recently delivered to sink.record (without its line terminator). Only valid during the sink.record callback. */
  lastRaw(): string {
    const prefix = this.rawPrefix
    if (prefix === null) return this.s.slice(this.rawStart, this.rawEnd)
    const raw = prefix.join('') + this.s.slice(this.rawStart, this.rawEnd)
    return this.rawCut ? raw.slice(0, -1) : raw
  }

  /** Fast path: reports the line s[pos, end) as too large and returns true if it is over the limit. */
  private lineTooLarge(pos: number, end: number, line: number): boolean {
    const s = this.s
    const bytes = this.utf8 ? utf8Length(s, pos, end) : end - pos
    if (bytes <= this.maxBytes) return false
    this.sink.malformed(line, s.slice(pos, Math.min(end, pos + RAW_TEXT_LIMIT_CHARS)), recordTooLargeMessage(bytes, this.maxBytes, false), 'RECORD_TOO_LARGE')
    return true
  }

  private run(s: string, final: boolean): void {
    const n = s.length
    this.s = s
    this.n = n
    this.nextQ = -1
    this.nextNl = -1
    this.nextD = -1
    let pos = 0
    if (this.inRec) {
      this.recStart = 0
      this.fieldStart = 0
      pos = this.slow(0, final)
    }
    const sink = this.sink
    const delim = this.delim
    const quote = this.quote
    let line = this.ln
    let nq = s.indexOf(quote, pos)
    if (nq === -1) nq = n
    for (;;) {
      const nl = s.indexOf('\n', pos)
      if (nl === -1) break
      if (nq > nl) {
        let end = nl
        if (end > pos && s.charCodeAt(end - 1) === CR) end--
        if (end > pos && (end - pos <= this.gray || !this.lineTooLarge(pos, end, line))) {
          this.rawStart = pos
          this.rawEnd = end
          sink.record(s.slice(pos, end).split(delim), line)
        }
        line++
        pos = nl + 1
      } else {
        this.ln = line
        pos = this.slow(pos, final)
        line = this.ln
        if (nq < pos) {
          nq = s.indexOf(quote, pos)
          if (nq === -1) nq = n
        }
      }
    }
    if (pos < n) {
      if (final && nq === n) {
        // Last line without a terminator and without quotes. A '\r' right
        // before the end is taken as a terminator whose '\n' is missing,
        // like the '\r' of "\r\n".
        let end = n
        if (s.charCodeAt(end - 1) === CR) end--
        if (end > pos && (end - pos <= this.gray || !this.lineTooLarge(pos, end, line))) {
          this.rawStart = pos
          this.rawEnd = end
          sink.record(s.slice(pos, end).split(delim), line)
        }
      } else {
        this.ln = line
        this.slow(pos, final)
        line = this.ln
      }
    }
    this.ln = line
  }

  /**
   * Parses (or continues) one record from `i`. Returns the index after the
   * record's terminator, or the text length when the text ran out: then the
   * state is kept for the next push, or, if final, the record is finished.
   *
   * The state lives in locals while the loop runs and goes back to `this` on
   * exit: on files where every field is quoted this is the hot path.
   */
  private slow(i: number, final: boolean): number {
    const s = this.s
    const n = this.n
    const quoteCode = this.quoteCode
    const delimCode = this.delimCode
    if (!this.inRec) {
      this.inRec = true
      this.st = S_FIELD
      this.fields = []
      this.acc = ''
      this.recLine = this.ln
      this.recStart = i
      this.parts = null
      this.partsChars = 0
      this.partsBytes = -1
    }
    const fields = this.fields
    let st = this.st
    let acc = this.acc
    let fieldStart = this.fieldStart
    let ln = this.ln
    let nextQ = this.nextQ
    let nextNl = this.nextNl
    let nextD = this.nextD
    let exit: number
    let at = n
    for (;;) {
      if (st === S_FIELD) {
        if (i >= n) {
          exit = EXIT_OUT
          break
        }
        acc = ''
        if (s.charCodeAt(i) === quoteCode) {
          st = S_Q
          this.quoteLine = ln
          i++
        } else {
          st = S_UNQ
          fieldStart = i
        }
      } else if (st === S_Q) {
        if (nextQ < i) {
          nextQ = s.indexOf(this.quote, i)
          if (nextQ === -1) nextQ = n
        }
        const q = nextQ
        // Quoted newlines are physical lines: count them so later records get the right line.
        if (nextNl < i) {
          nextNl = s.indexOf('\n', i)
          if (nextNl === -1) nextNl = n
        }
        if (nextNl < q && this.recovering) {
          at = nextNl
          exit = EXIT_OPEN
          break
        }
        while (nextNl < q) {
          ln++
          nextNl = s.indexOf('\n', nextNl + 1)
          if (nextNl === -1) nextNl = n
        }
        acc += s.slice(i, q)
        if (q === n) {
          i = n
          exit = EXIT_OUT
          break
        }
        i = q + 1
        st = S_AFTER_Q
      } else if (st === S_AFTER_Q) {
        if (i >= n) {
          exit = EXIT_OUT
          break
        }
        const c = s.charCodeAt(i)
        if (c === delimCode) {
          fields.push(acc)
          i++
          st = S_FIELD
        } else if (c === quoteCode) {
          acc += this.quote
          i++
          st = S_Q
        } else if (c === LF) {
          fields.push(acc)
          at = i
          exit = EXIT_RECORD
          break
        } else if (c === CR) {
          i++
          st = S_AFTER_Q_CR
        } else {
          st = S_BAD
          this.badMessage = badAfterQuote(fields.length + 1)
        }
      } else if (st === S_UNQ) {
        if (nextNl < i) {
          nextNl = s.indexOf('\n', i)
          if (nextNl === -1) nextNl = n
        }
        if (nextD < i) {
          nextD = s.indexOf(this.delim, i)
          if (nextD === -1) nextD = n
        }
        if (nextD < nextNl) {
          fields.push(acc + s.slice(fieldStart, nextD))
          i = nextD + 1
          st = S_FIELD
          continue
        }
        if (nextNl < n) {
          let v = acc + s.slice(fieldStart, nextNl)
          if (v.length > 0 && v.charCodeAt(v.length - 1) === CR) v = v.slice(0, -1)
          at = nextNl
          if (fields.length === 0 && v === '' && !this.skipping) {
            // An empty line (or only '\r') that began in an earlier text.
            exit = EXIT_EMPTY
            break
          }
          fields.push(v)
          exit = EXIT_RECORD
          break
        }
        acc += s.slice(fieldStart, n)
        fieldStart = n
        i = n
        exit = EXIT_OUT
        break
      } else if (st === S_AFTER_Q_CR) {
        if (i >= n) {
          exit = EXIT_OUT
          break
        }
        if (s.charCodeAt(i) === LF) {
          fields.push(acc)
          at = i
          exit = EXIT_RECORD
          break
        }
        // A lone '\r' after a closing quote is text after the quote.
        st = S_BAD
        this.badMessage = badAfterQuote(fields.length + 1)
      } else {
        // S_BAD: quotes after the offending character are data up to the
        // line end, so only '\n' matters here.
        if (nextNl < i) {
          nextNl = s.indexOf('\n', i)
          if (nextNl === -1) nextNl = n
        }
        if (nextNl === n) {
          exit = EXIT_OUT
          break
        }
        at = nextNl
        exit = EXIT_BAD
        break
      }
    }
    this.st = st
    this.acc = acc
    this.fieldStart = fieldStart
    this.ln = ln
    this.nextQ = nextQ
    this.nextNl = nextNl
    this.nextD = nextD
    switch (exit) {
      case EXIT_RECORD:
        return this.deliver(at)
      case EXIT_BAD:
        return this.reportBad(at)
      case EXIT_EMPTY:
        this.inRec = false
        this.ln++
        return at + 1
      case EXIT_OPEN: {
        // The quoted '\n' ends the record's first line (an unquoted one would
        // have ended the record), and the next line start was inside quotes
        // in the first parse, which from there never closed a record again.
        // So this record is never closed either.
        const line = this.recLine
        if (this.skipping || this.sizeUpTo(at) > this.maxBytes) {
          this.ln = line + 1
          return this.tooLarge(at)
        }
        const opened = this.lastOpenQuoteLine > line ? this.lastOpenQuoteLine : this.quoteLine
        const raw = this.rawUpTo(at)
        this.inRec = false
        this.parts = null
        this.ln = line + 1
        this.sink.malformed(line, raw, neverClosed(opened), 'PARSE_ERROR')
        return at + 1
      }
      default:
        return this.outOfText(final)
    }
  }

  /** Ends the malformed record at `end` (a '\n' index, or the text length at the end of input). */
  private reportBad(end: number): number {
    if (this.skipping || this.sizeUpTo(end) > this.maxBytes) {
      if (end < this.n) this.ln++
      return this.tooLarge(end)
    }
    const raw = this.rawUpTo(end)
    this.inRec = false
    this.parts = null
    if (end < this.n) this.ln++
    this.sink.malformed(this.recLine, raw, this.badMessage, 'PARSE_ERROR')
    return end + 1
  }

  /**
   * Size in bytes of the record in progress if it ended at `end` (a '\n' index, or the text
   * length at the end of input), without a '\r' right before `end`; exact only when it matters,
   * i.e. over `gray` characters (else the character count, which is then within the limit).
   */
  private sizeUpTo(end: number): number {
    const s = this.s
    let e = end
    if (e > this.recStart && s.charCodeAt(e - 1) === CR) e--
    // As in rawUpTo(): one '\r' before the '\n' is the line end, also when it ended the previous text.
    const cut = this.parts !== null && end === 0 && this.partsEndCR ? 1 : 0
    const chars = this.partsChars + (e - this.recStart) - cut
    if (chars <= this.gray || !this.utf8) return chars
    return this.bytesOfParts() + utf8Length(s, this.recStart, e) - cut
  }

  /** UTF-8 size of `parts`, computed once and then kept up to date by outOfText(). */
  private bytesOfParts(): number {
    if (this.partsBytes < 0) {
      let b = 0
      if (this.parts !== null) for (const p of this.parts) b += utf8Length(p, 0, p.length)
      this.partsBytes = b
    }
    return this.partsBytes
  }

  /**
   * Reports the record in progress, ending at `end` (a '\n' index or the text length), as too
   * large and clears it. The caller has set `ln`.
   */
  private tooLarge(end: number): number {
    const s = this.s
    let e = end
    if (e > this.recStart && s.charCodeAt(e - 1) === CR) e--
    let size: number
    let excerpt: string
    const atLeast = this.skipping
    if (this.skipping) {
      const cut = end === 0 && this.skipEndCR ? 1 : 0
      size = this.skipSize + (e - this.recStart) - cut
      excerpt = this.skipExcerptTo(e).slice(0, this.skipChars + (e - this.recStart) - cut)
    } else {
      size = this.sizeUpTo(end)
      const chars = this.partsChars + (e - this.recStart) - (this.parts !== null && end === 0 && this.partsEndCR ? 1 : 0)
      excerpt = headOf(this.parts, s.slice(this.recStart, Math.min(e, this.recStart + RAW_TEXT_LIMIT_CHARS))).slice(0, chars)
    }
    this.clearRecord()
    this.sink.malformed(this.recLine, excerpt, recordTooLargeMessage(size, this.maxBytes, atLeast), 'RECORD_TOO_LARGE')
    return end + 1
  }

  private clearRecord(): void {
    this.inRec = false
    this.parts = null
    this.partsChars = 0
    this.partsBytes = -1
    this.skipping = false
    this.skipExcerpt = ''
    this.skipFirstExcerpt = ''
    this.acc = ''
    this.fields = []
  }

  /**
   * The record carried between pushes went over the limit: keep an excerpt and what its first
   * line was (for a quote that turns out never to be closed, see unterminatedSkipped()), drop the
   * text, and from here on only follow the record to its end.
   */
  private startSkipping(size: number): void {
    const parts = this.parts ?? []
    this.skipping = true
    this.skipSizeAtStart = size
    // `size` left out a final '\r' that may end the line; counted from here on like any other.
    this.skipEndCR = this.partsEndCR
    this.skipSize = size + (this.partsEndCR ? 1 : 0)
    this.skipChars = this.partsChars
    this.skipExcerpt = headOf(parts, '')
    this.skipFirstLine = -1
    this.skipFirstExcerpt = ''
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k] as string
      const nl = p.indexOf('\n')
      if (nl === -1) continue
      const firstParts = parts.slice(0, k)
      let tail = p.slice(0, nl)
      if (tail.length === 0 && k > 0 && this.partsEndCRAt(k - 1)) {
        // The '\r' of "\r\n" ended the previous part.
        const prev = firstParts.pop() as string
        firstParts.push(prev.slice(0, -1))
      } else if (tail.length > 0 && tail.charCodeAt(tail.length - 1) === CR) tail = tail.slice(0, -1)
      let bytes = 0
      for (const fp of firstParts) bytes += this.utf8 ? utf8Length(fp, 0, fp.length) : fp.length
      this.skipFirstLine = bytes + (this.utf8 ? utf8Length(tail, 0, tail.length) : tail.length)
      this.skipFirstExcerpt = headOf(firstParts, tail)
      break
    }
    this.parts = null
    this.partsChars = 0
    this.partsBytes = -1
    this.acc = ''
    this.fields.length = 0
  }

  /** skipExcerpt completed up to RAW_TEXT_LIMIT_CHARS with the current text up to `end`. */
  private skipExcerptTo(end: number): string {
    const ex = this.skipExcerpt
    const room = RAW_TEXT_LIMIT_CHARS - ex.length
    return room <= 0 || end <= this.recStart ? ex : ex + this.s.slice(this.recStart, Math.min(end, this.recStart + room))
  }

  private partsEndCRAt(k: number): boolean {
    const p = this.parts?.[k]
    return p !== undefined && p.length > 0 && p.charCodeAt(p.length - 1) === CR
  }

  /** Raw text of the record in progress from its start to `end` in `s`, without a '\r' right before `end`. */
  private rawUpTo(end: number): string {
    const s = this.s
    const parts = this.parts
    if (parts === null) {
      let e = end
      if (e > this.recStart && s.charCodeAt(e - 1) === CR) e--
      return s.slice(this.recStart, e)
    }
    const raw = parts.join('') + s.slice(0, end)
    return raw.length > 0 && raw.charCodeAt(raw.length - 1) === CR ? raw.slice(0, -1) : raw
  }

  /** Delivers the finished record whose terminator is at `end` ('\n' index, or the text length at the end of input). */
  private deliver(end: number): number {
    if (this.skipping || this.sizeUpTo(end) > this.maxBytes) {
      if (end < this.n) this.ln++
      return this.tooLarge(end)
    }
    const s = this.s
    const parts = this.parts
    this.inRec = false
    if (parts === null) {
      let e = end
      if (e > this.recStart && s.charCodeAt(e - 1) === CR) e--
      this.rawStart = this.recStart
      this.rawEnd = e
    } else {
      this.rawPrefix = parts
      this.rawStart = 0
      if (end > 0) {
        this.rawEnd = s.charCodeAt(end - 1) === CR ? end - 1 : end
        this.rawCut = false
      } else {
        this.rawEnd = 0
        this.rawCut = this.partsEndCR
      }
      this.parts = null
    }
    const line = this.recLine
    if (end < this.n) this.ln++
    this.sink.record(this.fields, line)
    this.rawPrefix = null
    return end + 1
  }

  /** The text ended inside the record in progress. */
  private outOfText(final: boolean): number {
    const n = this.n
    if (!final) {
      if (this.skipping) {
        // Only counted; what the state machine built from this text is dropped.
        this.skipSize += n - this.recStart
        this.skipExcerpt = this.skipExcerptTo(n)
        this.skipChars += n - this.recStart
        if (n > this.recStart) this.skipEndCR = this.s.charCodeAt(n - 1) === CR
        this.acc = ''
        this.fields.length = 0
        return n
      }
      const part = this.s.slice(this.recStart, n)
      if (this.parts === null) this.parts = [part]
      else this.parts.push(part)
      if (part.length > 0) this.partsEndCR = part.charCodeAt(part.length - 1) === CR
      this.partsChars += part.length
      if (this.partsChars > this.gray) {
        // Near the limit: measure exactly. A '\r' at the very end may be half of the record's
        // "\r\n", which does not count, so it is left out until the next text says.
        const cr = this.partsEndCR ? 1 : 0
        let size = this.partsChars - cr
        if (size <= this.maxBytes && this.utf8) {
          this.partsBytes = this.partsBytes < 0 ? this.bytesOfParts() : this.partsBytes + utf8Length(part, 0, part.length)
          size = this.partsBytes - cr
        }
        if (size > this.maxBytes) this.startSkipping(size)
      }
      return n
    }
    if (this.skipping) {
      if (this.st === S_Q) return this.unterminatedSkipped()
      // The input ends the skipped record.
      return this.tooLarge(n) - 1
    }
    switch (this.st) {
      case S_FIELD:
        if (this.fields.length === 0) {
          this.inRec = false
          this.parts = null
          return n
        }
        // "a,b," at the end: the last field is empty.
        this.fields.push('')
        this.deliver(n)
        return n
      case S_UNQ: {
        let v = this.acc
        if (v.length > 0 && v.charCodeAt(v.length - 1) === CR) v = v.slice(0, -1)
        if (this.fields.length === 0 && v === '') {
          this.inRec = false
          this.parts = null
          return n
        }
        this.fields.push(v)
        this.deliver(n)
        return n
      }
      case S_AFTER_Q:
      case S_AFTER_Q_CR:
        this.fields.push(this.acc)
        this.deliver(n)
        return n
      case S_BAD:
        this.reportBad(n)
        return n
      case S_Q:
        return this.unterminated()
      default:
        throw new Error('unreachable CSV parser state ' + this.st)
    }
  }

  /**
   * A quoted field is still open at the end of the input. Taking the rest of
   * the input as one broken record would let a single stray quote fail every
   * later record, so only the record's first physical line is reported and
   * parsing restarts at the line after it (via `rewind`).
   *
   * Re-parsing naively could end inside quotes again and rewind again, each
   * time to the end of the input: quadratic (16k lines of `x",y,"z` took
   * 27 s). It never has to: every line start after this record's first line
   * was inside quotes here, and from each of them the parse ran to the end
   * without closing a record. So in the re-parse (`recovering`), the first
   * quoted '\n' of any record lands on such a line start and proves that
   * record unterminated on the spot (EXIT_OPEN in slow()). Its message needs
   * the line of the quote left open at the very end: the one seen here if it
   * opened after that line start, else the record's own quote.
   */
  private unterminated(): number {
    // Held in memory, so at most the limit plus one text long.
    const full = (this.parts === null ? '' : this.parts.join('')) + this.s.slice(this.recStart, this.n)
    const line = this.recLine
    const message = neverClosed(this.quoteLine)
    this.clearRecord()
    this.ended = true
    const nl = full.indexOf('\n')
    let first = nl === -1 ? full : full.slice(0, nl)
    if (first.length > 0 && first.charCodeAt(first.length - 1) === CR) first = first.slice(0, -1)
    const firstSize = first.length <= this.gray || !this.utf8 ? first.length : utf8Length(first, 0, first.length)
    if (nl === -1) {
      this.ln = line
    } else {
      // Not reached while recovering: a record with a '\n' ended at EXIT_OPEN.
      this.ln = line + 1
      this.rewind = full.slice(nl + 1)
      this.recovering = true
      this.lastOpenQuoteLine = this.quoteLine
    }
    if (firstSize > this.maxBytes) {
      this.sink.malformed(line, first.slice(0, RAW_TEXT_LIMIT_CHARS), recordTooLargeMessage(firstSize, this.maxBytes, false), 'RECORD_TOO_LARGE')
    } else this.sink.malformed(line, first, message, 'PARSE_ERROR')
    return this.n
  }

  /**
   * unterminated() for a record that was too large to keep. The broken record is its first line,
   * as there; if that line was shorter than the limit it is reported as the broken quote, and
   * the caller must feed the text after it again (resumeLine), since it was not kept.
   */
  private unterminatedSkipped(): number {
    const line = this.recLine
    const hadNewline = this.ln > line
    const n = this.n
    // At the end of the input a final '\r' is a line end whose '\n' is missing.
    const cut = (n > this.recStart ? this.s.charCodeAt(n - 1) === CR : this.skipEndCR) ? 1 : 0
    const total = this.skipSize + (n - this.recStart) - cut
    const firstSize = this.skipFirstLine
    const firstExcerpt = this.skipFirstExcerpt
    const excerpt = this.skipExcerptTo(n).slice(0, this.skipChars + (n - this.recStart) - cut)
    const message = neverClosed(this.quoteLine)
    this.clearRecord()
    this.ended = true
    if (!hadNewline) {
      // One line to the end of the input: that line is the record, and it is too large.
      this.ln = line
      this.sink.malformed(line, excerpt, recordTooLargeMessage(total, this.maxBytes, true), 'RECORD_TOO_LARGE')
      return this.n
    }
    this.ln = line + 1
    this.resumeAt = line + 1
    this.recovering = true
    this.lastOpenQuoteLine = this.quoteLine
    if (firstSize < 0) {
      // No line break in the part that was kept: the first line alone is over the limit.
      const nl = excerpt.indexOf('\n')
      let first = nl === -1 ? excerpt : excerpt.slice(0, nl)
      if (nl !== -1 && first.length > 0 && first.charCodeAt(first.length - 1) === CR) first = first.slice(0, -1)
      this.sink.malformed(line, first, recordTooLargeMessage(this.skipSizeAtStart, this.maxBytes, true), 'RECORD_TOO_LARGE')
    } else if (firstSize > this.maxBytes) {
      this.sink.malformed(line, firstExcerpt, recordTooLargeMessage(firstSize, this.maxBytes, false), 'RECORD_TOO_LARGE')
    } else {
      this.sink.malformed(line, firstExcerpt, message, 'PARSE_ERROR')
    }
    return this.n
  }
}
