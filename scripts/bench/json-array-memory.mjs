#!/usr/bin/env node
// JSON arrays under a memory bound: a file holding one array of 1M order records (~230 MB,
// generated in a temp folder, never in git) through a records job, split between elements
// (the default) and read whole as one partition, against a quarter of the data, so that the
// peak memory can be seen not to grow with the input. Exits non-zero if a 1M-record run peaks
// at 300 MB or more.
//
//   node scripts/bench/json-array-memory.mjs [--records 1000000] [--keep]
import { closeSync, openSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { mulberry32 } from './gen-orders.mjs'
import { cleanUp, dataDir, fmt, runJob, table } from './formats-measure.mjs'

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? def : Number(process.argv[i + 1])
}
const RECORDS = arg('records', 1_000_000)
const LIMIT_MB = 300

const COUNTRIES = ['de', 'fr', 'gb', 'us', 'nl', 'it']
const STATUS = ['pending', 'paid', 'shipped', 'cancelled']

/** A pretty-printed JSON array of `n` orders (one element per few lines, as exports are). */
function writeArray(file, n, seed) {
  const rnd = mulberry32(seed)
  const fd = openSync(file, 'w')
  let buf = '[\n'
  for (let i = 1; i <= n; i++) {
    const rec = {
      id: i,
      ts: new Date(Date.UTC(2026, 0, 1) + Math.floor(rnd() * 3e10)).toISOString(),
      customer: `Customer ${Math.floor(rnd() * 100000)}`,
      country: COUNTRIES[Math.floor(rnd() * COUNTRIES.length)],
      amount: Math.floor(rnd() * 100000) / 100,
      quantity: 1 + Math.floor(rnd() * 20),
      status: STATUS[Math.floor(rnd() * STATUS.length)],
      tags: ['web', { campaign: `c${i % 17}` }],
      note: rnd() < 0.1 ? 'said "fragile", twice ]}' : `note ${i % 997}`
    }
    buf += '  ' + JSON.stringify(rec) + (i < n ? ',\n' : '\n')
    if (buf.length > 1 << 20) {
      writeSync(fd, buf)
      buf = ''
    }
  }
  writeSync(fd, buf + ']\n')
  closeSync(fd)
}

const job = (policy) => ({
  name: 'json-array-bench',
  kind: 'records',
  input: { folder: 'in', format: 'json' },
  steps: [
    { validate: { amount: { type: 'number', min: 0 }, quantity: { type: 'integer' } } },
    { filter: "status != 'cancelled'" },
    { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)' } }
  ],
  output: { folder: 'out', format: 'jsonl' },
  policy
})

const rows = [['run', 'records', 'input MB', 'wall s', 'records/s', 'peak RSS MB']]
let worst = 0
for (const n of [Math.floor(RECORDS / 4), RECORDS]) {
  const dir = dataDir('json-array')
  const file = join(dir, 'in', 'orders.json')
  await import('node:fs').then((fs) => fs.mkdirSync(join(dir, 'in')))
  writeArray(file, n, 7)
  const mb = statSync(file).size / 1e6
  for (const [label, policy] of [
    ['split between elements', {}],
    ['one partition', { chunkSize: '100GB' }]
  ]) {
    const r = await runJob(dir, job(policy))
    if (r.result.counts.in !== n) throw new Error(`expected ${n} records in, got ${JSON.stringify(r.result.counts)}`)
    rows.push([label, fmt(n), fmt(mb, 0), fmt(r.wall, 1), fmt(n / r.wall), fmt(r.peakRssMb, 0)])
    if (n === RECORDS) worst = Math.max(worst, r.peakRssMb)
  }
  cleanUp(dir)
}
console.log(`JSON array input, ${fmt(RECORDS)} records (concurrency: all cores)\n`)
console.log(table(rows))
console.log(`\npeak RSS at ${fmt(RECORDS)} records: ${fmt(worst, 0)} MB (limit ${LIMIT_MB} MB)`)
if (worst >= LIMIT_MB) process.exitCode = 1
