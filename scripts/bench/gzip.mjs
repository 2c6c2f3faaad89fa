#!/usr/bin/env node
// Gzip-compressed input against the same CSV uncompressed: one 1M-row file (a compressed file is
// one partition, so it is read by one worker) and the same rows in four files (four partitions
// at once). Data generated in a temp folder, never in git.
//
//   node scripts/bench/gzip.mjs [--rows 1000000] [--keep]
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { generateOrders } from './gen-orders.mjs'
import { cleanUp, dataDir, fmt, runJob, table } from './formats-measure.mjs'

const i = process.argv.indexOf('--rows')
const ROWS = i === -1 ? 1_000_000 : Number(process.argv[i + 1])

const dir = dataDir('gzip')
for (const d of ['plain1', 'gz1', 'plain4', 'gz4']) mkdirSync(join(dir, d))
generateOrders(join(dir, 'plain1', 'orders.csv'), ROWS, 1)
writeFileSync(join(dir, 'gz1', 'orders.csv.gz'), gzipSync(readFileSync(join(dir, 'plain1', 'orders.csv'))))
for (let k = 0; k < 4; k++) {
  generateOrders(join(dir, 'plain4', `orders${k}.csv`), ROWS / 4, 10 + k)
  writeFileSync(join(dir, 'gz4', `orders${k}.csv.gz`), gzipSync(readFileSync(join(dir, 'plain4', `orders${k}.csv`))))
}

const job = (folder, policy = {}) => ({
  name: `gzip-${folder}`,
  kind: 'records',
  input: { folder, format: 'csv' },
  steps: [
    { validate: { amount: { type: 'number', min: 0 }, quantity: { type: 'integer' } } },
    { filter: "status != 'cancelled'" },
    { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)' } }
  ],
  output: { folder: `out-${folder}`, format: 'jsonl' },
  policy
})

const rows = [['input', 'files', 'workers', 'MB on disk', 'wall s', 'rows/s', 'peak RSS MB']]
const size = (d) => ['orders.csv', 'orders.csv.gz', ...[0, 1, 2, 3].flatMap((k) => [`orders${k}.csv`, `orders${k}.csv.gz`])].reduce((s, f) => {
  try {
    return s + statSync(join(dir, d, f)).size
  } catch {
    return s
  }
}, 0)
const outputs = {}
// One worker: the cost of decompressing, the rest being equal. All cores: a compressed file is one
// partition, so one big .gz file keeps one worker busy, and several files keep them all busy.
for (const [d, label, files, workers] of [
  ['plain1', 'CSV', 1, 1],
  ['gz1', 'CSV .gz', 1, 1],
  ['plain1', 'CSV', 1, 'all'],
  ['gz1', 'CSV .gz', 1, 'all'],
  ['plain4', 'CSV', 4, 'all'],
  ['gz4', 'CSV .gz', 4, 'all']
]) {
  const r = await runJob(dir, job(d, workers === 1 ? { concurrency: 1 } : {}))
  if (r.result.counts.in !== ROWS) throw new Error(`${d}: ${JSON.stringify(r.result.counts)}`)
  outputs[d] = r.result.outputs.map((o) => o.sha256)
  rows.push([label, files, workers, fmt(size(d) / 1e6, 0), fmt(r.wall, 1), fmt(ROWS / r.wall), fmt(r.peakRssMb, 0)])
}
const same = JSON.stringify(outputs.plain1) === JSON.stringify(outputs.gz1) && JSON.stringify(outputs.plain4) === JSON.stringify(outputs.gz4)
console.log(`${fmt(ROWS)} orders, validate + filter + derive, JSON lines out\n`)
console.log(table(rows))
console.log(`\noutputs of .gz and plain inputs byte-identical: ${same ? 'yes' : 'NO'}`)
if (!same) process.exitCode = 1
cleanUp(dir)
