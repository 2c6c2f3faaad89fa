// Finding a job's input files and reading their headers.
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import iconv from 'iconv-lite'
import picomatch from 'picomatch'
import { DEFAULT_MAX_RECORD_BYTES, formatBytes } from '../../shared/failures'
import { inputDelimiter, parseSizeBytes, type AnyJob, type Job } from '../../shared/job'
import { CsvParser } from '../../workers/formats/csv-parser'
import { decoderFor } from '../../workers/formats/decode'
import { resolveIn } from './paths'

export interface InputFile {
  path: string
  /** Path relative to the input folder, with / separators: stable across machines, sorted on. */
  relPath: string
  size: number
  mtimeMs: number
}

/**
 * The files a job reads, sorted by relative path (the order that decides "first occurrence" for
 * dedupe and the order of a merged output). The job's own output folder is never an input, even
 * when it lies inside the input folder. Patterns follow glob rules: "*.csv" matches files in the
 * folder itself, "**\/*.csv" in every subfolder too; dot files are skipped.
 */
export function listInputFiles(job: AnyJob, baseDir: string): InputFile[] {
  const root = resolveIn(baseDir, job.input.folder)
  const outDir = resolveIn(baseDir, job.output.folder)
  // Nor is its archive folder: files moved there were processed already.
  const archiveDir = job.archive ? resolveIn(baseDir, job.archive.folder) : null
  const include = picomatch(job.input.include)
  const exclude = job.input.exclude.length ? picomatch(job.input.exclude) : () => false
  const files: InputFile[] = []
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const abs = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name)
    if (abs === outDir || abs.startsWith(outDir + sep)) continue
    if (archiveDir && (abs === archiveDir || abs.startsWith(archiveDir + sep))) continue
    const rel = relative(root, abs).split(sep).join('/')
    if (!include(rel) || exclude(rel)) continue
    const st = statSync(abs)
    files.push({ path: abs, relPath: rel, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) })
  }
  files.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0))
  return files
}

export function decodeBytes(buf: Buffer, encoding: Job['input']['encoding']): string {
  if (encoding === 'utf8') return buf.toString('utf8')
  if (encoding === 'latin1') return buf.toString('latin1')
  // TextDecoder (decode.ts), not iconv-lite: a lone surrogate becomes U+FFFD, not a silent one.
  if (encoding === 'utf16le' || encoding === 'utf16be') {
    const d = decoderFor(encoding)
    return d.write(buf) + d.end()
  }
  return iconv.decode(buf, encoding)
}

/** The fields of the first record in `text`, or why it cannot be read. */
function firstRecord(text: string, job: Job): { ok: true; fields: string[] } | { ok: false; message: string } {
  let fields: string[] | null = null
  let broken: string | null = null
  const parser = new CsvParser(
    { delimiter: inputDelimiter(job), quote: job.input.quote },
    {
      record: (f) => {
        fields ??= f
      },
      malformed: (_line, _raw, message) => {
        broken ??= message
      }
    },
    1
  )
  parser.push(text, true)
  if (broken) return { ok: false, message: broken }
  const found = fields as string[] | null
  return found ? { ok: true, fields: found } : { ok: false, message: 'the file has no rows' }
}

/** Columns from a header record's text; problems an analyst must fix are reported, not thrown. */
export function headerColumns(text: string, job: Job, file: string): { ok: true; columns: string[] } | { ok: false; message: string } {
  // The first line only (splitting the whole text made an array of every line of a small file).
  const nl = text.indexOf('\n')
  const sep = /^sep=(.)\r?$/.exec(nl === -1 ? text : text.slice(0, nl))
  if (sep) {
    return { ok: false, message: `${file}, line 1: "sep=${sep[1]}" is Excel's delimiter hint, not a header; delete that line, and set input.delimiter to "${sep[1]}"` }
  }
  const first = firstRecord(text, job)
  if (!first.ok) return { ok: false, message: `${file}, line 1: the header row cannot be read: ${first.message}` }
  const columns = first.fields
  const seen = new Map<string, number>()
  for (const [i, name] of columns.entries()) {
    if (name.trim() === '') return { ok: false, message: `${file}, line 1: column ${i + 1} of the header has no name` }
    const j = seen.get(name)
    if (j !== undefined) return { ok: false, message: `${file}, line 1: the header names column "${name}" twice (columns ${j + 1} and ${i + 1})` }
    seen.set(name, i)
  }
  return { ok: true, columns }
}

