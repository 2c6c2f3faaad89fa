// Inputs a worker cannot read by byte range: gzip-compressed files (their text streams through
// zlib into the usual parsers), zip archives (each entry's text streams through parsers of its
// own), xlsx workbooks (rows stream out of one sheet) and UTF-16 text files (decoded as they
// stream, through parsers of their own). Each is one partition covering the whole file. The
// worker hands in what it does with text, records and failures; this module only reads.
import type { Rec } from '../../shared/expression'
import type { FailureCode } from '../../shared/failures'
import type { PartitionTask } from '../../shared/partition-task'
import { CsvParser } from './csv-parser'
import { csvHeaderEnd, damagedMessage, isGzipInput, streamGzipText } from './gzip'
import { JsonArrayParser } from './json-array-parser'
import { JsonlParser } from './jsonl-parser'
import { columnLetter, isBlankRow, readSheet, WorkbookError, type SheetRow } from './xlsx-reader'
import { byName, ChecksumError, entryDamage, entryRole, isZipInput, nestedMessage, noEntryMessage, openZipArchive, streamZipEntryText, unreadableEntry, ZipInputError, type ZipArchive } from './zip'
import type { RecordLimit } from './csv-parser'
import { streamUtf16Text, utf16EncodingMessage, utf16EncodingOf, type Utf16 } from './utf16'

/**
 * The prototype of every record: empty, frozen and without Object.prototype, so a record has no
 * inherited keys (a column named __proto__ or toString is only data). Sharing one prototype, rather
 * than Object.create(null) per record, lets V8 give records a fast shape: building and encoding a
 * record costs about a third less (scripts/bench/ab-worker.mjs).
 */
const REC_PROTO: Rec = Object.freeze(Object.create(null)) as Rec

export interface StreamedInput {
  /** Decompressed, decoded text for the parser (gzip). */
  pushText(text: string, final: boolean): void
  /** A record read from a sheet (xlsx); `raw` gives its text for a failure. */
  record(rec: Rec, line: number, raw: () => string): void
  /** A record that failed while being read. */
  failed(line: number, code: FailureCode, message: string, raw: string): void
  /** Input bytes read, for progress. */
  bytes(n: number): void
  /** A dry run has what it needs. */
  stop(): boolean
  /** Where records are: a sheet name, said in each failure's message. */
  where(describe: (line: number) => string): void
  /** The text parser, for a record too large to keep whose reading resumes from a line (CSV). */
  parser: { readonly resumeLine?: number | null; reopen?(): void }
}

export type StreamedKind = 'gzip' | 'zip' | 'xlsx' | Utf16

/**
 * How a task's file is read, when not by byte range. A UTF-16 file is one partition from its
 * start (the planner's isWholeFileInput says the same, by the same rule): only a task that
 * starts there looks at the file's first bytes, so other partitions cost no extra read.
 */
export function streamedKind(task: PartitionTask): StreamedKind | null {
  if (task.input.format === 'xlsx') return 'xlsx'
  if (isGzipInput(task.input.compression, task.file)) return 'gzip'
  if (isZipInput(task.input.compression, task.input.format, task.file)) return 'zip'
  return task.start === 0 ? utf16EncodingOf(task.file, task.input.encoding) : null
}

/** Read a whole file the streamed way (by its path: it opens its own streams); resolves with the bytes read. */
export async function readStreamed(kind: StreamedKind, task: PartitionTask, io: StreamedInput): Promise<number> {
  if (kind === 'utf16le' || kind === 'utf16be') return readUtf16(kind, task, io)
  return kind === 'xlsx' ? readXlsx(task, io) : kind === 'zip' ? readZip(task, io) : readGzip(task, io)
}

function relName(task: PartitionTask): string {
  return task.file.split(/[\\/]/).pop() ?? task.file
}

