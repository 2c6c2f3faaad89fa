// Assembly for the output formats that are more than staged records one after another:
//   json  a JSON array: "[", the records joined with commas, "]" (an empty output is "[]"), valid
//         however many partitions it was assembled from. Records are staged as JSON lines, so
//         each "\n" ends one record and the commas go there, as the bytes stream by.
//   xlsx  a workbook with one sheet named after the job: a header row, then the records. Records
//         are staged as JSON arrays of values (numbers stay numbers) and assembled in input order
//         like any output; then the assembled rows stream into exceljs's WorkbookWriter. Its zip
//         entries and document properties get a fixed date, so the same rows give the same bytes
//         and a resumed run writes the same workbook as an uninterrupted one.
//   parquet  staged and assembled like xlsx; then written as a Parquet file (parquet-output.ts).
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, fsyncSync, openSync, readSync, renameSync, rmSync } from 'node:fs'
import { createInterface } from 'node:readline'
// exceljs is loaded when a workbook is written, not whenever Batchery starts (it costs ~0.8 s).
import type ExcelJS from 'exceljs'
import { csvHeaderLine } from '../../workers/formats/encode'
import { writeParquetOutput } from './parquet-output'

/** What an output starts with: the header line of CSV, or the staged header row of a workbook or Parquet file. */
export function outputHead(format: string, columns: readonly string[], delimiter: string, quoting?: 'needed' | 'all'): Buffer | null {
  if (format === 'csv' || format === 'tsv') return Buffer.from(csvHeaderLine(columns, delimiter, quoting))
  if (format === 'xlsx' || format === 'parquet') return Buffer.from(JSON.stringify(columns) + '\n')
  return null
}

/**
 * Wraps the writer of an output's records so that the format's framing is added: for a JSON
 * array, the brackets and commas. `end` writes what closes the output.
 */
export function bodyWriter(format: string, write: (b: Buffer) => void): { write(b: Buffer): void; end(): void } {
  if (format !== 'json') return { write, end: () => {} }
  const OPEN = Buffer.from('[\n')
  const COMMA = Buffer.from(',\n')
  const CLOSE = Buffer.from('\n]\n')
  const EMPTY = Buffer.from('[]\n')
  let started = false
  // The last record's line end, held back: a comma goes there if another record follows.
  let held = false
  return {
    write(b: Buffer): void {
      if (b.length === 0) return
      if (!started) {
        write(OPEN)
        started = true
      }
      if (held) {
        write(COMMA)
        held = false
      }
      let start = 0
      for (let nl = b.indexOf(10); nl !== -1; nl = b.indexOf(10, start)) {
        if (nl > start) write(b.subarray(start, nl))
        start = nl + 1
        if (start === b.length) {
          held = true
          break
        }
        write(COMMA)
      }
      if (start < b.length) write(b.subarray(start))
    },
    end(): void {
      write(started ? CLOSE : EMPTY)
    }
  }
}

/** Excel's limit of rows per sheet. */
export const XLSX_MAX_ROWS = 1_048_576

/** A fixed date for the workbook's properties and zip entries: the same rows give the same file. */
const FIXED_DATE = new Date(Date.UTC(2000, 0, 1))

/** A sheet name Excel accepts: at most 31 characters, none of : \ / ? * [ ], not starting or ending with '. */
export function sheetNameFor(name: string): string {
  const clean = name.replace(/[:\\/?*[\]]/g, '_').replace(/^'+|'+$/g, '').trim().slice(0, 31).trim()
  return clean === '' || clean.toLowerCase() === 'history' ? 'Sheet1' : clean
}

/** What FixedDateWorkbookWriter touches inside exceljs's WorkbookWriter. */
interface WriterInternals {
  zip: { append(source: unknown, data: Record<string, unknown>): unknown }
  addThemes(): Promise<void>
  addOfficeRels(): Promise<void>
}

/** Give every zip entry the fixed date (archiver stamps each with the time it is added). */
function fixEntryDates(w: WriterInternals): void {
  const zip = w.zip as WriterInternals['zip'] & { fixedDates?: boolean }
  if (zip.fixedDates) return
  zip.fixedDates = true
  const append = zip.append.bind(zip)
  zip.append = (source, data) => append(source, { ...data, date: FIXED_DATE })
}

type WriterClass = new (options: Record<string, unknown>) => WriterInternals
let fixedDateWriter: WriterClass | null = null

/** exceljs's streaming WorkbookWriter; its constructor already adds two entries, hence the overrides. */
async function fixedDateWorkbookWriter(): Promise<WriterClass> {
  if (fixedDateWriter) return fixedDateWriter
  const excel = ((await import('exceljs')) as unknown as { default: typeof ExcelJS }).default
  const WriterBase = excel.stream.xlsx.WorkbookWriter as unknown as WriterClass
  fixedDateWriter = class FixedDateWorkbookWriter extends WriterBase {
    override addThemes(): Promise<void> {
      fixEntryDates(this)
      return super.addThemes()
    }

    override addOfficeRels(): Promise<void> {
      fixEntryDates(this)
      return super.addOfficeRels()
    }
  }
  return fixedDateWriter
}

function sheetName(base: string, n: number): string {
  if (n === 1) return base
  const suffix = ` (${n})`
  return base.slice(0, 31 - suffix.length) + suffix
}

