#!/usr/bin/env node
// Parquet output against CSV output of the same job: rows per second and peak memory writing a
// 1M-row output (one merged file, so one Parquet file of several row groups), reported as
// ratios to CSV. Data generated in a temp folder, never in git. Each run once by default; use
// --rounds N for the median of N alternating runs.
//
// Parquet costs more than CSV twice over: the records are staged as JSON arrays, then the
// assembled file is read twice after assembly (once to decide each column's type, once to write
// the row groups). Peak RSS tells whether memory stays bounded by the row group (100,000 rows).
//
//   node scripts/bench/parquet-output.mjs [--rows 1000000] [--rounds 1] [--keep]
import { mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { generateOrders } from './gen-orders.mjs'
import { cleanUp, dataDir, fmt, runJob, table } from './formats-measure.mjs'

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? dflt : Number(process.argv[i + 1])
}
const ROWS = arg('--rows', 1_000_000)
const ROUNDS = arg('--rounds', 1)

const dir = dataDir('parquet')
mkdirSync(join(dir, 'in'))
generateOrders(join(dir, 'in', 'orders.csv'), ROWS, 5)
const inMb = statSync(join(dir, 'in', 'orders.csv')).size / 1e6

// Numbers, whole numbers, text and a true/false column, so every Parquet type is written.
const steps = [
  { validate: { id: { type: 'integer' }, amount: { type: 'number', min: 0 }, quantity: { type: 'integer' } } },
  { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)', big: 'amount > 500' } }
]
const job = (format) => ({
  name: `bench-${format}`,
  kind: 'records',
  input: { folder: 'in', format: 'csv' },
  steps,
  output: { folder: `out-${format}`, format, layout: 'merged', name: 'orders' }
})

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const results = { csv: [], parquet: [] }
for (let r = 0; r < ROUNDS; r++) {
  for (const format of ['csv', 'parquet']) {
    const m = await runJob(dir, job(format), join(dir, `home-${format}-${r}`))
    if (m.result.counts.in !== ROWS) throw new Error(`${format}: ${JSON.stringify(m.result.counts)}`)
    const out = m.result.outputs[0]?.path
    results[format].push({ wall: m.wall, rss: m.peakRssMb, mb: out ? statSync(out).size / 1e6 : 0 })
  }
}

const summary = (format) => {
  const runs = results[format]
  const wall = median(runs.map((x) => x.wall))
  return { wall, rowsPerS: ROWS / wall, rss: median(runs.map((x) => x.rss)), mb: runs[0].mb }
}
const csv = summary('csv')
const pq = summary('parquet')
const rows = [
  ['output', 'rows', 'MB written', 'wall s', 'rows/s', 'peak RSS MB'],
  ['CSV (reference)', fmt(ROWS), fmt(csv.mb, 1), fmt(csv.wall, 1), fmt(csv.rowsPerS), fmt(csv.rss, 0)],
  ['Parquet', fmt(ROWS), fmt(pq.mb, 1), fmt(pq.wall, 1), fmt(pq.rowsPerS), fmt(pq.rss, 0)],
  ['Parquet / CSV', '', fmt(pq.mb / csv.mb, 2), fmt(pq.wall / csv.wall, 2), fmt(pq.rowsPerS / csv.rowsPerS, 2), fmt(pq.rss / csv.rss, 2)]
]
console.log(`CSV input of ${fmt(ROWS)} rows x 10 columns: ${fmt(inMb, 1)} MB; merged output, median of ${ROUNDS} run(s)\n`)
console.log(table(rows))
console.log('\nwall: whole CLI run (process start, plan, workers, assembly, Parquet writing, commit); RSS: whole process, workers included')
cleanUp(dir)