async function readGzip(task: PartitionTask, io: StreamedInput): Promise<number> {
  const csvHeader = (task.input.format === 'csv' || task.input.format === 'tsv') && task.input.headerRow === true
  let total = 0
  /** Reading again from this line (a record too large to keep, whose end the parser looks for from the line after it). */
  let skipTo: number | null = null
  for (;;) {
    // Lines of decompressed data text delivered so far, to say where damage begins.
    let line = skipTo ?? task.firstLine
    let toSkip = skipTo === null ? 0 : skipTo - task.firstLine
    const again = skipTo !== null
    const result = await streamGzipText(task.file, {
      encoding: task.input.encoding,
      // The header row was read by the planner; its text is skipped the same way here.
      skipCsvHeader: csvHeader ? task.input.quote : null,
      onText: (text, final) => {
        if (toSkip > 0) {
          let i = -1
          while (toSkip > 0 && (i = text.indexOf('\n', i + 1)) !== -1) toSkip--
          if (toSkip > 0) {
            if (final) io.pushText('', true)
            return
          }
          text = text.slice(i + 1)
        }
        for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) line++
        io.pushText(text, final)
      },
      onBytes: (n) => {
        if (!again) io.bytes(n)
      },
      shouldStop: () => io.stop()
    })
    if (!again) total = result.bytesRead
    if (result.damaged) {
      io.failed(line, 'FILE_UNREADABLE', damagedMessage(relName(task), result.damaged, line - 1), '')
      return total
    }
    const resume = io.parser.resumeLine ?? null
    if (resume === null || io.stop()) return total
    skipTo = resume
    io.parser.reopen?.()
  }
}

/** A sheet row as text for the failure report: the record as JSON, values beyond the header by column letter. */
function rowRaw(header: readonly string[], row: SheetRow): string {
  const o: Record<string, unknown> = {}
  header.forEach((h, i) => (o[h] = row.cells[i] ?? ''))
  for (let i = header.length; i < row.cells.length; i++) {
    const v = row.cells[i]
    if (v !== undefined && v !== '') o[columnLetter(i)] = v
  }
  return JSON.stringify(o)
}

async function readXlsx(task: PartitionTask, io: StreamedInput): Promise<number> {
  const header = task.header ?? []
  const width = header.length
  let sheet = ''
  let lastRow = task.firstLine - 1
  let read = 0
  try {
    await readSheet(task.file, task.input.sheet, {
      onSheet: (name) => {
        sheet = name
        io.where((line) => ` (sheet "${name}", row ${line})`)
      },
      onRow: (row) => {
        if (row.number < task.firstLine || io.stop()) return
        lastRow = row.number
        const cells = row.cells
        if (isBlankRow(cells)) return
        for (let i = width; i < cells.length; i++) {
          const v = cells[i]
          if (v !== undefined && v !== '') {
            io.failed(row.number, 'FIELD_COUNT', `a value in column ${columnLetter(i)}, beyond the ${width} column${width === 1 ? '' : 's'} of the header`, rowRaw(header, row))
            return
          }
        }
        // No prototype: a column named __proto__ is data like any other.
        const rec: Rec = Object.create(REC_PROTO)
        for (let i = 0; i < width; i++) rec[header[i] as string] = cells[i] ?? ''
        io.record(rec, row.number, () => rowRaw(header, row))
      },
      onBytes: (n) => {
        read += n
        io.bytes(n)
      },
      shouldStop: () => io.stop()
    })
  } catch (e) {
    if (!(e instanceof WorkbookError)) throw e
    // The message names the sheet and the row once the sheet is known (see `where`).
    const rest = sheet ? 'its rows from here on could not be read' : 'it could not be read'
    io.failed(lastRow + 1, 'FILE_UNREADABLE', `${relName(task)} ${e.message}; ${rest}`, '')
  }
  // The rest of the file (other sheets, styles) counts as read once the sheet is done.
  const whole = task.end - task.start
  if (whole > read) io.bytes(whole - read)
  return Math.max(whole, read)
}

// ---------------------------------------------------------------------------------------------
// Zip archives

/** What the worker says of a record whose text did not decode (the same words as partition-worker's). */
function encodingMessage(encoding: PartitionTask['input']['encoding']): string {
  return encoding === 'utf8'
    ? 'the row holds bytes that are not valid UTF-8 (if the file was saved as Latin-1 or Windows-1252, set input.encoding)'
    : `the row holds bytes that have no character in ${encoding} (is the file in another encoding?)`
}

/** The longest header row looked for, as the planner does for a compressed file. */
const MAX_HEADER_CHARS = 1 << 20

