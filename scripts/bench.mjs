#!/usr/bin/env node
// npm run bench: Batchery's records engine against a plain csv-parse script, side by side in the
// same run (rounds interleaved, so drift of a shared machine hits both alike), reported as ratios.
// Also: peak RSS on a file N times larger (memory must not grow with input size), and the time
// to resume a run killed half-way.
//
//   npm run bench -- [--rows 1000000] [--big-rows 4000000] [--rounds 3] [--skip-big]
//
// Data is generated deterministically into $BATCHERY_BENCH_DATA (default: <tmp>/batchery-bench),
// never into the repository. Results: printed, and written to bench-results/<timestamp>.md.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateOrders } from './bench/gen-orders.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? def : args[i + 1]
}
const ROWS = Number(opt('rows', '1000000'))
const BIG_ROWS = Number(opt('big-rows', String(ROWS * 8)))
const ROUNDS = Number(opt('rounds', '3'))
const SKIP_BIG = args.includes('--skip-big')
const dataDir = process.env.BATCHERY_BENCH_DATA ?? join(tmpdir(), 'batchery-bench')
mkdirSync(dataDir, { recursive: true })

function dataFile(rows) {
  const dir = join(dataDir, `orders-${rows}`)
  const file = join(dir, 'orders.csv')
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true })
    process.stderr.write(`generating ${rows.toLocaleString('en-US')} rows into ${file}…\n`)
    generateOrders(file, rows, 1)
  }
  return { dir, file, bytes: statSync(file).size }
}

const T_STEPS = [{ filter: "status != 'cancelled'" }, { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)' } }]
const EXAMPLE_STEPS = [
  { validate: { id: { type: 'integer', required: true }, amount: { type: 'number', min: 0 }, quantity: { type: 'integer' } } },
  ...T_STEPS,
  { dedupe: ['id'] }
]

function writeJob(inputDir, steps, name) {
  const dir = mkdtempSync(join(dataDir, 'job-'))
  const job = {
    name,
    kind: 'records',
    input: { folder: inputDir, include: ['*.csv'], format: 'csv' },
    steps,
    output: { folder: join(dir, 'out'), format: 'jsonl' },
    policy: { maxFailedRecords: 1000 }
  }
  writeFileSync(join(dir, 'job.json'), JSON.stringify(job))
  return dir
}

function runBatchery(jobDir, env = {}) {
  const home = join(jobDir, 'home')
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [join(root, 'bin', 'batchery.js'), 'run', join(jobDir, 'job.json'), '--home', home, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26
  })
  const wall = (performance.now() - t0) / 1000
  if (r.signal) return { killed: true, home, wall }
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  if (out.status !== 'succeeded' && out.status !== 'partial') throw new Error(`batchery run ${out.status}: ${out.message}`)
  return { wall, rss: out.stats.peakRssMb, cpu: out.stats.cpuSeconds, rows: out.counts.in, out, home }
}

function resumeBatchery(home, runId) {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [join(root, 'bin', 'batchery.js'), 'resume', runId, '--home', home, '--json'], { encoding: 'utf8' })
  const wall = (performance.now() - t0) / 1000
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  return { wall, rss: out.stats.peakRssMb, cpu: out.stats.cpuSeconds, out }
}

function runBaseline(file) {
  const outFile = join(dataDir, 'baseline-out.jsonl')
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'bench', 'baseline-csv-parse.mjs'), file, outFile], { encoding: 'utf8' })
  const wall = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(r.stderr)
  const s = JSON.parse(r.stderr.trim().split('\n').pop())
  rmSync(outFile, { force: true })
  return { wall, rss: s.peakRssMb, cpu: s.cpuSeconds, rows: s.rows }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })

const results = []
function record(what, runs, rows, bytes) {
  const walls = runs.map((r) => r.wall)
  const m = median(walls)
  const row = {
    what,
    runs: runs.length,
    min: Math.min(...walls),
    median: m,
    max: Math.max(...walls),
    rowsPerSec: rows / m,
    mbPerSec: bytes / 1e6 / m,
    rss: Math.max(...runs.map((r) => r.rss)),
    cpu: median(runs.map((r) => r.cpu))
  }
  results.push(row)
  process.stderr.write(`${what}: median ${m.toFixed(3)} s, ${fmt(row.rowsPerSec)} rows/s, peak RSS ${fmt(row.rss)} MB\n`)
  return row
}

