// Deterministic order data for benchmarks (seeded mulberry32; never in git): 10 columns with
// quoted commas (~14%), doubled quotes (~3%) and quoted newlines (~1%), like the research data.
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'

export function mulberry32(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Katherine', 'Hedy', 'Margaret', 'Tim', 'Radia', 'Barbara', 'Frances', 'Edsger', 'Donald']
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Johnson', 'Lamarr', 'Hamilton', 'Berners-Lee', 'Perlman', 'Liskov', 'Allen', 'Dijkstra', 'Knuth']
const COUNTRIES = ['de', 'De', 'fr', 'gb', 'Gb', 'us', 'US', 'nl', 'it', 'es', 'pl', 'se']
const STATUS = ['pending', 'paid', 'paid', 'shipped', 'shipped', 'refunded', 'paid', 'cancelled']

const HEADER = 'id,ts,customer,country,sku,amount,quantity,email,status,note\n'

/** Writes `rows` orders to `file`; returns { rows, bytes, cancelled }. */
export function generateOrders(file, rows, seed = 1) {
  const fd = openSync(file, 'w')
  let buf = HEADER
  let bytes = 0
  const row = orderRows(seed)
  let cancelled = 0
  for (let i = 1; i <= rows; i++) {
    const r = row(i)
    if (r.cancelled) cancelled++
    buf += r.line
    if (buf.length > 1 << 20) {
      bytes += writeSync(fd, buf)
      buf = ''
    }
  }
  bytes += writeSync(fd, buf)
  closeSync(fd)
  return { rows, bytes, cancelled }
}

/**
 * A folder of `files` CSV files of `rowsPerFile` orders each (with header), named 000000.csv...,
 * ids continuing across files. Files already there with the same content are rewritten in place
 * (no delete-and-create: see the ext4 note in perf-baselines.md); stray files are removed.
 * Returns { files, rows, bytes, cancelled }.
 */
export function generateSmallFiles(dir, files, rowsPerFile, seed = 2) {
  mkdirSync(dir, { recursive: true })
  const row = orderRows(seed)
  const wanted = new Set()
  let id = 0
  let bytes = 0
  let cancelled = 0
  for (let f = 0; f < files; f++) {
    let text = HEADER
    for (let i = 0; i < rowsPerFile; i++) {
      const r = row(++id)
      if (r.cancelled) cancelled++
      text += r.line
    }
    const name = `${String(f).padStart(6, '0')}.csv`
    wanted.add(name)
    writeFileSync(join(dir, name), text)
    bytes += Buffer.byteLength(text)
  }
  for (const name of readdirSync(dir)) if (!wanted.has(name)) rmSync(join(dir, name), { recursive: true, force: true })
  return { files, rows: files * rowsPerFile, bytes, cancelled }
}

/** A function giving order number i as one CSV line (with its newline), from a seeded stream. */
function orderRows(seed) {
  const rnd = mulberry32(seed)
  const pick = (a) => a[Math.floor(rnd() * a.length)]
  const base = Date.UTC(2026, 0, 1)
  return (i) => {
    const first = pick(FIRST)
    const last = pick(LAST)
    const customer = rnd() < 0.144 ? `"${last}, ${first}"` : `${first} ${last}`
    const status = pick(STATUS)
    const r = rnd()
    const note = r < 0.03 ? '' : r < 0.095 ? `"left at door, ring twice"` : r < 0.124 ? `"said ""fragile"" twice"` : r < 0.134 ? `"line one\nline two"` : `note ${i % 997}`
    const ts = new Date(base + Math.floor(rnd() * 3e10)).toISOString()
    const line = `${i},${ts},${customer},${pick(COUNTRIES)},SKU-${String(Math.floor(rnd() * 5000)).padStart(5, '0')},${(1 + Math.floor(rnd() * 99999)) / 100},${1 + Math.floor(rnd() * 20)},${first.toLowerCase()}.${last.toLowerCase()}@example.com,${status},${note}\n`
    return { line, cancelled: status === 'cancelled' }
  }
}
