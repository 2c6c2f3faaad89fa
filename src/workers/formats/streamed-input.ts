// Inputs a worker cannot read by byte range: gzip-compressed files (their text streams through
// zlib into the usual parsers) and xlsx workbooks (rows stream out of one sheet). Each is one
// partition covering the whole file. The worker hands in what it does with text, records and
// failures; this module only reads.
import type { Rec } from '../../shared/expression'
import type { FailureCode } from '../../shared/failures'
import type { PartitionTask } from '../../shared/partition-task'
import { damagedMessage, isGzipInput, streamGzipText } from './gzip'
import { columnLetter, isBlankRow, readSheet, WorkbookError, type SheetRow } from './xlsx-reader'

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

/** How a task's file is read, when not by byte range. */
export function streamedKind(task: PartitionTask): 'gzip' | 'xlsx' | null {
  if (task.input.format === 'xlsx') return 'xlsx'
  return isGzipInput(task.input.compression, task.file) ? 'gzip' : null
}

/** Read a whole file the streamed way (by its path: it opens its own streams); resolves with the bytes read. */
export async function readStreamed(kind: 'gzip' | 'xlsx', task: PartitionTask, io: StreamedInput): Promise<number> {
  return kind === 'xlsx' ? readXlsx(task, io) : readGzip(task, io)
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