const small = dataFile(ROWS)
const tJob = writeJob(small.dir, T_STEPS, 'bench-t')
const exJob = writeJob(small.dir, EXAMPLE_STEPS, 'bench-example')
const runs = { t: [], ex: [], base: [] }
for (let i = 0; i < ROUNDS; i++) {
  runs.t.push(runBatchery(tJob))
  runs.ex.push(runBatchery(exJob))
  runs.base.push(runBaseline(small.file))
}
const rowsSmall = runs.t[0].rows
const tRow = record(`Batchery, T (filter + derive), ${fmt(ROWS)} rows, JSON lines out`, runs.t, rowsSmall, small.bytes)
const exRow = record(`Batchery, example job (validate + filter + derive + dedupe), ${fmt(ROWS)} rows`, runs.ex, rowsSmall, small.bytes)
const baseRow = record(`csv-parse stream script, T, ${fmt(ROWS)} rows`, runs.base, rowsSmall, small.bytes)

// Resume: kill -9 half-way through (after half the partitions committed), then time the resume.
const parts = JSON.parse(
  spawnSync(process.execPath, ['-e', `const D=require(${JSON.stringify(join(root, 'node_modules', 'better-sqlite3'))});const d=new D(process.argv[1],{readonly:true});console.log(JSON.stringify(d.prepare("select count(*) n from partitions where run_id=?").get(process.argv[2])))`, join(runs.t[0].home, 'batchery.db'), runs.t[0].out.runId], { encoding: 'utf8' }).stdout
).n
const half = Math.max(1, Math.floor(parts / 2))
const crashed = runBatchery(writeJob(small.dir, T_STEPS, 'bench-resume'), { BATCHERY_CRASH_AT: `after-partition-commit:${half}` })
const runId = JSON.parse(spawnSync(process.execPath, [join(root, 'bin', 'batchery.js'), 'runs', '--home', crashed.home, '--json'], { encoding: 'utf8' }).stdout)[0].runId
const resumed = resumeBatchery(crashed.home, runId)
const sameBytes = JSON.stringify(resumed.out.outputs.map((o) => o.sha256)) === JSON.stringify(runs.t[0].out.outputs.map((o) => o.sha256))
const resumeRow = record(`Batchery, resume of T after kill -9 at partition ${half} of ${parts}`, [resumed], rowsSmall, small.bytes)

let bigRow = null
if (!SKIP_BIG) {
  const big = dataFile(BIG_ROWS)
  const bigJob = writeJob(big.dir, T_STEPS, 'bench-t-big')
  const r = runBatchery(bigJob)
  bigRow = record(`Batchery, T, ${fmt(BIG_ROWS)} rows (memory scaling)`, [r], r.rows, big.bytes)
  rmSync(bigJob, { recursive: true, force: true })
}
for (const d of [tJob, exJob]) rmSync(d, { recursive: true, force: true })

const lines = []
lines.push(`# Batchery benchmark, ${new Date().toISOString()}`)
lines.push('')
lines.push(`Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${fmt(totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}, ${process.platform}.`)
lines.push(`Input: ${fmt(ROWS)} generated order rows (${fmt(small.bytes / 1e6, 1)} MB CSV, quoted commas, doubled quotes, ~1% quoted newlines). ${ROUNDS} interleaved rounds.`)
lines.push('Wall time includes process start; peak RSS is the whole process with its worker threads (getrusage maxrss).')
lines.push('')
lines.push('| what | runs | wall s min / median / max | rows/s (median) | MB/s | CPU s | peak RSS MB |')
lines.push('|---|---|---|---|---|---|---|')
for (const r of results) {
  lines.push(`| ${r.what} | ${r.runs} | ${r.min.toFixed(3)} / ${r.median.toFixed(3)} / ${r.max.toFixed(3)} | ${fmt(r.rowsPerSec)} | ${fmt(r.mbPerSec, 1)} | ${r.cpu.toFixed(2)} | ${fmt(r.rss)} |`)
}
lines.push('')
lines.push('| ratio | value |')
lines.push('|---|---|')
lines.push(`| Batchery T rows/s ÷ csv-parse script rows/s | ${(tRow.rowsPerSec / baseRow.rowsPerSec).toFixed(2)}x |`)
lines.push(`| Batchery example job rows/s ÷ csv-parse script rows/s | ${(exRow.rowsPerSec / baseRow.rowsPerSec).toFixed(2)}x |`)
lines.push(`| resume after kill -9 half-way ÷ full run (wall) | ${(resumeRow.median / tRow.median).toFixed(2)} (outputs byte-identical to an uninterrupted run: ${sameBytes ? 'yes' : 'NO'}) |`)
if (bigRow) lines.push(`| peak RSS at ${fmt(BIG_ROWS)} rows ÷ peak RSS at ${fmt(ROWS)} rows | ${(bigRow.rss / tRow.rss).toFixed(2)} |`)
const table = lines.join('\n') + '\n'
process.stdout.write('\n' + table)
const resultsDir = join(root, 'bench-results')
mkdirSync(resultsDir, { recursive: true })
const out = join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.md`)
writeFileSync(out, table)
process.stderr.write(`written to ${out}\n`)
if (!sameBytes) process.exitCode = 1

