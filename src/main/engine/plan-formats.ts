// Planning the inputs that are not split by the CSV / JSON-lines scan: gzip-compressed files, zip
// archives, xlsx workbooks and UTF-16 text files (one partition each, read from the start by the
// worker) and JSON arrays (split between elements by their own scan). Also their header and first
// data line, which the job check, the dry run and the planner need, read synchronously from the
// file's start.
import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync } from 'node:fs'
import { boundRaw, type FailedRecord } from '../../shared/failures'
import { hasHeaderRow } from '../../shared/formats'
import type { PartitionTask } from '../../shared/partition-task'
import { inputDelimiter, type Job } from '../../shared/job'
import { CsvParser } from '../../workers/formats/csv-parser'
import { decoderFor } from '../../workers/formats/decode'
import { csvHeaderEnd, gunzipPrefix, hasGzipSignature, isGzipInput, isZlibError } from '../../workers/formats/gzip'
import { JsonArrayParser, notAnArrayMessage } from '../../workers/formats/json-array-parser'
import { filePrefix, utf16Bom, utf16EncodingOf, type Utf16 } from '../../workers/formats/utf16'
import { isZipInput, nestedMessage, noEntryMessage, ZipEntryError, zipContents, zipEntryPrefix, ZipInputError } from '../../workers/formats/zip'
import { columnLetter, isBlankRow, readFirstRows, WorkbookError, type CellValue } from '../../workers/formats/xlsx-reader'
import { dataStartOf, generatedColumns, headerColumns, maxRecordBytes, notTextReason, readHeader, type InputFile } from './inputs'
import { scanJsonArray } from './scan-json-array'

/** How a file is compressed (gzip by its name, zip by its name or signature; see the job's input.compression), or null. */
export function compressionOf(job: Job, path: string): 'gzip' | 'zip' | null {
  if (job.input.format === 'xlsx') return null
  if (isGzipInput(job.input.compression, path)) return 'gzip'
  return isZipInput(job.input.compression, job.input.format, path) ? 'zip' : null
}

/**
 * A plain text file read as UTF-16 (by its byte order mark, or input.encoding), or null. Not a
 * workbook or a compressed file: those say their own encoding, or are refused (see notText).
 */
export function utf16Of(job: Job, path: string): Utf16 | null {
  if (job.input.format === 'xlsx' || compressionOf(job, path) !== null) return null
  return utf16EncodingOf(path, job.input.encoding)
}

/** Whether a file is planned here rather than by the byte-range scan. */
export function isWholeFileInput(job: Job, path: string): boolean {
  if (job.input.format === 'json' || job.input.format === 'xlsx' || compressionOf(job, path) !== null) return true
  return utf16EncodingOf(path, job.input.encoding) !== null
}

export interface Layout {
  /** Column names (csv, tsv, xlsx), or null (JSON lines, JSON arrays). */
  header: string[] | null
  /** Where records start: the line (or sheet row) after the header. */
  firstLine: number
  /** Nothing but white space, or a sheet with no rows: no records at all. */
  blank: boolean
}

export type LayoutResult = ({ ok: true } & Layout) | { ok: false; message: string; raw: string }

function refuse(message: string, raw = ''): LayoutResult {
  return { ok: false, message, raw }
}

function cellName(v: CellValue | undefined): string {
  return v === undefined ? '' : String(v)
}

