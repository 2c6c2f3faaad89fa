// The new-job preview for workbooks, JSON arrays and compressed files (detect.ts does CSV, TSV
// and JSON lines): the sheets of a workbook and the first rows of one, the first elements of an
// array, and the decompressed start of a .gz file, or of a zip's first entry, for the usual
// detection.
import { closeSync, openSync, readSync } from 'node:fs'
import { basename } from 'node:path'
import type { ColumnPreview, InputPreview } from '../../shared/api'
import { withoutCompressionSuffix } from '../../shared/formats'
import { gunzipPrefix, isGzipInput, isZlibError } from '../../workers/formats/gzip'
import { byName, entryRole, isZipInput, noEntryMessage, readZipDirectory, unreadableEntry, ZipEntryError, zipEntryPrefix, ZipInputError, type ZipItem } from '../../workers/formats/zip'
import { JsonArrayParser } from '../../workers/formats/json-array-parser'
import { decoderFor } from '../../workers/formats/decode'
import { utf16Bom, type Utf16 } from '../../workers/formats/utf16'
import { isBlankRow, readFirstRows, WorkbookError, type CellValue } from '../../workers/formats/xlsx-reader'
import { generatedColumns, type InputFile } from './inputs'
import { InvalidJobError } from './job-check'

const PREVIEW_ROWS = 20

export interface PreviewOptions {
  folder: string
  format?: InputPreview['format']
  encoding?: InputPreview['encoding']
  header?: boolean
  sheet?: string | number
  compression?: 'auto' | 'gzip' | 'zip' | 'none'
}

/** Whether the preview reads this file as a zip: as a job would, but never a workbook, which is a zip too. */
function isZipSample(path: string, compression: PreviewOptions['compression'], format: InputPreview['format'] | undefined): boolean {
  const f = format ?? formatFromName(path)
  return f !== 'xlsx' && isZipInput(compression, f ?? 'csv', path)
}

/**
 * The entry of a zip the preview shows: the first by name, of the format asked for (else of any
 * format Batchery reads), that has content and can be read; or why there is none.
 */
function zipSampleEntry(path: string, format: InputPreview['format'] | undefined): ZipItem {
  let items: ZipItem[]
  try {
    items = byName(readZipDirectory(path))
  } catch (e) {
    if (e instanceof ZipInputError) throw new InvalidJobError(null, [{ path: 'compression', message: `${basename(path)} ${e.message}` }])
    throw e
  }
  const formats: InputPreview['format'][] = format ? [format] : ['csv', 'jsonl']
  const candidates = items.filter((i) => formats.some((f) => entryRole(i.name, f) === 'read'))
  const item = candidates.find((i) => i.size > 0 && !unreadableEntry(i)) ?? candidates[0]
  if (!item) throw new InvalidJobError(null, [{ path: 'folder', message: noEntryMessage(basename(path), format ?? 'csv', items.map((i) => i.name)) }])
  return item
}

/** The name a file's format is told by: a zip's by the entry the preview shows. */
export function sampleName(path: string, relPath: string, compression: PreviewOptions['compression'], format?: InputPreview['format']): string {
  return isZipSample(path, compression, format) ? zipSampleEntry(path, format).name : relPath
}

/**
 * The start of a file for detection: decompressed when it is gzip, a zip's first entry (see
 * zipSampleEntry) when it is a zip. `whole`: the sample is the whole (decompressed) file.
 */
export function readSample(
  path: string,
  size: number,
  bytes: number,
  compression: PreviewOptions['compression'],
  format?: InputPreview['format']
): { bytes: Buffer; whole: boolean; gzip: boolean; zip?: string } {
  if (isZipSample(path, compression, format)) {
    const item = zipSampleEntry(path, format)
    try {
      const p = zipEntryPrefix(path, item, bytes)
      return { bytes: p.bytes.subarray(0, bytes), whole: p.complete && p.bytes.length <= bytes, gzip: false, zip: item.name }
    } catch (e) {
      if (e instanceof ZipEntryError) throw new InvalidJobError(null, [{ path: 'compression', message: `${e.entry} inside ${basename(path)} ${e.message}` }])
      throw e
    }
  }
  if (isGzipInput(compression, path)) {
    try {
      const p = gunzipPrefix(path, bytes)
      return { bytes: p.bytes.subarray(0, bytes), whole: p.complete && p.bytes.length <= bytes, gzip: true }
    } catch (e) {
      if (isZlibError(e)) throw new InvalidJobError(null, [{ path: 'compression', message: `${path} is not a valid gzip file (${e.message})` }])
      throw e
    }
  }
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.allocUnsafe(bytes)
    const n = readSync(fd, buf, 0, bytes, 0)
    return { bytes: buf.subarray(0, n), whole: n >= size, gzip: false }
  } finally {
    closeSync(fd)
  }
}

/** A sample's UTF-16 byte order, by its byte order mark (whatever encoding was asked for) or as asked for; null for other text. */
export function sampleUtf16(bytes: Buffer, encoding: PreviewOptions['encoding']): Utf16 | null {
  return utf16Bom(bytes) ?? (encoding === 'utf16le' || encoding === 'utf16be' ? encoding : null)
}

/** A UTF-16 sample as text, without its byte order mark; a character cut by the end of a sample that is not the whole file is left out rather than shown as U+FFFD. */
export function decodeUtf16Sample(bytes: Buffer, encoding: Utf16, whole: boolean): string {
  const d = decoderFor(encoding)
  return (d.write(bytes) + (whole ? d.end() : '')).replace(/^\uFEFF/, '')
}

