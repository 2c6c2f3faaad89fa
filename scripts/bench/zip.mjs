#!/usr/bin/env node
// Zip archives against the same CSV uncompressed: 1M rows in one entry of one zip (a zip is one
// partition, read by one worker), and the same rows as four entries of one zip and as four zips.
// Data generated in a temp folder, never in git.
//
//   node scripts/bench/zip.mjs [--rows 1000000] [--keep]
import { mkdirSync, readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { crc32, deflateRawSync } from 'node:zlib'
import { generateOrders } from './gen-orders.mjs'
import { cleanUp, dataDir, fmt, runJob, table } from './formats-measure.mjs'

const i = process.argv.indexOf('--rows')
const ROWS = i === -1 ? 1_000_000 : Number(process.argv[i + 1])

/** A zip of these entries (deflated), written the plain way: local headers, central directory, end record. */
function makeZip(entries) {
  const locals = []
  const centrals = []
  let offset = 0
  for (const { name, data } of entries) {
    const n = Buffer.from(name)
    const stored = deflateRawSync(data)
    const crc = crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(0x800, 6)
    local.writeUInt16LE(8, 8)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(stored.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(n.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(0x800, 8)
    central.writeUInt16LE(8, 10)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(stored.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(n.length, 28)
    central.writeUInt32LE(offset, 42)
    locals.push(local, n, stored)
    centrals.push(central, n)
    offset += 30 + n.length + stored.length
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

const dir = dataDir('zip')
for (const d of ['plain1', 'zip1', 'plain4', 'zip4in1', 'zip4']) mkdirSync(join(dir, d))
generateOrders(join(dir, 'plain1', 'orders.csv'), ROWS, 1)
writeFileSync(join(dir, 'zip1', 'orders.zip'), makeZip([{ name: 'orders.csv', data: readFileSync(join(dir, 'plain1', 'orders.csv')) }]))
const parts = []
for (let k = 0; k < 4; k++) {
  generateOrders(join(dir, 'plain4', `orders${k}.csv`), ROWS / 4, 10 + k)
  const data = readFileSync(join(dir, 'plain4', `orders${k}.csv`))
  parts.push({ name: `orders${k}.csv`, data })
  writeFileSync(join(dir, 'zip4', `orders${k}.zip`), makeZip([{ name: `orders${k}.csv`, data }]))
}
writeFileSync(join(dir, 'zip4in1', 'orders.zip'), makeZip(parts))

const job = (folder, policy = {}, layout = 'per-input') => ({
  name: `zip-${folder}`,
  kind: 'records',
  input: { folder, format: 'csv' },
  steps: [
    { validate: { amount: { type: 'number', min: 0 }, quantity: { type: 'integer' } } },
    { filter: "status != 'cancelled'" },
    { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)' } }
  ],
  output: { folder: `out-${folder}`, format: 'jsonl', layout },
  policy
})

const size = (d) => readdirSync(join(dir, d)).reduce((s, f) => s + statSync(join(dir, d, f)).size, 0)
const rows = [['input', 'files', 'workers', 'MB on disk', 'wall s', 'rows/s', 'peak RSS MB']]
const outputs = {}
for (const [d, label, files, workers, layout] of [
  ['plain1', 'CSV', 1, 1, 'per-input'],
  ['zip1', 'zip, 1 entry', 1, 1, 'per-input'],
  ['plain1', 'CSV', 1, 'all', 'per-input'],
  ['zip1', 'zip, 1 entry', 1, 'all', 'per-input'],
  ['plain4', 'CSV', 4, 'all', 'merged'],
  ['zip4in1', 'zip, 4 entries', 1, 'all', 'merged'],
  ['zip4', 'zip, 1 entry', 4, 'all', 'merged']
]) {
  const r = await runJob(dir, job(d, workers === 1 ? { concurrency: 1 } : {}, layout))
  if (r.result.counts.in !== ROWS) throw new Error(`${d}: ${JSON.stringify(r.result.counts)}`)
  outputs[d] = r.result.outputs.map((o) => o.sha256)
  rows.push([label, files, workers, fmt(size(d) / 1e6, 0), fmt(r.wall, 1), fmt(ROWS / r.wall), fmt(r.peakRssMb, 0)])
}
const same = (a, b) => JSON.stringify(outputs[a]) === JSON.stringify(outputs[b])
const ok = same('plain1', 'zip1') && same('plain4', 'zip4in1') && same('plain4', 'zip4')
console.log(`${fmt(ROWS)} orders, validate + filter + derive, JSON lines out\n`)
console.log(table(rows))
console.log(`\noutputs of zip and plain inputs byte-identical: ${ok ? 'yes' : 'NO'}`)
if (!ok) process.exitCode = 1
cleanUp(dir)