/** A workbook's header row (or generated names) and where its data starts. */
function xlsxLayout(job: Job, path: string, relPath: string): LayoutResult {
  if (hasGzipSignature(path)) return refuse(`${relPath} is gzip-compressed; an xlsx workbook is compressed already and is read as it is (unpack it first)`)
  let first
  try {
    first = readFirstRows(path, job.input.sheet, 1)
  } catch (e) {
    if (e instanceof WorkbookError) return refuse(`${relPath} ${e.message}`)
    throw e
  }
  const row = first.rows.find((r) => !isBlankRow(r.cells))
  if (!row) return { ok: true, header: [], firstLine: 1, blank: true }
  let width = row.cells.length
  while (width > 0 && cellName(row.cells[width - 1]).trim() === '') width--
  if (!job.input.header) return { ok: true, header: generatedColumns(width), firstLine: row.number, blank: false }
  const where = `${relPath}, sheet "${first.sheet}", row ${row.number}`
  const names: string[] = []
  const seen = new Map<string, number>()
  for (let i = 0; i < width; i++) {
    const name = cellName(row.cells[i])
    if (name.trim() === '') return refuse(`${where}: column ${columnLetter(i)} of the header row has no name; give it one, or set input.header to false`, JSON.stringify(row.cells))
    const j = seen.get(name)
    if (j !== undefined) return refuse(`${where}: the header names column "${name}" twice (columns ${j + 1} and ${i + 1})`, JSON.stringify(row.cells))
    seen.set(name, i)
    names.push(name)
  }
  return { ok: true, header: names, firstLine: row.number + 1, blank: false }
}

/** Why decompressed text cannot be read as text, or null (as inputs.notTextReason says for plain files). */
function notText(head: Buffer, relPath: string, encoding: Job['input']['encoding']): string | null {
  // UTF-16 is read from plain files only (utf16.ts); inside a .gz or a zip it is refused, with
  // the way out, rather than decoded as nonsense.
  if (utf16Bom(head) || encoding === 'utf16le' || encoding === 'utf16be') {
    return `${relPath} holds UTF-16 text, which Batchery reads from files that are not compressed only; unpack it, or save it as UTF-8`
  }
  let nuls = 0
  for (let i = head.indexOf(0); i !== -1 && nuls < 4; i = head.indexOf(0, i + 1)) nuls++
  if (nuls >= 4) return `${relPath} does not hold text once decompressed (it holds binary data)`
  const start = head.subarray(0, 8192)
  if (start.includes(13) && !start.includes(10) && start.indexOf(13) < start.length - 1) {
    return `${relPath} ends its lines with a carriage return only (old Mac line ends); save it with Windows or Unix line ends`
  }
  return null
}

/** A gzip file's inner layout, from its decompressed start. */
function gzipLayout(job: Job, path: string, relPath: string): LayoutResult {
  if (!hasGzipSignature(path)) return refuse(`${relPath} is not gzip-compressed${job.input.compression === 'gzip' ? '' : ' (its name ends in .gz)'}; set input.compression to "none" to read it as it is`)
  let prefix
  try {
    prefix = gunzipPrefix(path)
  } catch (e) {
    if (isZlibError(e)) return refuse(`${relPath} is not a valid gzip file (${e.message})`)
    throw e
  }
  return textLayout(job, prefix, relPath)
}

/**
 * A zip's layout: the header of its first entry to read (by name) that has content. Entries
 * that cannot be read (password-protected, damaged) are left for the worker to report, each as
 * a failed record naming it, so that they do not keep the other entries from being read.
 */
function zipLayout(job: Job, path: string, relPath: string): LayoutResult {
  let contents
  try {
    contents = zipContents(path, job.input.format)
  } catch (e) {
    if (e instanceof ZipInputError) return refuse(`${relPath} ${e.message}${job.input.compression === 'zip' ? '; set input.compression to "auto" to read files that are not zips as they are' : ''}`)
    throw e
  }
  if (!contents.read.length) {
    const nested = contents.nested[0]
    return refuse(nested ? nestedMessage(nested.name, relPath) : noEntryMessage(relPath, job.input.format, contents.all.map((e) => e.name)))
  }
  let problem: LayoutResult | null = null
  for (const item of contents.read) {
    if (item.size === 0) continue
    let prefix
    try {
      prefix = zipEntryPrefix(path, item)
    } catch (e) {
      if (!(e instanceof ZipEntryError)) throw e
      problem ??= refuse(`${e.entry} inside ${relPath} ${e.message}`)
      continue
    }
    const layout = textLayout(job, prefix, `${item.name} inside ${relPath}`)
    if (!layout.ok) {
      problem ??= layout
      continue
    }
    if (!layout.blank) return layout
  }
  return problem ?? { ok: true, header: job.input.format === 'jsonl' || job.input.format === 'json' ? null : [], firstLine: 1, blank: true }
}

