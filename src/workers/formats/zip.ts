// Zip archives of CSV, TSV, JSON-lines or JSON files (.zip): each matching entry is read as it
// streams, straight out of the archive, never unpacked to disk. Like a .gz file, a zip is one
// partition read from its start; unlike one, it holds several files, so line numbers restart at
// each entry and every failure names the entry it comes from.
//
// Entries are found through the zip's central directory (its table of contents, at the end of
// the file), never by scanning the local headers, which the format itself calls unreliable:
//  - the worker reads with yauzl (random access through the central directory, entry sizes
//    checked against what the directory says, so an entry cannot inflate to more than it claims);
//  - the planner and the preview, which are synchronous and need only the start of the first
//    entry (its header row), read the directory with the small reader below, and decode names
//    with yauzl's own function, so both see the same names in the same order.
// yauzl does not check CRC-32; the worker does, as gunzip does for a .gz file.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import type { Readable } from 'node:stream'
import * as zlib from 'node:zlib'
import { getFileNameLowLevel, open as openYauzl, parseExtraFields, type Entry, type ZipFile } from 'yauzl'
import type { InputFormat } from '../../shared/formats'
import { decoderFor, type Encoding } from './decode'

/** A zip that cannot be read; the message follows its name ("orders.zip is not a zip file…"). */
export class ZipInputError extends Error {}

/** An entry that cannot be read; the message follows "<entry> inside <zip>". */
export class ZipEntryError extends Error {
  constructor(
    readonly entry: string,
    message: string
  ) {
    super(message)
  }
}

// ---------------------------------------------------------------------------------------------
// Which files are zips, and which of their entries are read

/** Whether a file starts with a zip's local file header signature ("PK\3\4"). False when it cannot be opened: reading it says why. */
export function hasZipSignature(path: string): boolean {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return false
  }
  try {
    const b = Buffer.alloc(4)
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) === 0x04034b50
  } finally {
    closeSync(fd)
  }
}

/**
 * Whether a job reads this file as a zip archive: input.compression "zip", or "auto" (the
 * default) and the file is named .zip or starts with a zip's signature. An xlsx workbook is a
 * zip itself and is read as a workbook; a .gz name means gzip, whatever the content.
 */
export function isZipInput(compression: 'auto' | 'gzip' | 'zip' | 'none' | undefined, format: InputFormat, path: string): boolean {
  if (format === 'xlsx') return false
  if (compression === 'zip') return true
  if (compression !== undefined && compression !== 'auto') return false
  if (/\.(gz|gzip)$/i.test(path)) return false
  return /\.zip$/i.test(path) || hasZipSignature(path)
}

/** File extensions read from a zip, by the job's format. */
export function entryExtensions(format: InputFormat): string[] {
  if (format === 'jsonl') return ['jsonl', 'ndjson', 'json']
  if (format === 'json') return ['json']
  return ['csv', 'tsv', 'txt']
}

/** ".csv, .tsv or .txt", for messages. */
export function extensionList(format: InputFormat): string {
  const exts = entryExtensions(format).map((e) => '.' + e)
  return exts.length === 1 ? (exts[0] as string) : `${exts.slice(0, -1).join(', ')} or ${exts[exts.length - 1]}`
}

/**
 * What to do with an entry: read it (a file of the job's format), report it (a zip or a
 * compressed file of the format inside the zip: one level is read, not more, and saying so beats
 * leaving the analyst to wonder where its records went), or skip it (folders, other files, and the
 * hidden ones: macOS's __MACOSX/ resource forks, names starting with a dot).
 */
export function entryRole(name: string, format: InputFormat): 'read' | 'nested' | 'skip' {
  if (name === '' || name.endsWith('/')) return 'skip'
  const parts = name.split('/')
  if (parts.some((p) => p.startsWith('.') || p === '__MACOSX')) return 'skip'
  const base = (parts[parts.length - 1] as string).toLowerCase()
  const exts = entryExtensions(format)
  const ext = /\.([^.]+)$/.exec(base)?.[1] ?? ''
  if (exts.includes(ext)) return 'read'
  if (ext === 'zip') return 'nested'
  const inner = /\.([^.]+)\.(gz|gzip)$/.exec(base)?.[1]
  if (inner !== undefined && exts.includes(inner)) return 'nested'
  return 'skip'
}

/** Entries in the order they are read: by name (code unit order, the same on every machine), not archive order. */
export function byName<T extends { name: string }>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** Why an entry is reported rather than read (see entryRole). */
export function nestedMessage(entry: string, zipName: string): string {
  const what = /\.zip$/i.test(entry) ? 'a zip file inside the zip' : 'a compressed file inside the zip'
  return `${entry} inside ${zipName} is ${what}; Batchery reads the files of one zip, not of archives within it (unpack it and zip its files directly)`
}

