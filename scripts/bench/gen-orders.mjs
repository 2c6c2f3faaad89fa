// Deterministic order data for benchmarks (seeded mulberry32; never in git): 10 columns with
// quoted commas (~14%), doubled quotes (~3%) and quoted newlines (~1%), like the research data.
import { closeSync, openSync, writeSync } from 'node:fs'

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

/** Writes `rows` orders to `file`; returns { rows, bytes, cancelled }. */
export function generateOrders(file, rows, seed = 1) {
  const rnd = mulberry32(seed)
  const pick = (a) => a[Math.floor(rnd() * a.length)]
  const fd = openSync(file, 'w')
  let buf = 'id,ts,customer,country,sku,amount,quantity,email,status,note\n'
  let bytes = 0
  let cancelled = 0
  const base = Date.UTC(2026, 0, 1)
  for (let i = 1; i <= rows; i++) {
    const first = pick(FIRST)
    const last = pick(LAST)
    const customer = rnd() < 0.144 ? `"${last}, ${first}"` : `${first} ${last}`
    const status = pick(STATUS)
    if (status === 'cancelled') cancelled++
    const r = rnd()
    const note = r < 0.03 ? '' : r < 0.095 ? `"left at door, ring twice"` : r < 0.124 ? `"said ""fragile"" twice"` : r < 0.134 ? `"line one\nline two"` : `note ${i % 997}`
    const ts = new Date(base + Math.floor(rnd() * 3e10)).toISOString()
    buf += `${i},${ts},${customer},${pick(COUNTRIES)},SKU-${String(Math.floor(rnd() * 5000)).padStart(5, '0')},${(1 + Math.floor(rnd() * 99999)) / 100},${1 + Math.floor(rnd() * 20)},${first.toLowerCase()}.${last.toLowerCase()}@example.com,${status},${note}\n`
    if (buf.length > 1 << 20) {
      bytes += writeSync(fd, buf)
      buf = ''
    }
  }
  bytes += writeSync(fd, buf)
  closeSync(fd)
  return { rows, bytes, cancelled }
}
