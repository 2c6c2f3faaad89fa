// Zip files written byte by byte for the tests, so that each test controls what a zip tool would
// not let it: entries stored or deflated, a wrong checksum, an encrypted flag, damaged data.
import { deflateRawSync } from 'node:zlib'

export interface ZipEntrySpec {
  name: string
  /** Content; a folder entry (name ending in "/") has none. */
  data?: string | Buffer
  /** 8 deflate (default), 0 stored. */
  method?: 0 | 8
  /** General purpose flags added to the UTF-8 name flag (1: encrypted). */
  flags?: number
  /** A checksum to record instead of the right one. */
  crc?: number
  /** Change the stored (compressed) bytes, e.g. to damage them. */
  damage?: (stored: Buffer) => Buffer
}

const TABLE = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()

export function crc32(data: Buffer): number {
  let c = ~0
  for (let i = 0; i < data.length; i++) c = (TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8)
  return ~c >>> 0
}

/** A zip archive holding these entries, in this order. */
export function makeZip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8')
    const data = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? '', 'utf8')
    const method = e.name.endsWith('/') ? 0 : (e.method ?? 8)
    let stored = method === 8 ? deflateRawSync(data) : data
    if (e.damage) stored = e.damage(stored)
    const flags = 0x800 | (e.flags ?? 0)
    const crc = e.crc ?? crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(flags, 6)
    local.writeUInt16LE(method, 8)
    local.writeUInt16LE(0, 10) // time
    local.writeUInt16LE(0x5c21, 12) // 2026-01-01
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(stored.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(name.length, 26)
    local.writeUInt16LE(0, 28)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(flags, 8)
    central.writeUInt16LE(method, 10)
    central.writeUInt16LE(0, 12)
    central.writeUInt16LE(0x5c21, 14)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(stored.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt32LE(e.name.endsWith('/') ? 0x10 : 0, 38)
    central.writeUInt32LE(offset, 42)
    locals.push(local, name, stored)
    centrals.push(central, name)
    offset += 30 + name.length + stored.length
  }
  const dir = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(dir.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, dir, end])
}
