#!/usr/bin/env node
// Peak RSS over many small files: one records run (filter + derive, JSON lines out) over
// folders of N files of 10 rows, for growing N. Promise 5 says memory does not grow with the
// input; this shows whether it grows with the number of files. Data generated on tmpfs when
// there is one (else a temp folder), never in git.
//
//   node scripts/bench/many-files-memory.mjs [--files 5000,20000,40000] [--keep]
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { generateSmallFiles } from './gen-orders.mjs'
import { cleanUp, dataDir, fmt, runJob, table } from './formats-measure.mjs'

const i = process.argv.indexOf('--files')
const COUNTS = (i === -1 ? '5000,20000,40000' : process.argv[i + 1]).split(',').map(Number)
if (!process.env.BATCHERY_BENCH_DATA && existsSync('/dev/shm')) process.env.BATCHERY_BENCH_DATA = '/dev/shm'
const dir = dataDir('many-files')

const rows = [['files', 'wall s', 'µs/file', 'peak RSS MB', 'RSS ÷ first', 'records out']]
let first = null
for (const n of COUNTS) {
  const base = join(dir, `f${n}`)
  const meta = generateSmallFiles(join(base, 'in'), n, 10, 2)
  const job = {
    name: `many-${n}`,
    kind: 'records',
    input: { folder: 'in', include: ['*.csv'], format: 'csv' },
    steps: [{ filter: "status != 'cancelled'" }, { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)' } }],
    output: { folder: 'out', format: 'jsonl' },
    policy: { concurrency: 2 }
  }
  const r = await runJob(base, job)
  const out = r.result.counts.out
  if (out !== meta.rows - meta.cancelled) throw new Error(`${n} files: ${out} records out, expected ${meta.rows - meta.cancelled}`)
  first ??= r.peakRssMb
  rows.push([fmt(n), fmt(r.wall, 2), fmt((r.wall * 1e6) / n), fmt(r.peakRssMb), fmt(r.peakRssMb / first, 2), fmt(out)])
  process.stdout.write(`${fmt(n)} files: ${fmt(r.wall, 2)} s, peak RSS ${fmt(r.peakRssMb)} MB\n`)
  cleanUp(base)
}
process.stdout.write('\n' + table(rows) + '\n')
cleanUp(dir)
