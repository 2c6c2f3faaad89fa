// One sequential pass over an input file in the main thread: sha256, BOM,
// the CSV header's extent, and partition boundaries on record boundaries with
// the physical line each partition starts on.
//
// Works on bytes, never decodes: only ASCII-compatible encodings (UTF-8,
// Latin-1, Windows-1252) may be partitioned this way, since there byte 0x0A is
// always a newline and the quote byte is always the quote.
//
// CSV boundaries use quote parity (every quote byte toggles "inside quotes";
// an escaped "" toggles twice), as the bench's safe split does
// (/work/shared/research/perf-baselines.md, "CSV splitting with quoted
// newlines"). A stray quote inside an unquoted field flips the parity, so a
// boundary can then fall inside what the parser sees as a quoted field; the
// caller detects that from CsvParser.endedInsideQuotes or a malformed record
// at a partition start and falls back to parsing the file sequentially.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { DEFAULT_MAX_RECORD_BYTES, formatBytes, MAX_RECORD_BYTES_CEILING } from '../../shared/failures'

export interface ScanOptions {
  format: 'csv' | 'jsonl'
  /** For csv, one ASCII char (byte value used directly). */
  quote: string
  /** csv: the first record is a header (default true in callers). */
  header: boolean
  /** A boundary is placed at the first record end at or after each multiple of this from the previous boundary. */
  targetPartitionBytes: number
  /**
   * csv with header: the largest header record (the job's record size limit; default
   * DEFAULT_MAX_RECORD_BYTES). The header is read into memory whole, so a bigger one (a file
   * without line breaks) makes scanFile throw a HeaderTooLargeError. Data records are the
   * workers' business: the scan only counts their bytes.
   */
  maxRecordBytes?: number
}

/** The header record is larger than the record size limit; the message is for the analyst and names no file (the caller does). */
export class HeaderTooLargeError extends Error {
  constructor(
    readonly line: number,
    readonly size: number,
    readonly limit: number
  ) {
    super(
      `its header row (line ${line}) is ${formatBytes(size)} (${size.toLocaleString('en-US')} bytes), more than the ${formatBytes(limit)} allowed for one record, ` +
        `so the file was not processed: it may have no line breaks, or a quote in its header is never closed` +
        (size <= MAX_RECORD_BYTES_CEILING ? '; if the header really is that long, raise policy.maxRecordSize in the job' : '')
    )
    this.name = 'HeaderTooLargeError'
  }
}

export interface ScanResult {
  size: number
  /** Hex of the whole file. */
  sha256: string
  /** File starts with the UTF-8 BOM EF BB BF. */
  bom: boolean
  /** Byte offset of the first data record (after BOM and, for csv with header, after the header record). */
  dataStart: number
  /** Raw bytes of the header record without its line terminator (csv with header), for the caller to decode with the right encoding. */
  headerBytes: Buffer | null
  headerLine: number | null
  /** Partitions covering [dataStart, size): each with its byte range and the 1-based physical line of its first byte. At least one partition unless the file has no data (then empty array). */
  partitions: { start: number; end: number; firstLine: number }[]
}

/** 4 MiB: few enough reads that syscall and hash-update overhead vanish, small enough to stay cache-friendly. */
const BLOCK_BYTES = 4 * 1024 * 1024
/** Block size for the rare positional look-ups outside the main pass. */
const SMALL_READ_BYTES = 64 * 1024

const LF = 0x0a
const CR = 0x0d

// Phases of the pass.
const P_LEAD = 0 // csv with header: skipping empty lines before the header
const P_HEAD = 1 // inside the header record
const P_DATA = 2 // data records

