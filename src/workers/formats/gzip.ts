// Gzip-compressed inputs (.gz): read as they stream through zlib, never unpacked to disk. A
// compressed file cannot be split by byte range, so it is one partition, read from its start;
// line numbers are lines of the decompressed text.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs'
import { constants, createGunzip, gunzipSync } from 'node:zlib'
import { decoderFor, type Encoding } from './decode'

/** Whether a file starts with gzip's signature (1f 8b). */
export function hasGzipSignature(path: string): boolean {
  const fd = openSync(path, 'r')
  try {
    const b = Buffer.alloc(2)
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b
  } finally {
    closeSync(fd)
  }
}

/**
 * Whether a job reads this file through gunzip: input.compression "gzip", or "auto" (the
 * default) and the name ends in .gz. By name, so that planning thousands of small files opens
 * none of them for this; a .gz file that is not gzip is refused with a plain message.
 */
export function isGzipInput(compression: 'auto' | 'gzip' | 'zip' | 'none' | undefined, path: string): boolean {
  if (compression === 'none' || compression === 'zip') return false
  if (compression === 'gzip') return true
  return /\.(gz|gzip)$/i.test(path)
}

/** A zlib error: the compressed data is damaged or cut short (as opposed to a disk or program error). */
export function isZlibError(e: unknown): e is Error {
  const code = (e as NodeJS.ErrnoException)?.code
  return typeof code === 'string' && code.startsWith('Z_')
}

export function damagedMessage(relPath: string, e: Error, afterLine: number): string {
  const why = /unexpected end of file/i.test(e.message) ? 'its compressed data ends early (the file is cut short)' : `its compressed data is damaged (${e.message})`
  return `${relPath}: ${why}; ${afterLine > 0 ? `what follows line ${afterLine}` : 'the file'} could not be read`
}

/**
 * The start of a gzip file's decompressed content, read synchronously (for headers, checks and
 * previews): at least `want` bytes when the file holds that many. `complete`: the whole content.
 * Throws a zlib error when the file is not gzip or is damaged at its start.
 */
export function gunzipPrefix(path: string, want = 1 << 20): { bytes: Buffer; complete: boolean } {
  const fd = openSync(path, 'r')
  try {
    let size = 16 * 1024
    for (;;) {
      const buf = Buffer.allocUnsafe(size)
      const n = readSync(fd, buf, 0, size, 0)
      const atEnd = n < size
      // Z_SYNC_FLUSH: give back what the bytes so far decompress to, without asking for the rest.
      const out = gunzipSync(buf.subarray(0, n), { finishFlush: constants.Z_SYNC_FLUSH })
      if (atEnd || out.length >= want) return { bytes: out, complete: atEnd }
      size *= 4
    }
  } finally {
    closeSync(fd)
  }
}

/**
 * Where a CSV header record ends in `text` (which starts at the file's start, after a BOM): empty
 * lines before it are skipped, as the planner's scan does, and quoted line breaks are followed.
 * `end` is just after its line end; `lines` counts the line ends up to there. Null when the text
 * ends before the header does.
 */
export function csvHeaderEnd(text: string, quote: string): { start: number; end: number; lines: number } | null {
  let i = 0
  let lines = 0
  for (;;) {
    if (text.startsWith('\n', i)) {
      i++
      lines++
    } else if (text.startsWith('\r\n', i)) {
      i += 2
      lines++
    } else break
  }
  const start = i
  let inQuotes = false
  for (; i < text.length; i++) {
    const c = text[i]
    if (c === quote) inQuotes = !inQuotes
    else if (c === '\n') {
      lines++
      if (!inQuotes) return { start, end: i + 1, lines }
    }
  }
  return null
}

/**
 * What hands decoded text on to the parser of a file read from its start (a .gz, a UTF-16 file):
 * without the byte order mark, and without the CSV header row when `skipCsvHeader` (its quote
 * character) is given, as the planner read that row. Text is held until the header row is whole.
 */
export function textDeliverer(skipCsvHeader: string | null, onText: (text: string, final: boolean) => void): (text: string, final: boolean) => void {
  let first = true
  let header = skipCsvHeader
  let pending = ''
  return (text, final) => {
    if (first && text.length) {
      first = false
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    if (header !== null) {
      pending += text
      const h = csvHeaderEnd(pending, header)
      if (!h) {
        if (final) onText('', true)
        return
      }
      text = pending.slice(h.end)
      pending = ''
      header = null
    }
    onText(text, final)
  }
}

export interface GzipTextOptions {
  encoding: Encoding
  /** CSV with a header row: skip it (and empty lines before it), with this quote character. */
  skipCsvHeader: string | null
  /** Decompressed text, in order; `final` on the last call. */
  onText(text: string, final: boolean): void
  /** Compressed bytes read, for progress. */
  onBytes(n: number): void
  /** Stop early (a dry run that has enough records). */
  shouldStop(): boolean
}

/**
 * Stream a gzip file's decompressed text to `onText`. Resolves with `damaged` set when the
 * compressed data is damaged or cut short part-way (what came before it was delivered, and
 * `onText` was not called with `final`); other errors (a disk error) are thrown.
 */
export async function streamGzipText(path: string, opts: GzipTextOptions): Promise<{ bytesRead: number; damaged: Error | null }> {
  const src = createReadStream(path, { highWaterMark: 64 * 1024 })
  const gunzip = createGunzip({ chunkSize: 64 * 1024 })
  let bytesRead = 0
  let readError: Error | null = null
  src.on('data', (chunk) => {
    bytesRead += chunk.length
    opts.onBytes(chunk.length)
  })
  src.on('error', (e) => {
    readError = e
    gunzip.destroy(e)
  })
  src.pipe(gunzip)
  const decoder = decoderFor(opts.encoding)
  const deliver = textDeliverer(opts.skipCsvHeader, opts.onText)
  try {
    for await (const chunk of gunzip) {
      deliver(decoder.write(chunk as Buffer), false)
      if (opts.shouldStop()) return { bytesRead, damaged: null }
    }
    deliver(decoder.end(), true)
    return { bytesRead, damaged: null }
  } catch (e) {
    if (readError) throw readError
    if (isZlibError(e)) return { bytesRead, damaged: e }
    throw e
  } finally {
    src.unpipe(gunzip)
    src.destroy()
    gunzip.destroy()
  }
}
