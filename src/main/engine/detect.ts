// What a folder holds, for the new-job screen: format, delimiter, header, encoding, column types
// guessed from a sample, and the first rows. Also where the data of a CSV file starts.
import type { ColumnPreview, InputPreview } from '../../shared/api'
import type { Job } from '../../shared/job'
import { CsvParser } from '../../workers/formats/csv-parser'
import { decodeUtf16Sample, formatFromName, previewSpecialFormat, readSample, sampleName, sampleUtf16 } from './detect-formats'
import { decodeBytes, generatedColumns, listInputFiles } from './inputs'
import { InvalidJobError } from './job-check'

/** Bytes read from the first file to detect its shape. */
const SAMPLE_BYTES = 256 * 1024
const PREVIEW_ROWS = 20
const DELIMITERS = [',', ';', '\t', '|'] as const

function isValidUtf8(buf: Buffer): boolean {
  try {
    // A sample may end inside a character: drop up to 3 trailing bytes of a partial sequence.
    new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, Math.max(0, buf.length - 3)))
    return true
  } catch {
    return false
  }
}

/**
 * The first rows of `text`. `cut`: the text is a sample that stops before the file does, so it
 * may end inside a record: only whole lines count. (A first record longer than the sample, a
 * file that is one huge line, then gives no rows rather than a piece of that line as a row.)
 */
function parseRows(text: string, delimiter: string, quote: string, max: number, cut: boolean): string[][] {
  const rows: string[][] = []
  const parser = new CsvParser(
    { delimiter, quote },
    {
      record: (f) => {
        if (rows.length < max) rows.push(f)
      },
      malformed: () => {}
    },
    1
  )
  parser.push(cut ? text.slice(0, text.lastIndexOf('\n') + 1) : text, true)
  return rows
}

/** The delimiter whose field count is the same and above one on most sample rows. */
function detectDelimiter(text: string, quote: string, cut: boolean): string {
  let best: string = ','
  let bestScore = -1
  for (const d of DELIMITERS) {
    const rows = parseRows(text, d, quote, 50, cut)
    if (!rows.length) continue
    const width = rows[0]?.length ?? 0
    if (width < 2) continue
    const same = rows.filter((r) => r.length === width).length
    const score = same * 1000 + width
    if (score > bestScore) {
      bestScore = score
      best = d
    }
  }
  return best
}

const INTEGER = /^[+-]?\d+$/
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/
const BOOLEAN = /^(true|false|yes|no)$/i

/** Share of sampled values that must fit a type for it to be suggested: exports have a few bad rows. */
const TYPE_MAJORITY = 0.9

export function guessType(values: readonly unknown[]): ColumnPreview['type'] {
  const present = values.filter((v) => v !== null && v !== undefined && String(v).trim() !== '').map((v) => String(v).trim())
  if (!present.length) return 'string'
  const mostly = (test: (v: string) => boolean): boolean => present.filter(test).length >= Math.max(1, TYPE_MAJORITY * present.length)
  // Leading zeros (00123) are codes, not numbers: a column of them stays text, so it is not rewritten.
  const codes = present.filter((v) => /^[+-]?0\d/.test(v) && !/^[+-]?0\d*\./.test(v)).length
  if (codes > present.length / 2) return 'string'
  if (mostly((v) => INTEGER.test(v))) return 'integer'
  if (mostly((v) => NUMBER.test(v))) return 'number'
  if (mostly((v) => DATE.test(v))) return 'date'
  if (mostly((v) => BOOLEAN.test(v))) return 'boolean'
  return 'string'
}