/** A zip with nothing to read: what it does hold, briefly. */
export function noEntryMessage(zipName: string, format: InputFormat, names: readonly string[]): string {
  const files = names.filter((n) => !n.endsWith('/'))
  const shown = files.slice(0, 5)
  const holds = shown.length === 0 ? 'it holds no files' : `it holds ${shown.join(', ')}${files.length > shown.length ? ', …' : ''}`
  return `${zipName} holds no ${extensionList(format)} file to read (${holds})`
}

// ---------------------------------------------------------------------------------------------
// The central directory, read synchronously (planner and preview)

/** One entry of a zip's central directory. */
export interface ZipItem {
  name: string
  flags: number
  method: number
  crc32: number
  compressedSize: number
  size: number
  localOffset: number
}

const SIG_EOCD = 0x06054b50
const SIG_EOCD64_LOCATOR = 0x07064b50
const SIG_EOCD64 = 0x06064b50
const SIG_CENTRAL = 0x02014b50
export const SIG_LOCAL = 0x04034b50
/** A central directory larger than this is refused: it is read whole (about a million entries). */
const MAX_DIRECTORY_BYTES = 256 << 20

/** Up to `length` bytes at `position` (fewer at the end of the file). */
export function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length)
  let off = 0
  while (off < length) {
    const n = readSync(fd, buf, off, length - off, position + off)
    if (n === 0) break
    off += n
  }
  return off === length ? buf : buf.subarray(0, off)
}

const NOT_A_ZIP = 'is not a zip file, or it is cut short (the table of contents a zip keeps at its end is missing)'
const DAMAGED_DIRECTORY = 'is damaged (its table of contents cannot be read; is the file cut short?)'

function entryName(flags: number, raw: Buffer, extra: Buffer): string {
  let fields: ReturnType<typeof parseExtraFields> = []
  try {
    fields = parseExtraFields(extra)
  } catch {
    // A damaged extra field only loses a Unicode name; the name field itself is still there.
  }
  return getFileNameLowLevel(flags, raw, fields, false)
}

/** A zip's entries from its central directory. Throws ZipInputError when the file is not a zip or is damaged. */
export function readZipDirectory(path: string): ZipItem[] {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    if (size < 22) throw new ZipInputError(NOT_A_ZIP)
    const tailLen = Math.min(size, 22 + 0xffff)
    const tail = readAt(fd, size - tailLen, tailLen)
    let eocd = -1
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === SIG_EOCD) {
        eocd = i
        break
      }
    }
    if (eocd === -1) throw new ZipInputError(NOT_A_ZIP)
    if (tail.readUInt16LE(eocd + 4) !== 0) throw new ZipInputError('is one part of a zip split over several files, which Batchery cannot read; join the parts into one zip')
    let count = tail.readUInt16LE(eocd + 10)
    let dirSize = tail.readUInt32LE(eocd + 12)
    let dirOffset = tail.readUInt32LE(eocd + 16)
    if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
      const loc = eocd - 20
      if (loc >= 0 && tail.readUInt32LE(loc) === SIG_EOCD64_LOCATOR) {
        const rec = readAt(fd, Number(tail.readBigUInt64LE(loc + 8)), 56)
        if (rec.length < 56 || rec.readUInt32LE(0) !== SIG_EOCD64) throw new ZipInputError(DAMAGED_DIRECTORY)
        count = Number(rec.readBigUInt64LE(32))
        dirSize = Number(rec.readBigUInt64LE(40))
        dirOffset = Number(rec.readBigUInt64LE(48))
      }
    }
    if (dirOffset + dirSize > size) throw new ZipInputError(DAMAGED_DIRECTORY)
    if (dirSize > MAX_DIRECTORY_BYTES) throw new ZipInputError('has a table of contents too large to read (more than a million files in one zip); split it into several zips')
    const dir = readAt(fd, dirOffset, dirSize)
    const items: ZipItem[] = []
    let p = 0
    for (let k = 0; k < count; k++) {
      if (p + 46 > dir.length || dir.readUInt32LE(p) !== SIG_CENTRAL) throw new ZipInputError(DAMAGED_DIRECTORY)
      const flags = dir.readUInt16LE(p + 8)
      const method = dir.readUInt16LE(p + 10)
      const crc32 = dir.readUInt32LE(p + 16)
      let compressedSize = dir.readUInt32LE(p + 20)
      let uncompressed = dir.readUInt32LE(p + 24)
      const nameLen = dir.readUInt16LE(p + 28)
      const extraLen = dir.readUInt16LE(p + 30)
      const commentLen = dir.readUInt16LE(p + 32)
      let localOffset = dir.readUInt32LE(p + 42)
      const nameEnd = p + 46 + nameLen
      const extraEnd = nameEnd + extraLen
      if (extraEnd + commentLen > dir.length) throw new ZipInputError(DAMAGED_DIRECTORY)
      // Zip64: the sizes and offset that did not fit are in extra field 0x0001, in this order.
      for (let e = nameEnd; e + 4 <= extraEnd; ) {
        const id = dir.readUInt16LE(e)
        const len = dir.readUInt16LE(e + 2)
        if (id === 0x0001) {
          let q = e + 4
          const end = Math.min(q + len, extraEnd)
          if (uncompressed === 0xffffffff && q + 8 <= end) (uncompressed = Number(dir.readBigUInt64LE(q))), (q += 8)
          if (compressedSize === 0xffffffff && q + 8 <= end) (compressedSize = Number(dir.readBigUInt64LE(q))), (q += 8)
          if (localOffset === 0xffffffff && q + 8 <= end) localOffset = Number(dir.readBigUInt64LE(q))
        }
        e += 4 + len
      }
      const name = entryName(flags, dir.subarray(p + 46, nameEnd), dir.subarray(nameEnd, extraEnd))
      items.push({ name, flags, method, crc32, compressedSize, size: uncompressed, localOffset })
      p = extraEnd + commentLen
    }
    return items
  } finally {
    closeSync(fd)
  }
}