interface Output {
  tmp: string
  bytes: number
  sha256: string
}

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function hashFile(path: string): { sha256: string; bytes: number } {
  const h = createHash('sha256')
  const fd = openSync(path, 'r')
  const buf = Buffer.allocUnsafe(1 << 20)
  let bytes = 0
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null)
      if (n === 0) break
      h.update(buf.subarray(0, n))
      bytes += n
    }
  } finally {
    closeSync(fd)
  }
  return { sha256: h.digest('hex'), bytes }
}

/** What of exceljs's sheet writer is looked at to wait for it (its stream is a StreamBuf piped into archiver). */
interface SheetStream {
  stream?: {
    buffers?: unknown[]
    pipes?: { _writableState?: { length: number }; _readableState?: { length: number } }[]
  }
}

/** Bytes of a sheet's rows written but not yet taken by the zip writer. */
function queuedBytes(sheet: ExcelJS.Worksheet): number {
  const s = (sheet as unknown as SheetStream).stream
  const dest = s?.pipes?.[0]
  return (s?.buffers?.length ?? 0) * 65536 + (dest?._writableState?.length ?? 0) + (dest?._readableState?.length ?? 0)
}

const QUEUE_LIMIT_BYTES = 1 << 20
const STALL_MS = 60_000

/**
 * exceljs writes each committed row into the sheet's zip entry without waiting for compression
 * to keep up, so a big sheet would pile up in memory (about 1 MB per 1,000 rows). Wait here until
 * what is queued drains below 1 MiB: memory stays flat, whatever the number of rows.
 */
async function drained(sheet: ExcelJS.Worksheet): Promise<void> {
  let last = queuedBytes(sheet)
  let since = Date.now()
  while (last > QUEUE_LIMIT_BYTES) {
    await new Promise((resolve) => setTimeout(resolve, 1))
    const now = queuedBytes(sheet)
    if (now !== last) {
      last = now
      since = Date.now()
    } else if (Date.now() - since > STALL_MS) {
      throw new Error('the workbook writer stopped taking rows')
    }
  }
}

/** Formats written from the assembled rows once assembly is done (the rows are staged as JSON arrays of values). */
export function writesAfterAssembly(format: string): boolean {
  return format === 'xlsx' || format === 'parquet'
}

/** Turn an assembled output (its rows staged as JSON arrays) into the final file format, at the same temporary name. */
export async function writeFinalFormat(format: string, out: Output, jobName: string, tmpOutputs: string[]): Promise<void> {
  if (format === 'xlsx') return writeXlsxOutput(out, jobName, tmpOutputs)
  if (format === 'parquet') return writeParquetOutput(out, tmpOutputs)
  throw new Error(`no writer for ${format} output`)
}

/**
 * Turn an assembled output (the header row, then the records, each a JSON array of values on one
 * line, at `out.tmp`) into a workbook at the same temporary name, fsynced, and update its size and
 * hash. A sheet holds at most 1,048,576 rows; more records go on in sheets named "<name> (2)",
 * "<name> (3)"..., each with the header row.
 */
export async function writeXlsxOutput(out: Output, jobName: string, tmpOutputs: string[]): Promise<void> {
  const book = out.tmp.replace(/\.partial$/, '') + '.xlsx.partial'
  tmpOutputs.push(book)
  const Writer = await fixedDateWorkbookWriter()
  const wb = new Writer({
    filename: book,
    useStyles: false,
    useSharedStrings: false,
    creator: 'Batchery',
    lastModifiedBy: 'Batchery',
    created: FIXED_DATE,
    modified: FIXED_DATE
  }) as unknown as ExcelJS.stream.xlsx.WorkbookWriter
  const base = sheetNameFor(jobName)
  let sheetNo = 0
  let sheet: ExcelJS.Worksheet | null = null
  let rowsInSheet = XLSX_MAX_ROWS
  const lines = createInterface({ input: createReadStream(out.tmp, { highWaterMark: 1 << 20 }), crlfDelay: Infinity })
  let n = 0
  let columns: string[] | null = null
  for await (const line of lines) {
    if (line === '') continue
    if (columns === null) {
      columns = JSON.parse(line) as string[]
      continue
    }
    if (rowsInSheet >= XLSX_MAX_ROWS) {
      sheet?.commit()
      sheet = wb.addWorksheet(sheetName(base, ++sheetNo), { views: [{ state: 'frozen', ySplit: 1 }] })
      sheet.addRow(columns ?? []).commit()
      rowsInSheet = 1
    }
    const values = JSON.parse(line) as (string | number | boolean | null)[]
    ;(sheet as ExcelJS.Worksheet).addRow(values.map((v) => (v === null ? undefined : v))).commit()
    rowsInSheet++
    if (++n % 1000 === 0) await drained(sheet as ExcelJS.Worksheet)
  }
  if (!sheet) {
    sheet = wb.addWorksheet(sheetName(base, 1), { views: [{ state: 'frozen', ySplit: 1 }] })
    sheet.addRow(columns ?? []).commit()
  }
  sheet.commit()
  await wb.commit()
  fsyncFile(book)
  rmSync(out.tmp, { force: true })
  renameSync(book, out.tmp)
  const h = hashFile(out.tmp)
  out.bytes = h.bytes
  out.sha256 = h.sha256
}
