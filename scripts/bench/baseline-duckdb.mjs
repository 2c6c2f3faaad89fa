#!/usr/bin/env node
// Baseline: DuckDB (@duckdb/node-api) in one process, output as JSON lines in input order
// (preserve_insertion_order, COPY ... TO ... (FORMAT JSON)).
//
//   node baseline-duckdb.mjs t|example IN.csv|IN_DIR OUT.jsonl [threads=2]
//
// t        transform T: drop cancelled, total = round(amount * quantity, 2), upper(country);
//          typed schema (amount DECIMAL(12,2), as in /work/shared/bench/t/duckdb.mjs).
// example  the example job's steps: validate (id integer required, amount number >= 0, quantity
//          integer: rows that fail are dropped, not reported, which is less work than Batchery
//          does), T, dedupe on id keeping the first occurrence in input order.
// A directory as input reads every *.csv in it (name order).
// Prints {"wallSeconds", "peakRssMb", "cpuSeconds"} to stderr; the harness counts the output's lines.
import { statSync } from 'node:fs'
import { DuckDBInstance } from '@duckdb/node-api'

const [mode, input, output, threads = '2'] = process.argv.slice(2)
const q = (s) => "'" + s.replace(/'/g, "''") + "'"
const t0 = performance.now()
const inst = await DuckDBInstance.create(':memory:', { threads: String(threads), preserve_insertion_order: 'true' })
const con = await inst.connect()
const src = statSync(input).isDirectory() ? `${input.replace(/\/$/, '')}/*.csv` : input
const opts = `header = true, delim = ',', quote = '"', escape = '"', strict_mode = true`
let sql
if (mode === 't') {
  sql = `COPY (
  SELECT id, ts, customer, upper(country) AS country, sku, amount, quantity, email, status, note,
         round(amount * quantity, 2) AS total
  FROM read_csv(${q(src)}, ${opts},
       columns = {'id': 'BIGINT', 'ts': 'VARCHAR', 'customer': 'VARCHAR', 'country': 'VARCHAR',
                  'sku': 'VARCHAR', 'amount': 'DECIMAL(12,2)', 'quantity': 'INTEGER',
                  'email': 'VARCHAR', 'status': 'VARCHAR', 'note': 'VARCHAR'})
  WHERE status <> 'cancelled'
) TO ${q(output)} (FORMAT JSON)`
} else if (mode === 'example') {
  // Every column read as text, then checked and converted like the validate step; the row number
  // (input order) decides which duplicate is kept and the output order.
  sql = `COPY (
  WITH raw AS (
    SELECT row_number() OVER () AS ln, *
    FROM read_csv(${q(src)}, ${opts}, all_varchar = true)
  ), typed AS (
    SELECT ln, TRY_CAST(trim(id) AS BIGINT) AS id, ts, customer, country, sku,
           TRY_CAST(trim(amount) AS DOUBLE) AS amount, TRY_CAST(trim(quantity) AS BIGINT) AS quantity,
           email, status, note
    FROM raw
  )
  SELECT id, ts, customer, upper(country) AS country, sku, amount, quantity, email, status, note,
         round(amount * quantity, 2) AS total
  FROM typed
  WHERE id IS NOT NULL AND amount >= 0 AND quantity IS NOT NULL AND status <> 'cancelled'
  QUALIFY row_number() OVER (PARTITION BY id ORDER BY ln) = 1
  ORDER BY ln
) TO ${q(output)} (FORMAT JSON)`
} else {
  console.error('usage: baseline-duckdb.mjs t|example IN OUT [threads]')
  process.exit(64)
}
await con.run(sql)
const wallSeconds = (performance.now() - t0) / 1000
const u = process.resourceUsage()
process.stderr.write(JSON.stringify({ wallSeconds, peakRssMb: u.maxRSS / 1024, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6 }) + '\n')