/** Why an entry cannot be read at all (encrypted, an unknown compression method), or null. */
export function unreadableEntry(item: { flags: number; method: number }): string | null {
  if (item.flags & 1) return 'is password-protected; Batchery cannot read encrypted files (unpack it with its password, then zip it again without one)'
  if (item.method !== 0 && item.method !== 8) return `is compressed with a method Batchery cannot read (method ${item.method}; zip it again with the usual "deflate")`
  return null
}

/**
 * The start of an entry's content, read synchronously (for headers, checks and previews): at
 * least `want` bytes when the entry holds that many; `complete`: the whole content. Throws
 * ZipEntryError when the entry cannot be read.
 */
export function zipEntryPrefix(path: string, item: ZipItem, want = 1 << 20): { bytes: Buffer; complete: boolean } {
  const why = unreadableEntry(item)
  if (why) throw new ZipEntryError(item.name, why)
  const fd = openSync(path, 'r')
  try {
    const h = readAt(fd, item.localOffset, 30)
    if (h.length < 30 || h.readUInt32LE(0) !== SIG_LOCAL) throw new ZipEntryError(item.name, 'cannot be found where the zip says it is (the zip is damaged)')
    const start = item.localOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28)
    if (start + item.compressedSize > fstatSync(fd).size) throw new ZipEntryError(item.name, 'is cut short (the zip ends before it does)')
    if (item.method === 0) {
      const n = Math.min(want, item.compressedSize)
      return { bytes: readAt(fd, start, n), complete: n >= item.compressedSize }
    }
    // Deflate: as for gunzipPrefix, read more of the compressed data until it gives enough text.
    for (let n = Math.min(16 * 1024, item.compressedSize); ; n = Math.min(n * 4, item.compressedSize)) {
      const raw = readAt(fd, start, n)
      let out: Buffer
      try {
        // Z_SYNC_FLUSH: what the bytes so far inflate to, without asking for the rest.
        out = zlib.inflateRawSync(raw, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
      } catch (e) {
        if (isDamage(e)) throw new ZipEntryError(item.name, `is damaged (${(e as Error).message})`)
        throw e
      }
      if (n >= item.compressedSize || out.length >= want) return { bytes: out, complete: n >= item.compressedSize }
    }
  } finally {
    closeSync(fd)
  }
}

/** A zip's entries (`all`, in archive order), and those to read and to report (see entryRole), by name. */
export function zipContents(path: string, format: InputFormat): { all: ZipItem[]; read: ZipItem[]; nested: ZipItem[] } {
  const all = readZipDirectory(path)
  const sorted = byName(all)
  return { all, read: sorted.filter((e) => entryRole(e.name, format) === 'read'), nested: sorted.filter((e) => entryRole(e.name, format) === 'nested') }
}

// ---------------------------------------------------------------------------------------------
// Streaming entries (the worker), with yauzl

/** Damage in the data (zlib, yauzl's size checks, a bad signature), as opposed to a disk or program error, which keep their code. */
export function isDamage(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code
  // A TypeError is a bug here, not damage in the file.
  return e instanceof Error && !(e instanceof TypeError) && (typeof code !== 'string' || code.startsWith('Z_'))
}