/** NUL bytes in a file's first 8 KiB that make it binary rather than text with a stray NUL. */
const BINARY_NULS = 4

/**
 * Why a file cannot be read as text at all, from its first bytes, or null: binary content (NUL
 * bytes), or old Mac line ends (CR only), each of which would otherwise come out as a screen of
 * nonsense or as no records at all. (UTF-16 files, told by their byte order mark or by
 * input.encoding, never come here: they are read whole, see plan-formats.ts.)
 */
export function notTextReason(file: string, relPath: string): string | null {
  const fd = openSync(file, 'r')
  let head: Buffer
  try {
    const buf = Buffer.allocUnsafe(8192)
    head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0))
  } finally {
    closeSync(fd)
  }
  // A NUL or two can sit in a text field; binary files have them everywhere.
  let nuls = 0
  for (let i = head.indexOf(0); i !== -1 && nuls < BINARY_NULS; i = head.indexOf(0, i + 1)) nuls++
  if (nuls >= BINARY_NULS) {
    const utf16 = bomlessUtf16(head)
    if (utf16) return `${relPath} looks like UTF-16 text without a byte order mark; set input.encoding to "${utf16}" to read it`
    return `${relPath} does not look like a text file (it holds binary data); is it really a CSV or JSON-lines file?`
  }
  if (head.includes(13) && !head.includes(10) && head.indexOf(13) < head.length - 1) {
    return `${relPath} ends its lines with a carriage return only (old Mac line ends); save it with Windows or Unix line ends`
  }
  return null
}

/**
 * The UTF-16 byte order of text without a byte order mark, or null: plain letters, digits, line
 * ends and delimiters are one zero byte and one other in UTF-16, so in such text nearly every
 * other byte (the odd ones in little-endian, the even ones in big-endian) is zero, and only those.
 */
function bomlessUtf16(head: Buffer): 'utf16le' | 'utf16be' | null {
  const pairs = Math.floor(Math.min(head.length, 4096) / 2)
  if (pairs < 4) return null
  let evenZero = 0
  let oddZero = 0
  for (let i = 0; i < pairs; i++) {
    if (head[2 * i] === 0) evenZero++
    if (head[2 * i + 1] === 0) oddZero++
  }
  if (oddZero >= pairs * 0.6 && evenZero <= pairs * 0.05) return 'utf16le'
  if (evenZero >= pairs * 0.6 && oddZero <= pairs * 0.05) return 'utf16be'
  return null
}

/** Generated names for files without a header row: column1, column2... */
export function generatedColumns(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `column${i + 1}`)
}

/** The largest record a job reads, in bytes (policy.maxRecordSize, else the default). */
export function maxRecordBytes(job: Job): number {
  const v = job.policy.maxRecordSize
  return v === undefined ? DEFAULT_MAX_RECORD_BYTES : parseSizeBytes(v)
}

/** Read size for the first record of a file: most headers fit in one read. */
const HEAD_BLOCK_BYTES = 64 * 1024

/**
 * The header of one CSV file (or, without a header row, the column count of its first record),
 * read in blocks through the parser, so a header with quoted line breaks is read whole and one
 * that never ends (a file without line breaks, a quote never closed) is refused once it passes
 * the job's record size limit instead of being read whole.
 */
