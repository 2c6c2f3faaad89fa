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

export interface CsvDialect {
  /** One char, e.g. ',', '\t', ';', '|'. */
  delimiter: string
  /** One char, default '"'. */
  quote: string
}

export interface CsvSink {
  /** One well-formed record. `line` is the 1-based physical line where the record starts. */
  record(fields: string[], line: number): void
  /** One malformed record (broken quotes). It is still a record for accounting: the caller counts it as failed. */
  malformed(line: number, raw: string, message: string): void
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

  // lastRaw(): bounds in `s` of the last delivered record, plus the raw text
  // it had in earlier texts. Stored as numbers so the fast path pays two
  // stores per record and slicing happens only if someone asks.
  private rawStart = 0
  private rawEnd = 0
  private rawPrefix: string[] | null = null
  private rawCut = false

  constructor(dialect: CsvDialect, sink: CsvSink, firstLine: number) {
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
        if (end > pos) {
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
        if (end > pos) {
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
          if (fields.length === 0 && v === '') {
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
        const opened = this.lastOpenQuoteLine > line ? this.lastOpenQuoteLine : this.quoteLine
        const raw = this.rawUpTo(at)
        this.inRec = false
        this.parts = null
        this.ln = line + 1
        this.sink.malformed(line, raw, neverClosed(opened))
        return at + 1
      }
      default:
        return this.outOfText(final)
    }
  }

  /** Ends the malformed record at `end` (a '\n' index, or the text length at the end of input). */
  private reportBad(end: number): number {
    const raw = this.rawUpTo(end)
    this.inRec = false
    this.parts = null
    if (end < this.n) this.ln++
    this.sink.malformed(this.recLine, raw, this.badMessage)
    return end + 1
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
      const part = this.s.slice(this.recStart, n)
      if (this.parts === null) this.parts = [part]
      else this.parts.push(part)
      if (part.length > 0) this.partsEndCR = part.charCodeAt(part.length - 1) === CR
      return n
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
    const full = (this.parts === null ? '' : this.parts.join('')) + this.s.slice(this.recStart, this.n)
    const line = this.recLine
    const message = neverClosed(this.quoteLine)
    this.inRec = false
    this.parts = null
    this.ended = true
    const nl = full.indexOf('\n')
    let first = nl === -1 ? full : full.slice(0, nl)
    if (first.length > 0 && first.charCodeAt(first.length - 1) === CR) first = first.slice(0, -1)
    if (nl === -1) {
      this.ln = line
    } else {
      // Not reached while recovering: a record with a '\n' ended at EXIT_OPEN.
      this.ln = line + 1
      this.rewind = full.slice(nl + 1)
      this.recovering = true
      this.lastOpenQuoteLine = this.quoteLine
    }
    this.sink.malformed(line, first, message)
    return this.n
  }
}
