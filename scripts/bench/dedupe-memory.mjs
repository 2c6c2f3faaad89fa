#!/usr/bin/env node
// Dedupe over many distinct keys: peak RSS and wall time of the example job's steps (validate,
// filter, derive, dedupe on id) with the run's keys held in memory against the default, where
// past 1,000,000 keys they move to a scratch SQLite file (src/main/engine/dedupe-index.ts).
// Outputs must be byte-identical. Data generated in a temp folder, never in git.
//
//   node scripts/bench/dedupe-memory.mjs [--rows 10000000] [--keep]
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { generateOrders } from './gen-orders.mjs'
import { cleanUp, dataDir, fmt, runJob, table } from './formats-measure.mjs'

const i = process.argv.indexOf('--rows')
const ROWS = i === -1 ? 10_000_000 : Number(process.argv[i + 1])
const dir = dataDir('dedupe')
mkdirSync(join(dir, 'in'))
generateOrders(join(dir, 'in', 'orders.csv'), ROWS, 1)

const job = (name) => ({
  name,
  kind: 'records',
  input: { folder: 'in', format: 'csv' },
  steps: [
    { validate: { id: { type: 'integer', required: true }, amount: { type: 'number', min: 0 }, quantity: { type: 'integer' } } },
    { filter: "status != 'cancelled'" },
    { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)' } },
    { dedupe: ['id'] }
  ],
  output: { folder: `out-${name}`, format: 'jsonl', layout: 'merged', name: 'orders' }
})

const rows = [['keys', 'wall s', 'rows/s', 'peak RSS MB', 'duplicates']]
const sums = {}
for (const [name, label, env] of [
  ['memory', 'all in memory', { BATCHERY_DEDUPE_KEYS_IN_MEMORY: String(ROWS * 2) }],
  ['bounded', 'in memory up to 1M, then on disk', {}]
]) {
  Object.assign(process.env, env)
  const r = await runJob(dir, job(name))
  for (const k of Object.keys(env)) delete process.env[k]
  sums[name] = r.result.outputs.map((o) => o.sha256).join()
  rows.push([label, fmt(r.wall, 1), fmt(ROWS / r.wall), fmt(r.peakRssMb), fmt(r.result.counts.deduped)])
}
console.log(`${fmt(ROWS)} orders, the example job's steps (dedupe on id), JSON lines out\n`)
console.log(table(rows))
console.log(`\noutputs byte-identical: ${sums.memory === sums.bounded ? 'yes' : 'NO'}`)
if (sums.memory !== sums.bounded) process.exitCode = 1
cleanUp(dir)