/** A header for a message: its first names, bounded. */
function headerText(names: readonly string[]): string {
  const text = names.map((n) => JSON.stringify(n)).join(', ')
  return text.length > 300 ? text.slice(0, 300) + '…' : text
}

/**
 * Read every entry of a zip that holds files of the job's format, in name order, each with parsers
 * of its own: line numbers restart at each entry, and each failure's message names the entry
 * ("(line 12 of jan.csv in orders.zip)"). An entry that cannot be read (password-protected,
 * damaged, a CSV whose header differs from the first entry's) is one failed record naming it;
 * records read before damage in an entry are kept, as in a .gz file; the other entries are read
 * all the same, since a zip's entries do not depend on one another.
 */
async function readZip(task: PartitionTask, io: StreamedInput): Promise<number> {
  const zipName = relName(task)
  const whole = task.end - task.start
  let counted = 0
  // Progress in the zip's bytes: each entry counts as its compressed size, in step with what it inflates to.
  const progress = (n: number): void => {
    const k = Math.min(Math.round(n), whole - counted)
    if (k > 0) {
      counted += k
      io.bytes(k)
    }
  }
  /** A failure of a whole entry or of the zip: its message names them itself. */
  const failWhole = (line: number, message: string): void => {
    io.where(() => '')
    io.failed(line, 'FILE_UNREADABLE', message, '')
  }
  let archive: ZipArchive
  try {
    archive = await openZipArchive(task.file)
  } catch (e) {
    if (!(e instanceof ZipInputError)) throw e
    failWhole(task.firstLine, `${zipName} ${e.message}; the file was not processed`)
    progress(whole)
    return whole
  }
  try {
    const format = task.input.format
    const entries = byName(archive.entries).filter((e) => entryRole(e.name, format) !== 'skip')
    if (!entries.length) {
      failWhole(task.firstLine, `${noEntryMessage(zipName, format, archive.entries.map((e) => e.name))}; the file was not processed`)
    }
    for (const e of entries) {
      if (io.stop()) break
      const share = e.entry.compressedSize
      if (entryRole(e.name, format) === 'nested') {
        failWhole(1, nestedMessage(e.name, zipName))
        progress(share)
        continue
      }
      const why = unreadableEntry({ flags: e.entry.generalPurposeBitFlag, method: e.entry.compressionMethod })
      if (why) {
        failWhole(1, `${e.name} inside ${zipName} ${why}`)
        progress(share)
        continue
      }
      const before = counted
      await readZipEntry(task, io, archive, e, zipName, (n) => progress(e.entry.uncompressedSize > 0 ? (n * share) / e.entry.uncompressedSize : 0), failWhole)
      progress(share - (counted - before))
    }
  } finally {
    archive.close()
  }
  progress(whole - counted)
  return whole
}

