// UTF-16 text files: what Excel writes for "Unicode Text" (a UTF-16LE TSV with a byte order
// mark). A UTF-16 character can hold a 0x0A byte ("\n" is 0A 00, but so is half of "ਊ" or of
// "\u010A"), so such a file cannot be split into byte ranges at line-feed bytes: like a .gz, it is
// one partition, read from its start and decoded as it streams, and its line numbers are lines
// of the text.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs'
import { textDeliverer } from './gzip'
import { decoderFor, type Encoding } from './decode'

export type Utf16 = 'utf16le' | 'utf16be'

/** The UTF-16 encoding a byte order mark at the start of `head` says, or null. */
export function utf16Bom(head: Uint8Array): Utf16 | null {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf16le'
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf16be'
  return null
}

export function isUtf16(encoding: Encoding): encoding is Utf16 {
  return encoding === 'utf16le' || encoding === 'utf16be'
}

/**
 * How a file is read as UTF-16, or null when it is not: by its byte order mark whatever
 * input.encoding says (FF FE or FE FF cannot start a UTF-8, Latin-1 or Windows-1252 text file
 * anyone meant), else by input.encoding "utf16le" or "utf16be". Opens the file only to look
 * at its first two bytes; a file that cannot be opened is left for the usual reading to report.
 */
export function utf16EncodingOf(path: string, encoding: Encoding): Utf16 | null {
  const named = isUtf16(encoding) ? encoding : null
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return named
  }
  try {
    const b = Buffer.alloc(2)
    return utf16Bom(b.subarray(0, readSync(fd, b, 0, 2, 0))) ?? named
  } catch {
    return named
  } finally {
    closeSync(fd)
  }
}

/** The first `want` bytes of a file (for its header and checks), and whether that is all of it. */
export function filePrefix(path: string, want: number): { bytes: Buffer; complete: boolean } {
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.allocUnsafe(want)
    let n = 0
    for (;;) {
      const k = readSync(fd, buf, n, want - n, n)
      if (k === 0) return { bytes: buf.subarray(0, n), complete: true }
      n += k
      if (n === want) break
    }
    // Full: complete only if nothing follows.
    const probe = Buffer.alloc(1)
    return { bytes: buf, complete: readSync(fd, probe, 0, 1, n) === 0 }
  } finally {
    closeSync(fd)
  }
}

/** What a record holding undecodable bytes fails with (ENCODING_ERROR). */
export function utf16EncodingMessage(encoding: Utf16): string {
  return `the row holds bytes that are not valid ${encoding === 'utf16le' ? 'UTF-16 (little-endian)' : 'UTF-16 (big-endian)'}: half of a two-part character, or a stray byte at the end of the file (the file may be damaged or cut short)`
}

export interface Utf16TextOptions {
  encoding: Utf16
  /** CSV with a header row: skip it (and empty lines before it), with this quote character. */
  skipCsvHeader: string | null
  /** Decoded text, in order; `final` on the last call. */
  onText(text: string, final: boolean): void
  /** File bytes read, for progress. */
  onBytes(n: number): void
  /** Stop early (a dry run that has enough records). */
  shouldStop(): boolean
}

/**
 * Stream a UTF-16 file's text to `onText`, without its byte order mark (and its CSV header row
 * when asked: the planner read it). A stream of 64 KiB blocks through one decoder, which carries
 * a character cut by a block's end over to the next block. Read errors are thrown.
 */
export async function streamUtf16Text(path: string, opts: Utf16TextOptions): Promise<{ bytesRead: number; stopped: boolean }> {
  const src = createReadStream(path, { highWaterMark: 64 * 1024 })
  const decoder = decoderFor(opts.encoding)
  let bytesRead = 0
  const deliver = textDeliverer(opts.skipCsvHeader, opts.onText)
  try {
    for await (const chunk of src) {
      bytesRead += (chunk as Buffer).length
      opts.onBytes((chunk as Buffer).length)
      deliver(decoder.write(chunk as Buffer), false)
      if (opts.shouldStop()) return { bytesRead, stopped: true }
    }
    deliver(decoder.end(), true)
    return { bytesRead, stopped: false }
  } finally {
    src.destroy()
  }
}