/** A file's format from its name, looking through a .gz suffix; null when the name does not say. */
export function formatFromName(relPath: string): InputPreview['format'] | null {
  const name = withoutCompressionSuffix(relPath).toLowerCase()
  if (/\.(xlsx|xlsm)$/.test(name)) return 'xlsx'
  if (/\.json$/.test(name)) return 'json'
  if (/\.(jsonl|ndjson)$/.test(name)) return 'jsonl'
  if (/\.(tsv|tab)$/.test(name)) return 'tsv'
  return null
}

function text(v: unknown): string {
  return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)
}

function xlsxPreview(base: Omit<InputPreview, 'format' | 'delimiter' | 'header' | 'columns' | 'rows'>, first: InputFile, opts: PreviewOptions, guessType: (values: readonly unknown[]) => ColumnPreview['type']): InputPreview {
  let read
  try {
    read = readFirstRows(first.path, opts.sheet, PREVIEW_ROWS + 1)
  } catch (e) {
    if (e instanceof WorkbookError) throw new InvalidJobError(null, [{ path: opts.sheet !== undefined ? 'sheet' : 'folder', message: `${first.relPath} ${e.message}` }])
    throw e
  }
  const rows = read.rows.filter((r) => !isBlankRow(r.cells))
  const head = rows[0]?.cells ?? []
  // A header row is text, each name once: exports nearly always have one.
  const named = head.filter((v) => v !== undefined && v !== '')
  const header = opts.header ?? (named.length > 0 && named.every((v) => typeof v === 'string') && new Set(named).size === named.length)
  let width = 0
  for (const r of header ? rows.slice(0, 1) : rows) {
    let w = r.cells.length
    while (w > 0 && text(r.cells[w - 1]).trim() === '') w--
    width = Math.max(width, w)
  }
  const names = header ? Array.from({ length: width }, (_, i) => text(head[i])) : generatedColumns(width)
  const data = (header ? rows.slice(1) : rows).slice(0, PREVIEW_ROWS).map((r) => Array.from({ length: width }, (_, i) => r.cells[i] as CellValue | undefined))
  return {
    ...base,
    format: 'xlsx',
    delimiter: ',',
    header,
    encoding: 'utf8',
    sheets: read.sheets,
    sheet: read.sheet,
    columns: names.map((name, i) => ({ name, type: guessType(data.map((r) => r[i])), empty: data.filter((r) => text(r[i]).trim() === '').length })),
    rows: data.map((r) => r.map(text))
  }
}

function jsonPreview(base: Omit<InputPreview, 'format' | 'delimiter' | 'header' | 'columns' | 'rows'>, sampleText: string, guessType: (values: readonly unknown[]) => ColumnPreview['type']): InputPreview {
  const records: Record<string, unknown>[] = []
  const parser = new JsonArrayParser(
    {
      record: (rec) => {
        if (records.length < PREVIEW_ROWS) records.push(rec)
      },
      malformed: () => {}
    },
    1,
    { last: false }
  )
  // A sample ends part-way through the array: only the whole elements in it count.
  parser.push(sampleText, true)
  const names = [...new Set(records.flatMap((r) => Object.keys(r)))]
  return {
    ...base,
    format: 'json',
    delimiter: ',',
    header: true,
    columns: names.map((name) => ({ name, type: guessType(records.map((r) => r[name])), empty: records.filter((r) => r[name] == null || r[name] === '').length })),
    rows: records.map((r) => names.map((n) => text(r[n])))
  }
}

/**
 * The preview of a folder whose first file is a workbook or a JSON array (by the format asked
 * for, or by its name and first character); null for the formats detect.ts previews itself.
 */
export function previewSpecialFormat(
  opts: PreviewOptions,
  files: InputFile[],
  sampleBytes: number,
  guessType: (values: readonly unknown[]) => ColumnPreview['type']
): InputPreview | null {
  const first = files[0]
  const named = first ? formatFromName(sampleName(first.path, first.relPath, opts.compression, opts.format)) : null
  const format = opts.format ?? named
  if (format !== 'xlsx' && format !== 'json') return null
  const base = { folder: opts.folder, files: files.map((f) => ({ relPath: f.relPath, size: f.size })), encoding: opts.encoding ?? ('utf8' as const) }
  if (!first) return { ...base, format, delimiter: ',', header: true, columns: [], rows: [] }
  if (format === 'xlsx') return xlsxPreview(base, first, opts, guessType)
  const sample = readSample(first.path, first.size, sampleBytes, opts.compression, format)
  const utf16 = sampleUtf16(sample.bytes, opts.encoding)
  if (utf16) base.encoding = utf16
  let sampleText = utf16 ? decodeUtf16Sample(sample.bytes, utf16, sample.whole) : sample.bytes.toString(opts.encoding === 'latin1' ? 'latin1' : 'utf8').replace(/^\uFEFF/, '')
  const start = sampleText.trimStart().charAt(0)
  if (start !== '[') {
    // A .json file of one object per line is JSON lines: detect.ts previews it as such.
    if (opts.format === undefined && start === '{') return null
    if (start !== '') throw new InvalidJobError(null, [{ path: 'format', message: `${first.relPath} does not hold a JSON array (it starts with ${JSON.stringify(start)}, not "[")` }])
    sampleText = ''
  }
  return { ...jsonPreview(base, sampleText, guessType), ...(sample.gzip ? { compression: 'gzip' as const } : sample.zip ? { compression: 'zip' as const } : {}) }
}