/** The layout of decompressed text (a .gz file, or an entry of a zip) from its start. */
function textLayout(job: Job, prefix: { bytes: Buffer; complete: boolean }, relPath: string): LayoutResult {
  const problem = notText(prefix.bytes, relPath, job.input.encoding)
  if (problem) return refuse(problem)
  return decodedLayout(job, decoderFor(job.input.encoding).write(prefix.bytes), prefix.complete, relPath)
}

/** The first bytes of a UTF-16 file read for its layout: a header row up to 1 Mi characters. */
const UTF16_PREFIX_BYTES = 2 << 20

/**
 * A UTF-16 file's layout, from its decoded start. A file that input.encoding calls UTF-16 but
 * that has no zero byte at all in its start is not UTF-16 (the line ends, delimiters and digits
 * of UTF-16 text each hold one) and would decode as a screen of Chinese-looking characters
 * without a single error: it is refused, as is one that starts with a UTF-8 byte order mark.
 */
function utf16Layout(job: Job, path: string, relPath: string, encoding: Utf16): LayoutResult {
  let prefix
  try {
    prefix = filePrefix(path, UTF16_PREFIX_BYTES)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return refuse(`${relPath} cannot be read (${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? (e as Error).message)})`)
  }
  const head = prefix.bytes
  if (!utf16Bom(head)) {
    const setting = `input.encoding is "${job.input.encoding}"`
    if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return refuse(`${relPath} is UTF-8 text (it starts with UTF-8's byte order mark), but ${setting}; set input.encoding to "utf8"`)
    if (head.length >= 2 && !head.subarray(0, 8192).includes(0)) return refuse(`${relPath} does not look like UTF-16 text, but ${setting}; set input.encoding to the file's encoding (most likely "utf8")`)
  }
  const decoder = decoderFor(encoding)
  // The whole file decoded, its end included (an odd byte is a U+FFFD there); a cut start, not.
  const text = decoder.write(head) + (prefix.complete ? decoder.end() : '')
  const layout = decodedLayout(job, text, prefix.complete, relPath)
  if (layout.ok && layout.header?.some((name) => name.includes('\uFFFD'))) {
    return refuse(`${relPath}, line ${layout.firstLine - 1}: the header row holds bytes that are not valid UTF-16 (half of a two-part character); the file may be damaged`, layout.header.join('\t'))
  }
  return layout
}

/** The layout of text decoded from a file's start (a BOM left on it is dropped here). */
function decodedLayout(job: Job, decoded: string, complete: boolean, relPath: string): LayoutResult {
  let text = decoded
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  if (text.trim() === '' && complete) return { ok: true, header: job.input.format === 'jsonl' || job.input.format === 'json' ? null : [], firstLine: 1, blank: true }
  if (job.input.format === 'jsonl') return { ok: true, header: null, firstLine: 1, blank: false }
  if (job.input.format === 'json') {
    const first = text.trimStart().charAt(0)
    if (first && first !== '[') return refuse(`${relPath}: ${notAnArrayMessage(first)}`, text.trimStart().slice(0, 200))
    return { ok: true, header: null, firstLine: 1, blank: false }
  }
  const found = csvHeaderEnd(text, job.input.quote)
  let record: { start: number; end: number; lines: number }
  if (found) record = found
  else if (complete) record = { start: text.length - text.trimStart().length, end: text.length, lines: (text.match(/\n/g) ?? []).length }
  else return refuse(`${relPath}: the first row is longer than 1 MiB, or a quote in it is never closed`, text.slice(0, 2000))
  const recordText = text.slice(record.start, record.end)
  if (job.input.header) {
    const h = headerColumns(recordText, job, relPath)
    if (!h.ok) return refuse(h.message, recordText)
    return { ok: true, header: h.columns, firstLine: record.lines + 1, blank: false }
  }
  let fields: string[] | null = null
  new CsvParser({ delimiter: inputDelimiter(job), quote: job.input.quote }, { record: (f) => void (fields ??= f), malformed: () => {} }, 1).push(recordText, true)
  return { ok: true, header: generatedColumns((fields as string[] | null)?.length ?? 0), firstLine: 1, blank: false }
}