export function readHeader(file: string, job: Job): { ok: true; columns: string[] } | { ok: false; message: string } {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return { ok: false, message: `${file} cannot be read (${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? (e as Error).message)})` }
  }
  const limit = maxRecordBytes(job)
  const header = job.input.header
  let found: { fields: string[]; raw: string } | null = null
  let broken: { line: number; message: string } | null = null
  const parser: CsvParser = new CsvParser(
    { delimiter: inputDelimiter(job), quote: job.input.quote },
    {
      record: (fields) => {
        if (!found && !broken) found = { fields, raw: parser.lastRaw() }
      },
      malformed: (line, _raw, message, code) => {
        if (found || broken) return
        // Without a header, a data row too large to read says nothing about the columns: the next one does.
        if (code === 'RECORD_TOO_LARGE' && !header) return
        broken = { line, message: code === 'RECORD_TOO_LARGE' ? tooLongHeader(limit) : message }
      }
    },
    1,
    { maxRecordBytes: limit, utf8: job.input.encoding === 'utf8' }
  )
  try {
    const buf = Buffer.allocUnsafe(HEAD_BLOCK_BYTES)
    const decoder = decoderFor(job.input.encoding)
    let pos = 0
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos)
      let bytes = buf.subarray(0, n)
      if (pos === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3)
      pos += n
      const final = n === 0
      parser.push(decoder.write(bytes) + (final ? decoder.end() : ''), final)
      if (found || broken || final) break
      // Past the limit a header can only end as a failed record, possibly at the end of a huge
      // file: stop here. (Without a header, later rows still give the column count.)
      if (header && pos > limit + HEAD_BLOCK_BYTES) {
        broken = { line: parser.line, message: tooLongHeader(limit) }
        break
      }
    }
  } finally {
    closeSync(fd)
  }
  const first = found as { fields: string[]; raw: string } | null
  const bad = broken as { line: number; message: string } | null
  if (bad) return { ok: false, message: `${file}, line ${bad.line}: ${header ? 'the header row cannot be read: ' : ''}${bad.message}` }
  if (!first) return header ? headerColumns('', job, file) : { ok: false, message: `${file}, line 1: the file has no rows` }
  return header ? headerColumns(first.raw, job, file) : { ok: true, columns: generatedColumns(first.fields.length) }
}

function tooLongHeader(limit: number): string {
  return (
    `it is longer than ${formatBytes(limit)}, the limit on one record (the file may have no line breaks, or a quote in the header is never closed); ` +
    `if the header really is that long, raise policy.maxRecordSize in the job`
  )
}

/**
 * Where a file's data starts (after a BOM, leading empty lines and the header record) and its
 * first data line; for a dry run, which reads only the beginning of a file. Reads in blocks, up to
 * the job's record size limit: a header that does not end by then leaves no data to preview.
 */
export function dataStartOf(file: string, job: Job): { dataStart: number; firstLine: number } {
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.allocUnsafe(HEAD_BLOCK_BYTES)
    let n = readSync(fd, buf, 0, buf.length, 0)
    const bom = n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0
    if (job.input.format === 'jsonl' || !job.input.header) return { dataStart: bom, firstLine: 1 }
    const quote = job.input.quote.charCodeAt(0)
    const cap = bom + maxRecordBytes(job) + HEAD_BLOCK_BYTES
    let base = 0
    let i = bom
    let inQuotes = false
    let lines = 1
    // Empty lines before the header are skipped, as the parser skips them ("\n" or "\r\n").
    let started = false
    let pendingCR = false
    while (n > 0) {
      for (; i < n; i++) {
        const c = buf[i]
        if (!started) {
          if (pendingCR) {
            pendingCR = false
            if (c === 10) {
              lines++
              continue
            }
            started = true
          } else if (c === 10) {
            lines++
            continue
          } else if (c === 13) {
            pendingCR = true
            continue
          } else started = true
        }
        if (c === quote) inQuotes = !inQuotes
        else if (c === 10) {
          if (!inQuotes) return { dataStart: base + i + 1, firstLine: lines + 1 }
          lines++
        }
      }
      base += n
      if (base >= cap) break
      n = readSync(fd, buf, 0, buf.length, base)
      i = 0
    }
    return { dataStart: fstatSync(fd).size, firstLine: lines + 1 }
  } finally {
    closeSync(fd)
  }
}
