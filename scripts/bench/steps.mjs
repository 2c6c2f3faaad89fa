#!/usr/bin/env node
// The aggregate and route steps and split outputs on a 1M-row orders CSV, each against the same
// job without them (filter + derive, JSON lines out) in the same rounds, interleaved, reported as
// ratios; the aggregate also against DuckDB's GROUP BY over the same file. Data generated in a
// temp folder, never in git.
//
//   node scripts/bench/steps.mjs [--rows 1000000] [--rounds 3] [--keep]
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { generateOrders } from './gen-orders.mjs'
import { cleanUp, dataDir, fmt, runJob, table } from './formats-measure.mjs'
import { median } from './measure.mjs'

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? dflt : Number(process.argv[i + 1])
}
const ROWS = arg('rows', 1_000_000)
const ROUNDS = arg('rounds', 3)

const dir = dataDir('steps')
mkdirSync(join(dir, 'in'))
generateOrders(join(dir, 'in', 'orders.csv'), ROWS, 1)

const base = [{ filter: "status != 'cancelled'" }, { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)' } }]
const job = (name, steps, output = {}) => ({
  name,
  kind: 'records',
  input: { folder: 'in', format: 'csv' },
  steps: [...base, ...steps],
  output: { folder: `out-${name}`, format: 'jsonl', layout: 'merged', ...output }
})
const VALUES = { orders: 'count', revenue: 'sum(total)', average: 'avg(total)', smallest: 'min(amount)', largest: 'max(amount)', customers: 'distinct(customer)' }
const cases = [
  ['baseline', job('baseline', [])],
  ['split 100k records', job('split', [], { split: { records: 100_000 } })],
  ['route by country', job('route', [{ route: { by: 'country' } }])],
  ['route when (2 + otherwise)', job('when', [{ route: { when: { large: 'total > 5000', small: 'total < 10' }, otherwise: 'normal' } }])],
  ['aggregate by country', job('aggregate', [{ aggregate: { by: ['country'], values: VALUES } }])],
  ['aggregate by customer', job('aggregate-customer', [{ aggregate: { by: ['customer'], values: { orders: 'count', revenue: 'sum(total)' } } }])]
]

async function duckdb() {
  const t0 = performance.now()
  const inst = await DuckDBInstance.create(':memory:', { threads: '2' })
  const con = await inst.connect()
  const src = join(dir, 'in', 'orders.csv').replace(/'/g, "''")
  await con.run(`COPY (SELECT upper(country) AS country, count(*) AS orders, sum(round(amount * quantity, 2)) AS revenue, avg(round(amount * quantity, 2)) AS average,
    min(amount) AS smallest, max(amount) AS largest, count(DISTINCT customer) AS customers
    FROM read_csv('${src}', header = true) WHERE status <> 'cancelled' GROUP BY 1) TO '${join(dir, 'duck.json').replace(/'/g, "''")}' (FORMAT JSON)`)
  con.closeSync()
  return (performance.now() - t0) / 1000
}

const walls = Object.fromEntries(cases.map(([label]) => [label, []]))
const rss = Object.fromEntries(cases.map(([label]) => [label, 0]))
walls.duckdb = []
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, j] of cases) {
    const r = await runJob(dir, j, join(dir, `home-${round}-${j.name}`))
    if (r.result.counts.in !== ROWS) throw new Error(`${label}: ${JSON.stringify(r.result.counts)}`)
    walls[label].push(r.wall)
    rss[label] = Math.max(rss[label], r.peakRssMb ?? 0)
  }
  walls.duckdb.push(await duckdb())
}
const b = median(walls.baseline)
const d = median(walls.duckdb)
const rows = [['job', 'median s', 'min s', 'max s', 'rows/s', 'peak RSS MB', 'x baseline time', 'x DuckDB time']]
for (const [label] of [...cases, ['duckdb']]) {
  const w = walls[label]
  rows.push([label === 'duckdb' ? 'DuckDB GROUP BY country' : label, fmt(median(w), 2), fmt(Math.min(...w), 2), fmt(Math.max(...w), 2), fmt(ROWS / median(w)), label === 'duckdb' ? '–' : fmt(rss[label]), fmt(median(w) / b, 2), fmt(median(w) / d, 2)])
}
console.log(`${fmt(ROWS)} orders, filter + derive then the step, JSON lines out, ${ROUNDS} rounds interleaved\n`)
console.log(table(rows))
cleanUp(dir)