/** A plain JSON array's start: is it an array? (The planner's scan checks the whole file.) */
function jsonLayout(path: string, relPath: string): LayoutResult {
  const fd = openSync(path, 'r')
  let text: string
  try {
    const buf = Buffer.allocUnsafe(64 * 1024)
    text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8').replace(/^\uFEFF/, '')
  } finally {
    closeSync(fd)
  }
  const first = text.trimStart().charAt(0)
  if (first === '') return { ok: true, header: null, firstLine: 1, blank: true }
  if (first !== '[') return refuse(`${relPath}: ${notAnArrayMessage(first)}`, text.trimStart().slice(0, 200))
  return { ok: true, header: null, firstLine: 1, blank: false }
}

/** Header and first data line of a file planned here; null for the files the byte-range scan plans. */
export function wholeFileLayout(job: Job, path: string, relPath: string): LayoutResult | null {
  if (job.input.format === 'xlsx') return xlsxLayout(job, path, relPath)
  const compression = compressionOf(job, path)
  if (compression === 'gzip') return gzipLayout(job, path, relPath)
  if (compression === 'zip') return zipLayout(job, path, relPath)
  const utf16 = utf16Of(job, path)
  if (utf16) return utf16Layout(job, path, relPath, utf16)
  if (job.input.format === 'json') return jsonLayout(path, relPath)
  return null
}

/** readHeader for every format: the columns of a file (csv, tsv, xlsx; also compressed), or why it cannot be read. */
export function readInputHeader(file: string, job: Job): { ok: true; columns: string[] } | { ok: false; message: string } {
  const layout = wholeFileLayout(job, file, file)
  if (!layout) {
    // What a run refuses is no header: UTF-16 without a BOM would give names like "i\0d\0", and
    // the job check would call every column of the steps unknown rather than let the run say why.
    let refusal: string | null = null
    try {
      refusal = notTextReason(file, file)
    } catch {
      // Cannot be opened: readHeader says why, in plain words.
    }
    return refusal ? { ok: false, message: refusal } : readHeader(file, job)
  }
  if (!layout.ok) return { ok: false, message: layout.message }
  return { ok: true, columns: layout.header ?? [] }
}

/** dataStartOf for every format: where a dry run starts reading (compressed files and workbooks from their start). */
export function inputDataStart(file: string, job: Job): { dataStart: number; firstLine: number } {
  const layout = wholeFileLayout(job, file, file)
  if (!layout) return dataStartOf(file, job)
  return { dataStart: 0, firstLine: layout.ok ? layout.firstLine : 1 }
}

function hashFile(path: string): { sha256: string; size: number } {
  const h = createHash('sha256')
  const fd = openSync(path, 'r')
  const buf = Buffer.allocUnsafe(4 << 20)
  let size = 0
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null)
      if (n === 0) break
      h.update(buf.subarray(0, n))
      size += n
    }
  } finally {
    closeSync(fd)
  }
  return { sha256: h.digest('hex'), size }
}

export interface WholeFilePlan {
  size: number
  sha256: string
  header: string[] | null
  partitions: { start: number; end: number; firstLine: number }[]
  /** The file is not processed: why (a FILE_UNREADABLE failed record). */
  failure: Pick<FailedRecord, 'message' | 'raw'> | null
}