/** An entry's damage in plain words, for "<entry> inside <zip> …". */
export function entryDamage(e: Error): string {
  const m = e.message
  if (/unexpected end of file/i.test(m)) return 'ends early (its compressed data is cut short)'
  if (/too (many|few) bytes/i.test(m)) return 'is damaged (it does not hold as many bytes as the zip says)'
  return `is damaged (${m})`
}

/** The entry was read to its end, but its content does not match the checksum the zip stores for it. */
export class ChecksumError extends Error {}

/** CRC-32 of a chunk, continuing `crc`: zlib's where Node has it (20.15+), else a table. */
const crc32: (data: Buffer, crc: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (zlib as unknown as { crc32(data: Buffer, value: number): number }).crc32
    : (() => {
        const table = new Int32Array(256)
        for (let n = 0; n < 256; n++) {
          let c = n
          for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
          table[n] = c
        }
        return (data: Buffer, crc: number): number => {
          let c = ~crc
          for (let i = 0; i < data.length; i++) c = (table[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8)
          return ~c >>> 0
        }
      })()

export interface ZipArchive {
  /** Every entry, with its name decoded as the planner decodes it. */
  entries: { name: string; entry: Entry }[]
  /** An entry's content, inflated. */
  open(entry: Entry): Promise<Readable>
  close(): void
}

/** Open a zip and list its entries. Throws ZipInputError when it is not a zip or is damaged; disk errors as they are. */
export async function openZipArchive(path: string): Promise<ZipArchive> {
  let zipfile: ZipFile
  try {
    // decodeStrings false: names are decoded below, without yauzl refusing names like "../x.csv",
    // which matter only when unpacking to disk, and Batchery never does.
    zipfile = await new Promise<ZipFile>((resolve, reject) =>
      openYauzl(path, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true }, (err, zf) => (err ? reject(err) : resolve(zf)))
    )
  } catch (e) {
    if (!isDamage(e)) throw e
    throw new ZipInputError(/end of central directory record signature not found/i.test((e as Error).message) ? NOT_A_ZIP : `is damaged (${(e as Error).message})`)
  }
  const entries: { name: string; entry: Entry }[] = []
  try {
    await new Promise<void>((resolve, reject) => {
      zipfile.on('entry', (entry: Entry) => {
        entries.push({ name: getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false), entry })
        zipfile.readEntry()
      })
      zipfile.on('end', () => resolve())
      zipfile.on('error', reject)
      zipfile.readEntry()
    })
  } catch (e) {
    zipfile.close()
    if (!isDamage(e)) throw e
    throw new ZipInputError(`is damaged (its table of contents cannot be read: ${(e as Error).message})`)
  }
  return {
    entries,
    open: (entry) => new Promise<Readable>((resolve, reject) => zipfile.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream)))),
    close: () => zipfile.close()
  }
}

export interface EntryTextOptions {
  encoding: Encoding
  /** Decoded text in order, a byte order mark at the start removed; `final` on the last call. */
  onText(text: string, final: boolean): void
  /** Entry bytes read (uncompressed), for progress. */
  onBytes(n: number): void
  /** Stop early (a dry run that has enough, an entry given up on). */
  shouldStop(): boolean
}

/**
 * Stream one entry's decoded text to `onText`. Resolves with `damaged` set when its data is
 * damaged, cut short, or larger or smaller than the zip says: the text before the damage was
 * delivered, and `onText` was not called with `final` (as for a damaged .gz file). A checksum
 * that does not match is only known at the end, when all the text is delivered: `damaged` is
 * then a ChecksumError. Disk errors throw.
 */
export async function streamZipEntryText(archive: ZipArchive, entry: Entry, opts: EntryTextOptions): Promise<{ damaged: Error | null; stopped: boolean }> {
  let stream: Readable
  try {
    stream = await archive.open(entry)
  } catch (e) {
    if (isDamage(e)) return { damaged: e as Error, stopped: false }
    throw e
  }
  const decoder = decoderFor(opts.encoding)
  let first = true
  let crc = 0
  const deliver = (text: string, final: boolean): void => {
    if (first && text.length) {
      first = false
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    opts.onText(text, final)
  }
  try {
    for await (const chunk of stream) {
      const b = chunk as Buffer
      crc = crc32(b, crc)
      opts.onBytes(b.length)
      deliver(decoder.write(b), false)
      if (opts.shouldStop()) return { damaged: null, stopped: true }
    }
    deliver(decoder.end(), true)
    return { damaged: crc >>> 0 !== entry.crc32 >>> 0 ? new ChecksumError('the checksum does not match') : null, stopped: false }
  } catch (e) {
    if (isDamage(e)) return { damaged: e as Error, stopped: false }
    throw e
  } finally {
    stream.destroy()
  }
}
