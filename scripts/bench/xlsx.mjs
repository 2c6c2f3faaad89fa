#!/usr/bin/env node
// Excel workbooks: rows per second and peak memory reading and writing a 100k-row workbook
// (generated in a temp folder with exceljs, never in git).
//   read:  xlsx (sheet "Orders", after a small "Notes" sheet) -> JSON lines, with validate and derive steps
//   write: CSV -> xlsx, the same steps
//   baseline: exceljs's own streaming WorkbookReader iterating the same rows (no steps, no output),
//            in a child process, for scale
//
//   node scripts/bench/xlsx.mjs [--rows 100000] [--keep]
import { spawnSync } from 'node:child_process'
import { mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import ExcelJS from 'exceljs'
import { generateOrders, mulberry32 } from './gen-orders.mjs'
import { cleanUp, dataDir, fmt, ROOT, runJob, table } from './formats-measure.mjs'

const i = process.argv.indexOf('--rows')
const ROWS = i === -1 ? 100_000 : Number(process.argv[i + 1])

/** A workbook as Excel writes them: shared strings, a date format, numbers, a formula column. */
async function writeWorkbook(file, rows) {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: true, useStyles: true })
  wb.addWorksheet('Notes').addRow(['Orders exported for the benchmark']).commit()
  const ws = wb.addWorksheet('Orders')
  ws.addRow(['id', 'ordered', 'customer', 'country', 'sku', 'amount', 'quantity', 'email', 'status', 'total']).commit()
  const rnd = mulberry32(3)
  const countries = ['de', 'fr', 'gb', 'us', 'nl']
  const status = ['pending', 'paid', 'shipped', 'cancelled']
  for (let r = 1; r <= rows; r++) {
    const amount = Math.floor(rnd() * 100000) / 100
    const quantity = 1 + Math.floor(rnd() * 20)
    const row = ws.addRow([
      r,
      new Date(Date.UTC(2026, 0, 1) + Math.floor(rnd() * 3e10)),
      `Customer ${Math.floor(rnd() * 5000)}`,
      countries[Math.floor(rnd() * countries.length)],
      `SKU-${String(Math.floor(rnd() * 5000)).padStart(5, '0')}`,
      amount,
      quantity,
      `c${r % 5000}@example.com`,
      status[Math.floor(rnd() * status.length)],
      { formula: `F${r + 1}*G${r + 1}`, result: Math.round(amount * quantity * 100) / 100 }
    ])
    row.getCell(2).numFmt = 'yyyy-mm-dd hh:mm'
    row.commit()
  }
  ws.commit()
  await wb.commit()
}

const steps = [
  { validate: { amount: { type: 'number', min: 0 }, quantity: { type: 'integer' } } },
  { filter: "status != 'cancelled'" },
  { derive: { total2: 'round(amount * quantity, 2)', country: 'upper(country)' } }
]

const dir = dataDir('xlsx')
mkdirSync(join(dir, 'in'))
mkdirSync(join(dir, 'csv'))
const book = join(dir, 'in', 'orders.xlsx')
let t0 = performance.now()
await writeWorkbook(book, ROWS)
const genSeconds = (performance.now() - t0) / 1000
const mb = statSync(book).size / 1e6

const rows = [['run', 'rows', 'wall s', 'rows/s', 'peak RSS MB']]

// Baseline: exceljs's streaming reader in a child process.
const baseline = spawnSync(
  '/usr/bin/time',
  [
    '-f',
    '%e %M',
    process.execPath,
    '--input-type=module',
    '-e',
    `import ExcelJS from 'exceljs'
     let n = 0
     for await (const ws of new ExcelJS.stream.xlsx.WorkbookReader(${JSON.stringify(book)}, { styles: 'cache', sharedStrings: 'cache' })) for await (const row of ws) n++
     console.log(n)`
  ],
  { cwd: ROOT, encoding: 'utf8' }
)
const bl = /([\d.]+) (\d+)\s*$/.exec(baseline.stderr.trim())
if (bl) rows.push(['exceljs WorkbookReader, iterate only', fmt(ROWS), fmt(Number(bl[1]), 1), fmt(ROWS / Number(bl[1])), fmt(Number(bl[2]) / 1024, 0)])

const read = await runJob(dir, { name: 'xlsx-read', kind: 'records', input: { folder: 'in', format: 'xlsx', sheet: 'Orders' }, steps, output: { folder: 'out-read', format: 'jsonl' } })
if (read.result.counts.in !== ROWS) throw new Error(`read ${JSON.stringify(read.result.counts)}`)
rows.push(['Batchery xlsx -> JSON lines', fmt(ROWS), fmt(read.wall, 1), fmt(ROWS / read.wall), fmt(read.peakRssMb, 0)])

generateOrders(join(dir, 'csv', 'orders.csv'), ROWS, 4)
const write = await runJob(dir, { name: 'xlsx-write', kind: 'records', input: { folder: 'csv', format: 'csv' }, steps, output: { folder: 'out-write', format: 'xlsx' } })
if (write.result.counts.in !== ROWS) throw new Error(`write ${JSON.stringify(write.result.counts)}`)
rows.push(['Batchery CSV -> xlsx', fmt(ROWS), fmt(write.wall, 1), fmt(ROWS / write.wall), fmt(write.peakRssMb, 0)])
const csvOnly = await runJob(dir, { name: 'csv-jsonl', kind: 'records', input: { folder: 'csv', format: 'csv' }, steps, output: { folder: 'out-csv', format: 'jsonl' } })
rows.push(['Batchery CSV -> JSON lines (reference)', fmt(ROWS), fmt(csvOnly.wall, 1), fmt(ROWS / csvOnly.wall), fmt(csvOnly.peakRssMb, 0)])

console.log(`Excel workbook of ${fmt(ROWS)} rows x 10 columns: ${fmt(mb, 1)} MB (generated in ${fmt(genSeconds, 1)} s)\n`)
console.log(table(rows))
console.log('\nwall: whole CLI run (process start, plan, workers, assembly, commit); RSS: whole process, workers included')
cleanUp(dir)