export function previewFolder(opts: {
  folder: string
  include?: string[]
  format?: InputPreview['format']
  delimiter?: string
  encoding?: InputPreview['encoding']
  header?: boolean
  sheet?: string | number
  compression?: 'auto' | 'gzip' | 'zip' | 'none'
}): InputPreview {
  const include = opts.include ?? ['*.csv', '*.tsv', '*.txt', '*.jsonl', '*.ndjson', '*.json', '*.xlsx', '*.gz', '*.zip']
  const probe = { input: { folder: opts.folder, include, exclude: [] }, output: { folder: '/nonexistent-output' } } as unknown as Job
  const files = listInputFiles(probe, '/')
  const first = files[0]
  // Workbooks and JSON arrays (detect-formats.ts); a .gz file is detected by its decompressed start.
  const special = previewSpecialFormat(opts, files, SAMPLE_BYTES, guessType)
  if (special) return special
  const named = first ? formatFromName(sampleName(first.path, first.relPath, opts.compression, opts.format)) : null
  const format = (opts.format as 'csv' | 'tsv' | 'jsonl' | undefined) ?? (named === 'jsonl' || named === 'json' ? 'jsonl' : named === 'tsv' ? 'tsv' : 'csv')
  const sampled: { bytes: Buffer; whole: boolean; gzip: boolean; zip?: string } = first
    ? readSample(first.path, first.size, SAMPLE_BYTES, opts.compression, opts.format)
    : { bytes: Buffer.alloc(0), whole: true, gzip: false }
  const sample = sampled.bytes
  // UTF-16 (Excel's "Unicode Text") by its byte order mark, as a run reads it (utf16.ts).
  const utf16 = sampleUtf16(sample, opts.encoding)
  const bom = sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf
  const bytes = bom ? sample.subarray(3) : sample
  const encoding = utf16 ?? opts.encoding ?? (isValidUtf8(bytes) ? 'utf8' : 'windows-1252')
  const text = utf16 ? decodeUtf16Sample(sample, utf16, sampled.whole) : decodeBytes(bytes, encoding)
  const cut = first !== undefined && !sampled.whole
  const base = { folder: opts.folder, files: files.map((f) => ({ relPath: f.relPath, size: f.size })), format, encoding, ...(sampled.gzip ? { compression: 'gzip' as const } : sampled.zip ? { compression: 'zip' as const } : {}) }
  if (format === 'jsonl') {
    const records: Record<string, unknown>[] = []
    for (const line of text.split('\n').slice(0, PREVIEW_ROWS + 1)) {
      try {
        const v = JSON.parse(line)
        if (v && typeof v === 'object' && !Array.isArray(v)) records.push(v as Record<string, unknown>)
      } catch {
        // a partial last line or a bad one: the run will report bad lines properly
      }
    }
    const names = [...new Set(records.flatMap((r) => Object.keys(r)))]
    return {
      ...base,
      delimiter: ',',
      header: true,
      columns: names.map((name) => ({ name, type: guessType(records.map((r) => r[name])), empty: records.filter((r) => r[name] == null || r[name] === '').length })),
      rows: records.slice(0, PREVIEW_ROWS).map((r) => names.map((n) => (r[n] == null ? '' : typeof r[n] === 'object' ? JSON.stringify(r[n]) : String(r[n]))))
    }
  }
  const delimiter = opts.delimiter ?? (format === 'tsv' ? '\t' : detectDelimiter(text, '"', cut))
  if (delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new InvalidJobError(null, [{ path: 'delimiter', message: 'cannot be the quote character or a line break' }])
  }
  const rows = parseRows(text, delimiter, '"', 200, cut)
  const head = rows[0] ?? []
  // A header row is text where the data below it is typed, or simply unlike the rows below.
  const body = rows.slice(1)
  const headerLooksTyped = head.some((h, i) => guessType([h]) !== 'string' && guessType(body.map((r) => r[i])) !== 'string')
  const header = opts.header ?? (rows.length > 0 && !headerLooksTyped && new Set(head).size === head.length && head.every((h) => h.trim() !== ''))
  const names = header ? head : generatedColumns(head.length)
  const data = header ? body : rows
  return {
    ...base,
    delimiter,
    header,
    columns: names.map((name, i) => ({ name, type: guessType(data.map((r) => r[i])), empty: data.filter((r) => (r[i] ?? '').trim() === '').length })),
    rows: data.slice(0, PREVIEW_ROWS)
  }
}