export function scanFile(path: string, opts: ScanOptions): ScanResult {
  const csv = opts.format === 'csv'
  const target = opts.targetPartitionBytes
  if (!(Number.isFinite(target) && target > 0)) {
    throw new RangeError(`targetPartitionBytes must be a positive number, got ${target}`)
  }
  let quoteByte = -1
  if (csv) {
    if (opts.quote.length !== 1 || opts.quote.charCodeAt(0) > 0x7f) {
      throw new RangeError(`the CSV quote must be one ASCII character, got ${JSON.stringify(opts.quote)}`)
    }
    quoteByte = opts.quote.charCodeAt(0)
    if (quoteByte === LF || quoteByte === CR) throw new RangeError('the CSV quote cannot be a line terminator')
  }

  const fd = openSync(path, 'r')
  try {
    const statSize = fstatSync(fd).size
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(BLOCK_BYTES, statSize)))
    const hash = createHash('sha256')

    let phase = csv && opts.header ? P_LEAD : P_DATA
    let bom = false
    /** '\n' bytes before the scan position: the line of a byte is 1 + this. */
    let lines = 0
    let inQuotes = false
    /** A record end at or after this offset becomes the next boundary. */
    let nextTarget = target
    /** P_LEAD: the previous block ended with '\r' at the start of a line. */
    let pendingCR = false
    let headerStart = -1
    let headerEnd = -1
    let headerLine: number | null = null
    let dataStart = 0
    let dataLine = 1
    const bounds: number[] = []
    const boundLines: number[] = []

    let base = 0
    for (;;) {
      const len = readFull(fd, buf, base)
      if (len === 0) break
      const v = len === buf.length ? buf : buf.subarray(0, len)
      hash.update(v)
      let i = 0
      if (base === 0) {
        bom = len >= 3 && v[0] === 0xef && v[1] === 0xbb && v[2] === 0xbf
        if (bom) i = 3
        if (phase === P_DATA) {
          dataStart = i
          nextTarget = i + target
        }
      }

      if (phase === P_LEAD) {
        // Empty lines before the header are skipped like the parser skips
        // them; this loop runs once per leading empty line, not per byte of
        // data.
        while (i < len) {
          const b = v[i]
          if (pendingCR) {
            pendingCR = false
            if (b === LF) {
              lines++
              i++
              continue
            }
            headerStart = base + i - 1
          } else if (b === LF) {
            lines++
            i++
            continue
          } else if (b === CR) {
            if (i + 1 === len) {
              pendingCR = true
              i++
              continue
            }
            if (v[i + 1] === LF) {
              lines++
              i += 2
              continue
            }
            headerStart = base + i
          } else {
            headerStart = base + i
          }
          phase = P_HEAD
          headerLine = lines + 1
          // The header's own end is the first record end after its start.
          nextTarget = headerStart
          break
        }
      }

      if (phase !== P_LEAD) {
        // One indexOf per '\n' and per quote byte; the parity at each '\n'
        // comes from the quotes before it.
        let q = quoteByte >= 0 ? v.indexOf(quoteByte, i) : -1
        for (;;) {
          const nl = v.indexOf(LF, i)
          if (nl === -1) break
          while (q !== -1 && q < nl) {
            inQuotes = !inQuotes
            q = v.indexOf(quoteByte, q + 1)
          }
          lines++
          i = nl + 1
          if (inQuotes || base + i < nextTarget) continue
          const b = base + i
          if (phase === P_HEAD) {
            headerEnd = b - 1
            dataStart = b
            dataLine = lines + 1
            phase = P_DATA
          } else {
            bounds.push(b)
            boundLines.push(lines + 1)
          }
          nextTarget = b + target
        }
        while (q !== -1) {
          inQuotes = !inQuotes
          q = v.indexOf(quoteByte, q + 1)
        }
      }
      base += len
    }
    const size = base

    if (phase === P_LEAD) {
      // Empty, only a BOM, or only empty lines: no header and no data.
      dataStart = size
    } else if (phase === P_HEAD) {
      if (!inQuotes) {
        // The header is the last line and has no terminator.
        headerEnd = size
        dataStart = size
      } else {
        // A quote in the header is never closed. Taking the whole file as the
        // header would hide every record, so the header is its first physical
        // line (the caller's parser reports its broken quote) and the data
        // after it is one partition: without a trusted parity no boundary can
        // be placed, and the parser recovers from the stray quote itself.
        const nl = findByte(fd, LF, headerStart, size)
        headerEnd = nl === -1 ? size : nl
        dataStart = nl === -1 ? size : nl + 1
        dataLine = (headerLine ?? 1) + 1
      }
    }

    let headerBytes: Buffer | null = null
    if (headerStart >= 0) {
      // Up to here the header's bytes were only counted; this is where it would be held whole.
      let size = headerEnd - headerStart
      const limit = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES
      // The '\r' of a "\r\n" line end is no part of the record.
      if (size === limit + 1 && byteAt(fd, headerEnd - 1) === CR) size--
      if (size > limit) throw new HeaderTooLargeError(headerLine ?? 1, size, limit)
      let h = Buffer.allocUnsafe(headerEnd - headerStart)
      // The header may span blocks long gone from `buf`; it is small, so
      // reading it again (from the page cache) is simpler than stitching.
      const got = readFull(fd, h, headerStart)
      if (got !== h.length) throw new Error(`${path} changed while it was being scanned`)
      if (h.length > 0 && h[h.length - 1] === CR) h = h.subarray(0, h.length - 1)
      headerBytes = h
    }

    const partitions: ScanResult['partitions'] = []
    if (dataStart < size) {
      let start = dataStart
      let firstLine = dataLine
      for (let k = 0; k < bounds.length; k++) {
        const b = bounds[k]!
        if (b >= size) break
        partitions.push({ start, end: b, firstLine })
        start = b
        firstLine = boundLines[k]!
      }
      partitions.push({ start, end: size, firstLine })
    }

    return {
      size,
      sha256: hash.digest('hex'),
      bom,
      dataStart,
      headerBytes,
      headerLine,
      partitions
    }
  } finally {
    closeSync(fd)
  }
}

/** Reads until `buf` is full or the file ends; returns the bytes read. */
function readFull(fd: number, buf: Buffer, position: number): number {
  let off = 0
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off)
    if (n === 0) break
    off += n
  }
  return off
}

function byteAt(fd: number, position: number): number {
  const b = Buffer.allocUnsafe(1)
  return readSync(fd, b, 0, 1, position) === 1 ? (b[0] as number) : -1
}

/** Offset of the first `byte` at or after `from` (before `end`), or -1. */
function findByte(fd: number, byte: number, from: number, end: number): number {
  const b = Buffer.allocUnsafe(SMALL_READ_BYTES)
  let pos = from
  while (pos < end) {
    const n = readFull(fd, b.subarray(0, Math.min(b.length, end - pos)), pos)
    if (n === 0) return -1
    const i = b.subarray(0, n).indexOf(byte)
    if (i !== -1) return pos + i
    pos += n
  }
  return -1
}