async function readZipEntry(
  task: PartitionTask,
  io: StreamedInput,
  archive: ZipArchive,
  e: ZipArchive['entries'][number],
  zipName: string,
  onBytes: (n: number) => void,
  failWhole: (line: number, message: string) => void
): Promise<void> {
  const { input } = task
  const limit = { maxRecordBytes: task.maxRecordBytes, utf8: input.encoding === 'utf8' }
  const csvHeader = (input.format === 'csv' || input.format === 'tsv') && input.headerRow === true
  const expected = task.header ?? []
  const where = (line: number): string => ` (line ${line} of ${e.name} in ${zipName})`
  const failed = (line: number, code: FailureCode, message: string, raw: string): void => {
    io.where(where)
    io.failed(line, code, message, raw)
  }
  /** The text being pushed decoded with replacement characters: bytes not valid in the encoding. */
  let suspect = false
  const record = (rec: Rec, line: number, raw: () => string): void => {
    if (suspect && raw().includes('\uFFFD')) failed(line, 'ENCODING_ERROR', encodingMessage(input.encoding), raw())
    else {
      io.where(where)
      io.record(rec, line, raw)
    }
  }
  const newParser = (firstLine: number): TextParser => textParser(input, limit, expected, firstLine, record, failed)

  let parser: TextParser | null = csvHeader ? null : newParser(1)
  /** Reading again from this line (a record too large to keep, as in readGzip). */
  let skipTo: number | null = null
  for (;;) {
    const again = skipTo !== null
    /** The line the next text pushed starts on. */
    let line = skipTo ?? 1
    let toSkip = again ? (skipTo as number) - 1 : 0
    let pendingHeader = ''
    /** The entry is given up on (its header): stop reading it. */
    let abandon = false
    const push = (text: string, final: boolean): void => {
      suspect = input.encoding !== 'latin1' && text.includes('\uFFFD')
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) line++
      ;(parser as TextParser).push(text, final)
    }
    /** The entry's header row, compared with the first entry's (the file's header): records under another header are not mixed in. */
    const header = (text: string, final: boolean): void => {
      pendingHeader += text
      const found = csvHeaderEnd(pendingHeader, input.quote)
      if (!found && !final) {
        if (pendingHeader.length > MAX_HEADER_CHARS) {
          failWhole(1, `${e.name} inside ${zipName}: its first row is longer than 1 MiB, or a quote in it is never closed; the file was not read`)
          abandon = true
        }
        return
      }
      if (!found && pendingHeader.trim() === '') return // an empty entry: no records
      const end = found ? found.end : pendingHeader.length
      const start = found ? found.start : pendingHeader.length - pendingHeader.trimStart().length
      // Line ends up to the end of the header row (its own included, when it has one).
      const lines = found ? found.lines : (pendingHeader.match(/\n/g) ?? []).length
      let names: string[] | null = null
      let broken = false
      new CsvParser({ delimiter: input.delimiter, quote: input.quote }, { record: (f) => void (names ??= f), malformed: () => void (broken = true) }, 1).push(pendingHeader.slice(start, end), true)
      const got = names as string[] | null
      if (broken || !got || got.length !== expected.length || got.some((n, i) => n !== expected[i])) {
        const shown = got && !broken ? headerText(got) : JSON.stringify(pendingHeader.slice(start, Math.min(end, start + 300)).trimEnd())
        failWhole(
          found ? lines : lines + 1,
          `${e.name} inside ${zipName} has other columns than the first file of the zip (${headerText(expected)}): its header is ${shown}; its rows were not read, so that columns are not mixed up (put files with different columns in separate zips, or make the headers match)`
        )
        abandon = true
        return
      }
      const rest = pendingHeader.slice(end)
      pendingHeader = ''
      line = lines + 1
      parser = newParser(line)
      push(rest, final)
    }
    const result = await streamZipEntryText(archive, e.entry, {
      encoding: input.encoding,
      onText: (text, final) => {
        if (abandon) return
        if (toSkip > 0) {
          let i = -1
          while (toSkip > 0 && (i = text.indexOf('\n', i + 1)) !== -1) toSkip--
          if (toSkip > 0) {
            if (final) (parser as TextParser).push('', true)
            return
          }
          text = text.slice(i + 1)
        }
        if (parser === null) header(text, final)
        else push(text, final)
      },
      onBytes: (n) => {
        if (!again) onBytes(n)
      },
      shouldStop: () => abandon || io.stop()
    })
    if (result.damaged instanceof ChecksumError) {
      // Only known once every row was read, and perhaps written: say so, rather than claim rows were lost.
      failWhole(line, `${e.name} inside ${zipName} is damaged: its content does not match the checksum stored in the zip, so the rows read from it may hold wrong values`)
      return
    }
    if (result.damaged) {
      failWhole(line, `${e.name} inside ${zipName} ${entryDamage(result.damaged)}; ${line > 1 ? `what follows line ${line - 1} of it` : 'it'} could not be read`)
      return
    }
    const resume = parser?.resumeLine ?? null
    if (result.stopped || abandon || resume === null || io.stop()) return
    skipTo = resume
    parser?.reopen?.()
  }
}

// ---------------------------------------------------------------------------------------------
// Parsers of their own (zip entries, UTF-16 files)

type TextParser = { push(text: string, final: boolean): void; readonly resumeLine?: number | null; reopen?(): void }

/**
 * A parser of the task's text format for inputs read with parsers of their own (a zip entry, a
 * UTF-16 file), which say themselves what a record whose text did not decode fails with. CSV
 * rows become records under `header`; a row of another width fails as FIELD_COUNT, as the
 * worker's own CSV parser fails it.
 */