/**
 * Plan one file that is not split by the byte-range scan: a JSON array (split between elements,
 * `targetBytes` apart), or a compressed file, zip, workbook or UTF-16 file (one partition).
 */
export function planWholeFile(job: Job, f: InputFile, targetBytes: number): WholeFilePlan {
  // A UTF-16 array is one partition: its elements cannot be found by byte scanning (see utf16.ts).
  if (job.input.format === 'json' && compressionOf(job, f.path) === null && utf16Of(job, f.path) === null) {
    const scan = scanJsonArray(f.path, targetBytes)
    const failure = scan.notArray !== null ? { message: `${f.relPath}: ${notAnArrayMessage(scan.notArray.trimStart().charAt(0))}; the file was not processed`, raw: scan.notArray } : null
    return { size: scan.size, sha256: scan.sha256, header: null, partitions: scan.partitions, failure }
  }
  const { sha256, size } = hashFile(f.path)
  const layout = size === 0 ? ({ ok: true, header: hasHeaderRow(job.input.format) ? [] : null, firstLine: 1, blank: true } as const) : wholeFileLayout(job, f.path, f.relPath)
  if (!layout) throw new Error(`${f.relPath} is not planned as a whole file`)
  if (!layout.ok) return { size, sha256, header: null, partitions: [], failure: { message: `${layout.message}; the file was not processed`, raw: layout.raw } }
  return {
    size,
    sha256,
    header: layout.header,
    partitions: layout.blank ? [] : [{ start: 0, end: size, firstLine: layout.firstLine }],
    failure: null
  }
}

/** What a partition task says about its input, from the job. */
export function taskInput(job: Job): PartitionTask['input'] {
  return {
    format: job.input.format,
    delimiter: inputDelimiter(job),
    quote: job.input.quote,
    encoding: job.input.encoding,
    ...(job.input.compression ? { compression: job.input.compression } : {}),
    ...(job.input.sheet !== undefined ? { sheet: job.input.sheet } : {}),
    headerRow: hasHeaderRow(job.input.format) && job.input.header
  }
}

/**
 * The records of a set-aside partition of a file planned here, as failed records (see the
 * runner's quarantinedRecords), or null for the files the byte-range scan plans. A JSON array's
 * part is read element by element; a compressed file, workbook or UTF-16 file, which the engine's thread
 * cannot read without the worker's streaming, is one failed record for the whole file.
 */
export function quarantinedWholeFile(job: Job, path: string, range: { start: number; end: number; firstLine: number; last: boolean }, message: string): FailedRecord[] | null {
  if (!isWholeFileInput(job, path)) return null
  if (job.input.format !== 'json' || compressionOf(job, path) !== null || utf16Of(job, path) !== null) {
    return [{ line: range.firstLine, step: 'read', code: 'QUARANTINED', message: `${message} (the whole file, which is read in one piece)`, raw: '' }]
  }
  const failures: FailedRecord[] = []
  const push = (line: number, raw: string): void => {
    failures.push({ line, step: 'read', code: 'QUARANTINED', message, raw: boundRaw(raw) })
  }
  const parser = new JsonArrayParser(
    { record: (_r, line, raw) => push(line, raw), malformed: (line, raw) => push(line, raw) },
    range.firstLine,
    { continued: range.start > 0, last: range.last, maxRecordBytes: maxRecordBytes(job) }
  )
  const fd = openSync(path, 'r')
  const block = Buffer.allocUnsafe(1 << 16)
  const decoder = decoderFor(job.input.encoding)
  try {
    for (let pos = range.start; pos < range.end; ) {
      const n = readSync(fd, block, 0, Math.min(block.length, range.end - pos), pos)
      if (n === 0) break
      pos += n
      const final = pos >= range.end
      parser.push(decoder.write(block.subarray(0, n)) + (final ? decoder.end() : ''), final)
    }
  } finally {
    closeSync(fd)
  }
  return failures
}
