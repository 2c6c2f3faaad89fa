// One pass over a JSON array file in the main thread: sha256, whether it is an array at all, and
// partition boundaries between elements, with the line each partition starts on.
//
// The rules are the JSON array parser's (src/workers/formats/json-array-parser.ts), applied to
// bytes: strings and their escapes are followed, nesting is counted, and an element ends at a
// comma outside any string or nested value. A boundary is placed right after such a comma, where
// the parser, started with `continued`, is in the state a parser reading from the file's start
// would be in; so a split array gives the same records, failures and line numbers as one read
// whole. The structural bytes (" \ , [ ] { } and line feed) are ASCII, never part of a UTF-8
// multi-byte character or of a Windows-1252 one, so bytes and decoded text agree.
import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync } from 'node:fs'

export interface JsonArrayScan {
  size: number
  sha256: string
  /** The file's first characters when it does not start with "[" (after white space and a BOM); else null. */
  notArray: string | null
  /** Empty, or white space only. */
  blank: boolean
  /** Byte ranges covering the file; none for a blank file or one that is not an array. */
  partitions: { start: number; end: number; firstLine: number }[]
}

const BLOCK_BYTES = 4 * 1024 * 1024

const BEFORE = 0
const BETWEEN = 1
const ELEMENT = 2
const AFTER = 3

export function scanJsonArray(path: string, targetPartitionBytes: number): JsonArrayScan {
  if (!(Number.isFinite(targetPartitionBytes) && targetPartitionBytes > 0)) {
    throw new RangeError(`targetPartitionBytes must be a positive number, got ${targetPartitionBytes}`)
  }
  const fd = openSync(path, 'r')
  const hash = createHash('sha256')
  const buf = Buffer.allocUnsafe(BLOCK_BYTES)
  let state = BEFORE
  let nest = 0
  let inString = false
  let escaped = false
  let lines = 0
  let blank = true
  let notArray: string | null = null
  let nextTarget = targetPartitionBytes
  const bounds: number[] = []
  const boundLines: number[] = []
  let base = 0
  try {
    for (;;) {
      const len = readSync(fd, buf, 0, buf.length, null)
      if (len === 0) break
      hash.update(buf.subarray(0, len))
      let i = 0
      if (base === 0 && len >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3
      if (state === AFTER || notArray !== null) {
        base += len
        continue
      }
      for (; i < len; i++) {
        const c = buf[i] as number
        if (state === ELEMENT) {
          if (inString) {
            if (escaped) escaped = false
            else if (c === 92) escaped = true
            else if (c === 34) inString = false
            else if (c === 10) lines++
            continue
          }
          if (c === 34) inString = true
          else if (c === 123 || c === 91) nest++
          else if (c === 125 || c === 93) {
            if (nest > 0) nest--
            else if (c === 93) {
              state = AFTER
              break
            }
          } else if (c === 44 && nest === 0) {
            state = BETWEEN
            const b = base + i + 1
            if (b >= nextTarget) {
              bounds.push(b)
              boundLines.push(lines + 1)
              nextTarget = b + targetPartitionBytes
            }
          } else if (c === 10) lines++
          continue
        }
        if (c === 32 || c === 10 || c === 13 || c === 9) {
          if (c === 10) lines++
          continue
        }
        blank = false
        if (state === BEFORE) {
          if (c === 91) {
            state = BETWEEN
            continue
          }
          notArray = buf.subarray(i, Math.min(len, i + 40)).toString('utf8')
          break
        }
        if (state === BETWEEN) {
          if (c === 93) {
            state = AFTER
            break
          }
          if (c === 44) continue
          state = ELEMENT
          nest = 0
          inString = false
          escaped = false
          // This byte starts the element: look at it again as part of it.
          i--
        }
      }
      base += len
    }
  } finally {
    closeSync(fd)
  }
  const size = base
  const partitions: JsonArrayScan['partitions'] = []
  if (!blank && notArray === null) {
    let start = 0
    let firstLine = 1
    for (let k = 0; k < bounds.length; k++) {
      const b = bounds[k] as number
      if (b >= size) break
      partitions.push({ start, end: b, firstLine })
      start = b
      firstLine = boundLines[k] as number
    }
    partitions.push({ start, end: size, firstLine })
  }
  return { size, sha256: hash.digest('hex'), notArray, blank, partitions }
}