function textParser(
  input: PartitionTask['input'],
  limit: RecordLimit,
  header: readonly string[],
  firstLine: number,
  record: (rec: Rec, line: number, raw: () => string) => void,
  failed: (line: number, code: FailureCode, message: string, raw: string) => void
): TextParser {
  const malformed = (line: number, raw: string, message: string, code: FailureCode): void => failed(line, code, message, raw)
  if (input.format === 'jsonl') return new JsonlParser({ record: (rec, line, raw) => record(rec as Rec, line, () => raw), malformed }, firstLine, limit)
  if (input.format === 'json') {
    return new JsonArrayParser({ record: (rec, line, raw) => record(rec as Rec, line, () => raw), malformed }, firstLine, { ...limit, continued: false, last: true })
  }
  const width = header.length
  const csv: CsvParser = new CsvParser(
    { delimiter: input.delimiter, quote: input.quote },
    {
      record: (fields, line) => {
        if (fields.length !== width) {
          failed(line, 'FIELD_COUNT', `expected ${width} fields (as in the header), found ${fields.length}`, csv.lastRaw())
          return
        }
        // No inherited keys (REC_PROTO): a column named __proto__ is data like any other.
        const rec: Rec = Object.create(REC_PROTO)
        for (let i = 0; i < width; i++) rec[header[i] as string] = fields[i]
        record(rec, line, () => csv.lastRaw())
      },
      malformed
    },
    firstLine,
    limit
  )
  return csv
}

// ---------------------------------------------------------------------------------------------
// UTF-16 text files

/**
 * Read a UTF-16 file (see utf16.ts) through parsers of its own: a record whose text holds
 * U+FFFD, which the decoder puts for a lone surrogate or an odd byte at the end, fails as
 * ENCODING_ERROR with words about UTF-16 (the worker's own check speaks of input.encoding, which
 * a byte order mark overrides). Everything else is as for the same text saved as UTF-8: line
 * numbers are lines of the text, and a record's size is counted in UTF-8 bytes against the
 * job's limit, so the same rows are too large. A record too large to keep whose quote never
 * closes is read past by decoding again from the start, as readGzip does.
 */
async function readUtf16(encoding: Utf16, task: PartitionTask, io: StreamedInput): Promise<number> {
  const { input } = task
  const csvHeader = (input.format === 'csv' || input.format === 'tsv') && input.headerRow === true
  const message = utf16EncodingMessage(encoding)
  /** Some text decoded with U+FFFD: from then on each record is checked (a record can span two blocks). */
  let suspect = false
  const record = (rec: Rec, line: number, raw: () => string): void => {
    if (suspect && raw().includes('\uFFFD')) io.failed(line, 'ENCODING_ERROR', message, raw())
    else io.record(rec, line, raw)
  }
  const failed = (line: number, code: FailureCode, msg: string, raw: string): void => io.failed(line, code, msg, raw)
  const parser = textParser(input, { maxRecordBytes: task.maxRecordBytes, utf8: true }, task.header ?? [], task.firstLine, record, failed)
  let total = 0
  /** Reading again from this line (a record too large to keep, whose end the parser looks for from the line after it). */
  let skipTo: number | null = null
  for (;;) {
    const again = skipTo !== null
    let toSkip = skipTo === null ? 0 : skipTo - task.firstLine
    const result = await streamUtf16Text(task.file, {
      encoding,
      // The header row was read by the planner; its text is skipped the same way here.
      skipCsvHeader: csvHeader ? input.quote : null,
      onText: (text, final) => {
        if (toSkip > 0) {
          let i = -1
          while (toSkip > 0 && (i = text.indexOf('\n', i + 1)) !== -1) toSkip--
          if (toSkip > 0) {
            if (final) parser.push('', true)
            return
          }
          text = text.slice(i + 1)
        }
        if (!suspect && text.includes('\uFFFD')) suspect = true
        parser.push(text, final)
      },
      onBytes: (n) => {
        if (!again) io.bytes(n)
      },
      shouldStop: () => io.stop()
    })
    if (!again) total = result.bytesRead
    const resume = parser.resumeLine ?? null
    if (result.stopped || resume === null || io.stop()) return total
    skipTo = resume
    parser.reopen?.()
  }
}
