#!/usr/bin/env node
// npm run bench: Batchery side by side with DuckDB, Miller, GNU parallel + Miller and a plain
// csv-parse script, in the same run: every round runs each implementation once (in a rotating
// order), so the drift of a shared machine hits all of them alike, and the report gives ratios
// from the same run. The figures are those issue 6 asks for:
//
//   T (drop cancelled, total = round(amount * quantity, 2), upper(country), JSON lines out) on a
//     1M-row CSV: Batchery vs DuckDB, Miller, csv-parse;
//   the example job's steps (validate + T + dedupe) vs the same in DuckDB SQL;
//   checkpoint cost: T at the normal partition size vs. the fewest partitions (one per worker);
//   resume after kill -9 half-way (time, byte-identical output);
//   T on a 10M-row CSV vs DuckDB, and peak RSS 1M vs 10M (full run only);
//   2,000 and 20,000 files of 10 rows in one records run vs GNU parallel + Miller per file;
//   a files job vs GNU parallel (only once files jobs exist);
//   a CPU profile of Batchery on T (main thread and every worker thread), grouped.
//
//   npm run bench                      full run (~15-20 min on 2 cores)
//   npm run bench -- --quick           smoke run for CI (< 2 min): 100k rows, 200 small files, 2 rounds
//   options: --rounds N --rows N --big-rows N --small 2000,20000 --threads N --skip-big
//            --skip-small --profile | --no-profile --docs | --no-docs --clean --small-dir DIR
//
// Generated data goes to $BATCHERY_BENCH_DATA (default <tmp>/batchery-bench) and is reused by
// the next run (--clean deletes it at the end); small files go to tmpfs (/dev/shm) when there is
// one. Never into the repository. Results: printed, written to bench-results/<time>.md and .json,
// and (full runs) into docs/benchmarks.md between its bench:begin/bench:end markers.
import { spawnSync } from 'node:child_process'
import { accessSync, constants, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateOrders, generateSmallFiles } from './bench/gen-orders.mjs'
import { countLines, fmt, machineFacts, median, timed, which } from './bench/measure.mjs'
import { summarizeProfiles } from './bench/profile-summary.mjs'
import { runTimeline } from './bench/run-timeline.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const here = join(root, 'scripts', 'bench')
const args = process.argv.slice(2)
const flag = (name) => args.includes(`--${name}`)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? def : args[i + 1]
}
const QUICK = flag('quick')
const THREADS = Number(opt('threads', String(availableParallelism())))
const ROWS = Number(opt('rows', QUICK ? '100000' : '1000000'))
const BIG_ROWS = Number(opt('big-rows', '10000000'))
const ROUNDS = Number(opt('rounds', QUICK ? '2' : '5'))
const BIG_ROUNDS = Number(opt('big-rounds', '3'))
const SKIP_BIG = QUICK || flag('skip-big')
const SMALL = flag('skip-small') ? [] : opt('small', QUICK ? '200' : '2000,20000').split(',').map(Number)
const PROFILE = flag('profile') || (!QUICK && !flag('no-profile'))
const DOCS = flag('docs') || (!QUICK && !flag('no-docs'))
/** The naive csv-parse script takes ~20 s per 1M rows: three rounds say enough (one in a quick run). */
const CSV_PARSE_MAX_ROUNDS = QUICK ? 1 : 3
const MISSING_TOOLS = 'not installed: apt-get install miller parallel'

const dataDir = process.env.BATCHERY_BENCH_DATA ?? join(tmpdir(), 'batchery-bench')
mkdirSync(dataDir, { recursive: true })
const smallBase = opt('small-dir', null) ?? (writable('/dev/shm') ? '/dev/shm/batchery-bench-small' : join(dataDir, 'small'))
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
const work = join(dataDir, `work-${stamp}`)
mkdirSync(work, { recursive: true })
const resultsDir = join(root, 'bench-results')
mkdirSync(resultsDir, { recursive: true })

const MLR = which('mlr')
const PARALLEL = which('parallel')
const T_MLR = join(here, 't.mlr')

// Batchery runs from a copy of the build (out/main) taken now, so that a rebuild during the
// suite (someone working in the same tree) cannot change or break it half-way. --no-snapshot
// runs bin/batchery.js on out/ directly.
if (!existsSync(join(root, 'out', 'main', 'cli.js'))) {
  say('Batchery is not built: run "npm run build" first.')
  process.exit(1)
}
let BATCHERY = join(root, 'bin', 'batchery.js')
const snapshotDir = flag('no-snapshot') ? null : join(resultsDir, `build-${stamp}`)
const batcheryEnv = {}
if (snapshotDir) {
  cpSync(join(root, 'out', 'main'), join(snapshotDir, 'main'), { recursive: true })
  BATCHERY = join(snapshotDir, 'batchery.mjs')
  writeFileSync(BATCHERY, "const { main } = await import('./main/cli.js')\nprocess.exitCode = await main(process.argv.slice(2))\n")
  batcheryEnv.BATCHERY_WORKER = join(snapshotDir, 'main', 'partition-worker.js')
}
const started = performance.now()
const say = (s) => process.stderr.write(s + '\n')

function writable(dir) {
  try {
    accessSync(dir, constants.W_OK)
    return statSync(dir).isDirectory()
  } catch {
    return false
  }
}

// ---------------------------------------------------------------- data

/** The orders CSV of `rows` rows (generated once, reused; the layout bench:ui uses too). */
function ordersFile(rows) {
  const dir = join(dataDir, `orders-${rows}`)
  const file = join(dir, 'orders.csv')
  const metaFile = join(dir, 'orders.meta.json')
  let meta = existsSync(metaFile) && existsSync(file) ? JSON.parse(readFileSync(metaFile, 'utf8')) : null
  if (!meta || meta.bytes !== statSync(file).size) {
    mkdirSync(dir, { recursive: true })
    say(`generating ${fmt(rows)} rows into ${file}…`)
    const t0 = performance.now()
    meta = { ...generateOrders(file, rows, 1), seed: 1 }
    writeFileSync(metaFile, JSON.stringify(meta))
    say(`  ${fmt(meta.bytes / 1e6, 1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }
  return { dir, file, rows, bytes: meta.bytes, expectOut: rows - meta.cancelled }
}

/** A folder of `files` CSV files of 10 rows each, under `base`. */
function smallFiles(base, files) {
  const dir = join(base, `small-${files}`, 'in')
  const metaFile = join(base, `small-${files}`, 'meta.json')
  let meta = existsSync(metaFile) ? JSON.parse(readFileSync(metaFile, 'utf8')) : null
  if (!meta || !existsSync(join(dir, `${String(files - 1).padStart(6, '0')}.csv`))) {
    say(`generating ${fmt(files)} files of 10 rows into ${dir}…`)
    meta = generateSmallFiles(dir, files, 10, 2)
    writeFileSync(metaFile, JSON.stringify(meta))
  }
  return { dir, files, rows: meta.rows, bytes: meta.bytes, expectOut: meta.rows - meta.cancelled }
}

// ---------------------------------------------------------------- implementations

const T_STEPS = [{ filter: "status != 'cancelled'" }, { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)' } }]
/** The steps of resources/examples/orders-clean/job.json. */
const EXAMPLE_STEPS = JSON.parse(readFileSync(join(root, 'resources', 'examples', 'orders-clean', 'job.json'), 'utf8')).steps

let jobSeq = 0
/** A job file in its own folder; returns { job, home, out }. */
function makeJob(name, inputDir, steps, { policy = {}, base = work, layout } = {}) {
  const dir = join(base, `${name}-${jobSeq++}`)
  mkdirSync(dir, { recursive: true })
  const out = join(dir, 'out')
  const job = {
    name,
    kind: 'records',
    input: { folder: inputDir, include: ['*.csv'], format: 'csv' },
    steps,
    output: { folder: out, format: 'jsonl', ...(layout ? { layout } : {}) },
    policy: { concurrency: THREADS, maxFailedRecords: 1000, ...policy }
  }
  writeFileSync(join(dir, 'job.json'), JSON.stringify(job, null, 1))
  return { job: join(dir, 'job.json'), home: join(dir, 'home'), out, dir }
}

/** One `batchery run`; the output folder is deleted afterwards (its sha256 is kept). */
function runBatchery(j, { env = {}, nodeArgs = [], keepOutput = false } = {}) {
  const r = timed(process.execPath, [...nodeArgs, BATCHERY, 'run', j.job, '--home', j.home, '--json'], { env: { ...process.env, ...batcheryEnv, ...env } })
  if (!keepOutput) rmSync(j.out, { recursive: true, force: true })
  if (r.signal || r.status === 137) return { ...r, killed: true }
  let out
  try {
    out = JSON.parse(r.stdout.trim().split('\n').pop())
  } catch {
    throw new Error(`batchery exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(-500)}`)
  }
  if (out.status !== 'succeeded' && out.status !== 'partial') throw new Error(`batchery run ${out.status}: ${out.message}`)
  return { ...r, rssMb: r.rssMb ?? out.stats.peakRssMb, cpu: r.cpu ?? out.stats.cpuSeconds, outRows: out.counts.out, summary: out }
}

function baselineOut(name) {
  return join(work, `${name}.out`)
}

function runDuckDB(mode, input) {
  const out = baselineOut(`duckdb-${mode}.jsonl`)
  const r = timed(process.execPath, [join(here, 'baseline-duckdb.mjs'), mode, input, out, String(THREADS)], { cwd: root })
  if (r.status !== 0) throw new Error(`duckdb exited ${r.status}: ${r.stderr.trim().slice(-500)}`)
  const outRows = countLines(out)
  rmSync(out, { force: true })
  return { ...r, outRows }
}

function runMiller(input) {
  const out = baselineOut('mlr.jsonl')
  const r = timed(MLR, ['--icsv', '--ojsonl', 'put', '-f', T_MLR, input], { stdoutFile: out })
  if (r.status !== 0) throw new Error(`mlr exited ${r.status}: ${r.stderr.trim().slice(-500)}`)
  const outRows = countLines(out)
  rmSync(out, { force: true })
  return { ...r, outRows }
}

function runCsvParse(input) {
  const out = baselineOut('csv-parse.jsonl')
  const r = timed(process.execPath, [join(here, 'baseline-csv-parse.mjs'), input, out], { cwd: root })
  if (r.status !== 0) throw new Error(`csv-parse script exited ${r.status}: ${r.stderr.trim().slice(-500)}`)
  const reported = JSON.parse(r.stderr.trim().split('\n').pop())
  const outRows = countLines(out)
  rmSync(out, { force: true })
  return { ...r, rssMb: r.rssMb ?? reported.peakRssMb, cpu: r.cpu ?? reported.cpuSeconds, outRows }
}

const sq = (s) => `'${s.replaceAll("'", "'\\''")}'`
/** Files in a folder tree. */
const countFiles = (dir) => (existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).length : 0)

/** GNU parallel, `THREADS` jobs at a time, one mlr process per file; outputs into a fresh folder. */
function runParallelMiller(inputDir, outDir) {
  mkdirSync(outDir, { recursive: true })
  const list = spawnSync('sh', ['-c', `find ${sq(inputDir)} -maxdepth 1 -name '*.csv' | sort`], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout
  const r = timed(PARALLEL, ['-j', String(THREADS), '--will-cite', `mlr --icsv --ojsonl put -f ${sq(T_MLR)} {} > ${sq(outDir)}/{/.}.jsonl`], { input: list })
  if (r.status !== 0) throw new Error(`parallel exited ${r.status}: ${r.stderr.trim().slice(-500)}`)
  const outRows = countLines(outDir)
  rmSync(outDir, { recursive: true, force: true })
  return { ...r, outRows }
}

// ---------------------------------------------------------------- rounds and results

/** All measured rows of the report, in order. */
const results = []
/** Figures that could not be measured, with the reason. */
const notMeasured = []

/**
 * Runs `rounds` rounds; in each, every variant once, in an order rotated by the round number.
 * A variant: { key, label, run(round) -> result, skip?: reason, maxRounds? }. A failed run is
 * recorded as the variant's error and the variant is not run again; the suite goes on.
 */
function rounds(section, variants, n, data) {
  for (const v of variants) {
    v.runs = []
    if (v.skip) say(`${section}: ${v.label}: ${v.skip}`)
  }
  for (let r = 0; r < n; r++) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length])
    for (const v of order) {
      if (v.skip || v.error || (v.maxRounds && v.runs.length >= v.maxRounds)) continue
      try {
        const res = v.run(r)
        if (res.outRows !== undefined && data.expectOut !== undefined && res.outRows !== (v.expectOut ?? data.expectOut)) {
          throw new Error(`wrote ${fmt(res.outRows)} output rows, expected ${fmt(v.expectOut ?? data.expectOut)}`)
        }
        v.runs.push(res)
        say(`${section} round ${r + 1}/${n}: ${v.label}: ${res.wall.toFixed(3)} s${res.rssMb ? `, ${fmt(res.rssMb)} MB` : ''}`)
      } catch (e) {
        v.error = e.message
        say(`${section}: ${v.label} FAILED: ${e.message}`)
      }
    }
  }
  const rows = []
  for (const v of variants) {
    const walls = v.runs.map((x) => x.wall)
    const m = median(walls)
    const row = {
      section,
      key: v.key,
      label: v.label,
      runs: v.runs.length,
      status: v.skip ?? (v.error ? `FAILED: ${v.error}` : null),
      min: walls.length ? Math.min(...walls) : null,
      median: m,
      max: walls.length ? Math.max(...walls) : null,
      rows: data.rows,
      bytes: data.bytes,
      files: data.files ?? null,
      rowsPerSec: m ? data.rows / m : null,
      mbPerSec: m ? data.bytes / 1e6 / m : null,
      usPerFile: m && data.files ? (m / data.files) * 1e6 : null,
      cpu: median(v.runs.map((x) => x.cpu)),
      rssMb: v.runs.length ? Math.max(...v.runs.map((x) => x.rssMb ?? 0)) : null,
      outRows: v.runs[0]?.outRows ?? null,
      walls,
      raw: v.runs.map(({ stdout, stderr, summary, ...rest }) => ({ ...rest, runId: summary?.runId }))
    }
    results.push(row)
    rows.push(row)
  }
  return Object.fromEntries(rows.map((r) => [r.key, r]))
}

/**
 * How many times faster `a` is than `b` (b's median time / a's), over the rounds both ran (a
 * variant capped at fewer rounds ran in the first ones), with the range of per-round ratios.
 */
function speedRatio(a, b) {
  if (!a?.median || !b?.median) return null
  const n = Math.min(a.walls.length, b.walls.length)
  const per = []
  for (let i = 0; i < n; i++) per.push(b.walls[i] / a.walls[i])
  return { value: median(b.walls.slice(0, n)) / median(a.walls.slice(0, n)), min: Math.min(...per), max: Math.max(...per) }
}

const goals = []
function goal(text, measured, target, met, note = '') {
  goals.push({ text, measured, target, met, note })
}
const ratioText = (r) => (r ? `${r.value.toFixed(2)}x (rounds ${r.min.toFixed(2)}-${r.max.toFixed(2)})` : 'not measured')

// ---------------------------------------------------------------- 1. T and the example job on the main file

const facts = machineFacts(root, dataDir)
say(`machine: ${facts.cpu}, ${facts.cores} cores, ${fmt(facts.ramGiB, 1)} GiB, Node ${facts.node}`)
const main = ordersFile(ROWS)
const tJob = makeJob('bench-t', main.dir, T_STEPS)
// The fewest partitions that keep every worker busy: one per worker (a size just over 1/THREADS of the file).
const tFewJob = makeJob('bench-t-fewest-partitions', main.dir, T_STEPS, { policy: { chunkSize: Math.max(1024, Math.ceil(main.bytes / THREADS) + 1) } })
const exJob = makeJob('bench-example', main.dir, EXAMPLE_STEPS)
const mainLabel = `${fmt(ROWS)} rows, ${fmt(main.bytes / 1e6, 1)} MB`
const m1 = rounds(
  `T, ${mainLabel}`,
  [
    { key: 'batchery', label: 'Batchery: T job (filter + derive), CLI, checkpoints on', run: () => runBatchery(tJob) },
    { key: 'duckdb', label: `DuckDB ${THREADS} threads, in input order`, run: () => runDuckDB('t', main.file) },
    { key: 'mlr', label: 'Miller 6 (mlr put)', run: () => runMiller(main.file), skip: MLR ? null : MISSING_TOOLS },
    { key: 'csvparse', label: 'csv-parse stream script', run: () => runCsvParse(main.file), maxRounds: CSV_PARSE_MAX_ROUNDS },
    { key: 'batcheryFew', label: `Batchery: T job, fewest partitions (${THREADS}, one per worker)`, run: () => runBatchery(tFewJob) },
    { key: 'batcheryEx', label: 'Batchery: example job (validate + T + dedupe)', run: () => runBatchery(exJob) },
    { key: 'duckdbEx', label: `DuckDB ${THREADS} threads: the example job's steps in SQL`, run: () => runDuckDB('example', main.file) }
  ],
  ROUNDS,
  main
)
const partsOf = (row, jobDir) => {
  const runId = row?.raw?.[0]?.runId
  if (!runId) return null
  try {
    return runTimeline(jobDir.home, runId).partitions
  } catch {
    return null
  }
}
const tParts = partsOf(m1.batchery, tJob)
const fewParts = partsOf(m1.batcheryFew, tFewJob)
{
  const d = speedRatio(m1.batchery, m1.duckdb)
  goal(`T, ${fmt(ROWS)} rows: Batchery rows/s ÷ DuckDB rows/s`, ratioText(d), '≥ 0.75x', d ? d.value >= 0.75 : null)
  const mlr = speedRatio(m1.batchery, m1.mlr)
  goal(`T, ${fmt(ROWS)} rows: Batchery rows/s ÷ Miller rows/s`, MLR ? ratioText(mlr) : MISSING_TOOLS, '≥ 2x', mlr ? mlr.value >= 2 : null)
  const cp = speedRatio(m1.batchery, m1.csvparse)
  goal(`T, ${fmt(ROWS)} rows: Batchery rows/s ÷ csv-parse script rows/s`, ratioText(cp), '(no goal; the issue measured csv-parse 6x below what is possible)', null)
  const ex = speedRatio(m1.batcheryEx, m1.duckdbEx)
  goal(`Example job's steps, ${fmt(ROWS)} rows: Batchery ÷ DuckDB`, ratioText(ex), '≥ 0.5x', ex ? ex.value >= 0.5 : null)
  if (m1.batchery?.median && m1.batcheryFew?.median) {
    // Paired by round: the share of each normal run's time that the same round's run with the
    // fewest commits did not need; the median of those. CPU seconds (user + sys of the whole
    // process) are compared too: they are much less disturbed by other load on the machine.
    const pct = (x) => `${(x * 100).toFixed(1)}%`
    const per = m1.batchery.walls.map((w, i) => (m1.batcheryFew.walls[i] ? (w - m1.batcheryFew.walls[i]) / w : null)).filter((x) => x != null)
    const cost = median(per)
    const cpuA = median(m1.batchery.raw.map((r) => r.cpu))
    const cpuB = median(m1.batcheryFew.raw.map((r) => r.cpu))
    const cpuCost = cpuA && cpuB ? (cpuA - cpuB) / cpuA : null
    goal(
      `Checkpoint cost: T at the normal partition size (${tParts ?? '?'} partitions, one commit each) vs. the fewest partitions (${fewParts ?? '?'}, one per worker), same rounds`,
      `wall: ${pct(cost)} (median of rounds; rounds ${pct(Math.min(...per))} to ${pct(Math.max(...per))}); CPU: ${cpuCost === null ? '–' : `${pct(cpuCost)} (${cpuA.toFixed(2)} vs ${cpuB.toFixed(2)} s)`}`,
      '≤ 3%',
      cost <= 0.03
    )
  }
  if (m1.batchery?.rssMb) goal(`Peak RSS of Batchery on T, ${fmt(ROWS)} rows`, `${fmt(m1.batchery.rssMb)} MB`, '≤ 300 MB', m1.batchery.rssMb <= 300)
}

// Phases of one Batchery T run (planning, partitions, assembly), from its database.
let timeline = null
try {
  const runId = m1.batchery.raw[Math.floor(m1.batchery.raw.length / 2)]?.runId
  if (runId) timeline = runTimeline(tJob.home, runId)
} catch (e) {
  say(`timeline: ${e.message}`)
}

// ---------------------------------------------------------------- 2. resume after kill -9

let resume = null
try {
  const crashJob = makeJob('bench-resume', main.dir, T_STEPS)
  const parts = tParts ?? 32
  const half = Math.max(1, Math.floor(parts / 2))
  const crashed = runBatchery(crashJob, { env: { BATCHERY_CRASH_AT: `after-partition-commit:${half}` }, keepOutput: true })
  if (!crashed.killed) throw new Error('the run was not killed at the crash point')
  const env = { ...process.env, ...batcheryEnv }
  const runId = JSON.parse(spawnSync(process.execPath, [BATCHERY, 'runs', '--home', crashJob.home, '--json'], { encoding: 'utf8', env }).stdout)[0].runId
  const r = timed(process.execPath, [BATCHERY, 'resume', runId, '--home', crashJob.home, '--json'], { env })
  const out = JSON.parse(r.stdout.trim().split('\n').pop())
  const full = runBatchery(tJob)
  const same = JSON.stringify(out.outputs.map((o) => o.sha256)) === JSON.stringify(full.summary.outputs.map((o) => o.sha256))
  resume = { half, parts, wall: r.wall, fullWall: full.wall, same }
  say(`resume after kill -9 at partition ${half} of ${parts}: ${r.wall.toFixed(3)} s (a full run ${full.wall.toFixed(3)} s), same bytes: ${same}`)
  rmSync(crashJob.dir, { recursive: true, force: true })
  if (!same) process.exitCode = 1
} catch (e) {
  notMeasured.push(`resume after kill -9: FAILED: ${e.message}`)
}

// ---------------------------------------------------------------- 3. profile of T

let profile = null
if (PROFILE) {
  const dir = join(resultsDir, `profile-${stamp}`)
  try {
    runBatchery(tJob, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] })
    profile = { dir, ...summarizeProfiles([dir], 20) }
    say(`profile: ${dir}`)
  } catch (e) {
    notMeasured.push(`profile: FAILED: ${e.message}`)
  }
}

// ---------------------------------------------------------------- 4. T on the big file

if (!SKIP_BIG) {
  const big = ordersFile(BIG_ROWS)
  const bigJob = makeJob('bench-t-big', big.dir, T_STEPS)
  const mb = rounds(
    `T, ${fmt(BIG_ROWS)} rows, ${fmt(big.bytes / 1e6, 0)} MB`,
    [
      { key: 'batchery', label: 'Batchery: T job, CLI, checkpoints on', run: () => runBatchery(bigJob) },
      { key: 'duckdb', label: `DuckDB ${THREADS} threads, in input order`, run: () => runDuckDB('t', big.file) }
    ],
    BIG_ROUNDS,
    big
  )
  const d = speedRatio(mb.batchery, mb.duckdb)
  goal(`T, ${fmt(BIG_ROWS)} rows: Batchery rows/s ÷ DuckDB rows/s`, ratioText(d), '≥ 1x', d ? d.value >= 1 : null)
  if (mb.batchery?.rssMb && m1.batchery?.rssMb) {
    const g = mb.batchery.rssMb / m1.batchery.rssMb
    goal(`Peak RSS, T on ${fmt(BIG_ROWS)} rows ÷ on ${fmt(ROWS)} rows`, `${fmt(mb.batchery.rssMb)} MB ÷ ${fmt(m1.batchery.rssMb)} MB = ${g.toFixed(2)}`, '≤ 1.10', g <= 1.1)
  }
} else {
  notMeasured.push(`T on ${fmt(BIG_ROWS)} rows and peak RSS 1M vs 10M: full run only (not with --quick or --skip-big)`)
}

// ---------------------------------------------------------------- 5. many small files

const smallOnTmpfs = smallBase.startsWith('/dev/shm')
for (const n of SMALL) {
  const s = smallFiles(smallBase, n)
  const base = join(smallBase, `small-${n}`)
  const job = makeJob(`bench-small-${n}`, s.dir, T_STEPS, { base })
  const variants = [
    { key: 'batchery', label: `Batchery: one records run over the folder${smallOnTmpfs ? ' (tmpfs)' : ''}`, run: () => runBatchery(job) },
    {
      key: 'parallel',
      label: `GNU parallel -j${THREADS} + one mlr per file${smallOnTmpfs ? ' (tmpfs)' : ''}`,
      run: (r) => runParallelMiller(s.dir, join(base, `parallel-out-${r}`)),
      skip: MLR && PARALLEL ? null : MISSING_TOOLS
    }
  ]
  // The same Batchery run on disk: real fsyncs for each partition's commit and staged file.
  if (!QUICK && smallOnTmpfs && n <= 2000) {
    const disk = smallFiles(join(dataDir, 'small-on-disk'), n)
    const diskJob = makeJob(`bench-small-disk-${n}`, disk.dir, T_STEPS)
    variants.splice(1, 0, { key: 'batcheryDisk', label: `Batchery: the same on disk (${facts.fs ?? 'data folder'})`, run: () => runBatchery(diskJob) })
  }
  // GNU parallel + Miller costs ~5 ms per file (minutes for 20,000 files): one round of the biggest folder.
  const rs = rounds(`${fmt(n)} files of 10 rows`, variants, QUICK || n > 2000 ? 1 : 3, s)
  const ratio = speedRatio(rs.batchery, rs.parallel)
  goal(
    `${fmt(n)} files of 10 rows: time per file, GNU parallel + Miller ÷ Batchery`,
    MLR && PARALLEL ? `${ratioText(ratio)}: ${fmt(rs.parallel?.usPerFile)} vs ${fmt(rs.batchery?.usPerFile)} µs/file` : MISSING_TOOLS,
    '≥ 25x',
    ratio ? ratio.value >= 25 : null
  )
  rmSync(job.dir, { recursive: true, force: true })
}

// ---------------------------------------------------------------- 6. files job

{
  const probeDir = join(work, 'files-job-probe')
  mkdirSync(join(probeDir, 'in'), { recursive: true })
  writeFileSync(join(probeDir, 'in', 'a.txt'), 'a\n')
  const probe = {
    name: 'bench-files-probe',
    kind: 'files',
    input: { folder: 'in', include: ['*.txt'] },
    command: ['cp', '{}', '{out}/{/}'],
    output: { folder: 'out' },
    policy: { concurrency: THREADS }
  }
  writeFileSync(join(probeDir, 'job.json'), JSON.stringify(probe))
  const check = spawnSync(process.execPath, [BATCHERY, 'check', join(probeDir, 'job.json')], { encoding: 'utf8', env: { ...process.env, ...batcheryEnv } })
  if (check.status !== 0) {
    notMeasured.push('files job with a trivial command per file vs GNU parallel -j2: not measured: files jobs (issue 7) not built yet')
    goal('Files job, trivial command per file: Batchery ÷ GNU parallel', 'not measured: files jobs (issue 7) not built yet', '≥ 1x (no slower)', null)
  } else if (!PARALLEL) {
    goal('Files job, trivial command per file: Batchery ÷ GNU parallel', MISSING_TOOLS, '≥ 1x (no slower)', null)
  } else {
    const n = SMALL[0] ?? 500
    const s = smallFiles(smallBase, n)
    const base = join(smallBase, `small-${n}`)
    const jobDir = join(base, `files-job-${jobSeq++}`)
    mkdirSync(jobDir, { recursive: true })
    const outDir = join(jobDir, 'out')
    writeFileSync(join(jobDir, 'job.json'), JSON.stringify({ ...probe, name: 'bench-files', input: { folder: s.dir, include: ['*.csv'] }, output: { folder: outDir } }))
    const j = { job: join(jobDir, 'job.json'), home: join(jobDir, 'home'), out: outDir, dir: jobDir }
    const rs = rounds(
      `files job, ${fmt(n)} files`,
      [
        {
          key: 'batchery',
          label: `Batchery: files job, cp per file`,
          run: () => {
            const r = runBatchery(j, { keepOutput: true })
            const files = countFiles(outDir)
            rmSync(outDir, { recursive: true, force: true })
            if (files !== n) throw new Error(`wrote ${files} files, expected ${n}`)
            return { ...r, outRows: undefined }
          }
        },
        {
          key: 'parallel',
          label: `GNU parallel -j${THREADS} cp per file`,
          run: (r) => {
            const o = join(base, `parallel-cp-${r}`)
            mkdirSync(o, { recursive: true })
            const list = spawnSync('sh', ['-c', `find ${sq(s.dir)} -maxdepth 1 -name '*.csv' | sort`], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout
            const res = timed(PARALLEL, ['-j', String(THREADS), '--will-cite', `cp {} ${sq(o)}/{/}`], { input: list })
            const files = countFiles(o)
            rmSync(o, { recursive: true, force: true })
            if (res.status !== 0) throw new Error(`parallel exited ${res.status}`)
            if (files !== n) throw new Error(`wrote ${files} files, expected ${n}`)
            return res
          }
        }
      ],
      QUICK ? 1 : 3,
      { ...s, expectOut: undefined }
    )
    const ratio = speedRatio(rs.batchery, rs.parallel)
    goal(`Files job, ${fmt(n)} files, cp per file: GNU parallel time ÷ Batchery time`, ratioText(ratio), '≥ 1x (no slower)', ratio ? ratio.value >= 1 : null)
    rmSync(jobDir, { recursive: true, force: true })
  }
}

goal('UI: no renderer frame over 50 ms while a 10M-row run streams progress', 'measured separately: npm run bench:ui -- --rows 10000000 (latest figures under "The UI keeps up" below)', '≤ 50 ms', null)

// ---------------------------------------------------------------- report

rmSync(work, { recursive: true, force: true })
// The profile names the build's files: that copy stays, so its .map files map it to src/ later.
if (snapshotDir && !profile) rmSync(snapshotDir, { recursive: true, force: true })
// Small files on tmpfs hold memory and take seconds to regenerate: they go; the rest stays for
// the next run unless --clean.
if (smallOnTmpfs || flag('clean')) rmSync(smallBase, { recursive: true, force: true })
if (flag('clean')) rmSync(dataDir, { recursive: true, force: true })
const totalMin = (performance.now() - started) / 60000

const L = []
L.push(`## Latest results: ${facts.date.slice(0, 16).replace('T', ' ')} UTC, ${QUICK ? 'quick run (--quick)' : 'full run'}, ${totalMin.toFixed(1)} min`)
L.push('')
L.push('| machine | |')
L.push('|---|---|')
L.push(`| CPU | ${facts.cpu}, ${facts.cores} cores |`)
L.push(`| RAM | ${fmt(facts.ramGiB, 1)} GiB |`)
L.push(`| OS | ${facts.os} |`)
L.push(`| data folder | ${dataDir}: ${facts.fs ?? '?'}; small files: ${smallBase}${smallOnTmpfs ? ' (tmpfs)' : ''} |`)
L.push(`| Node | ${facts.node} |`)
L.push(`| Batchery | ${facts.batchery}, concurrency ${THREADS} |`)
for (const [k, v] of Object.entries(facts.tools)) L.push(`| ${k} | ${v ?? 'not installed'} |`)
L.push('')
L.push(
  `Input: generated orders (scripts/bench/gen-orders.mjs, seeded): 10 columns, ~14% quoted commas, ~3% doubled quotes, ~1% quoted newlines; ` +
    `${fmt(main.expectOut)} of ${fmt(ROWS)} rows survive T. ${ROUNDS} rounds, each implementation once per round in a rotating order` +
    ` (csv-parse at most ${CSV_PARSE_MAX_ROUNDS}). Wall time is the whole process, from start to exit. rows/s and MB/s are input rows and bytes per median second. ` +
    `CPU is user + system seconds (median), peak RSS the largest resident set of one process (GNU time; Batchery's worker threads are in its process). ` +
    `Every run's output row count is checked.`
)
L.push('')
L.push('| figure | implementation | runs | wall s min / median / max | rows/s | MB/s | µs/file | CPU s | peak RSS MB |')
L.push('|---|---|---|---|---|---|---|---|---|')
for (const r of results) {
  if (r.status && !r.runs) {
    L.push(`| ${r.section} | ${r.label} | 0 | ${r.status} | | | | | |`)
    continue
  }
  L.push(
    `| ${r.section} | ${r.label}${r.status ? ` (${r.status})` : ''} | ${r.runs} | ${r.min.toFixed(3)} / ${r.median.toFixed(3)} / ${r.max.toFixed(3)} | ${fmt(r.rowsPerSec)} | ${fmt(r.mbPerSec, 1)} | ${r.files ? fmt(r.usPerFile) : ''} | ${r.cpu != null ? r.cpu.toFixed(2) : '–'} | ${fmt(r.rssMb)} |`
  )
}
L.push('')
L.push('### Goals of issue 6 (ratios from the same run)')
L.push('')
L.push('| goal | measured | target | met |')
L.push('|---|---|---|---|')
for (const g of goals) L.push(`| ${g.text} | ${g.measured} | ${g.target} | ${g.met === null ? '–' : g.met ? 'yes' : '**no**'} |`)
L.push('')
if (resume) {
  L.push(
    `Resume: a T run killed (SIGKILL) after partition ${resume.half} of ${resume.parts} committed, then \`batchery resume\`: ${resume.wall.toFixed(3)} s ` +
      `(a whole run: ${resume.fullWall.toFixed(3)} s); outputs byte-identical to an uninterrupted run: ${resume.same ? 'yes' : '**NO**'}.`
  )
  L.push('')
}
if (timeline) {
  L.push(
    `Phases of one Batchery T run (${fmt(ROWS)} rows, from its database and log): planning scan (sha256 + partition boundaries) ${fmt(timeline.planMs)} ms, ` +
      `first partition committed at ${fmt(timeline.firstCommitMs)} ms, last at ${fmt(timeline.lastCommitMs)} ms, then assembling the output ${fmt(timeline.assembleMs)} ms; ` +
      `in the run ${fmt(timeline.totalMs)} ms (the rest of the wall time is process start and exit). ${timeline.partitions} partitions, ` +
      `each p50 ${fmt(timeline.partitionMs.p50)} ms, p95 ${fmt(timeline.partitionMs.p95)} ms, max ${fmt(timeline.partitionMs.max)} ms; ` +
      `worker time in partitions ${fmt(timeline.partitionMs.sum)} ms in all.`
  )
  L.push('')
}
if (profile) {
  L.push(`### CPU profile of Batchery on T (${fmt(ROWS)} rows; \`node --cpu-prof\`, all threads)`)
  L.push('')
  L.push(
    `Profiles: \`${profile.dir.replace(root + '/', '')}/\` (one .cpuprofile per thread, of the build copied to \`${snapshotDir ? snapshotDir.replace(root + '/', '') : 'out/main'}\`; ` +
      `open them in Chrome DevTools or summarise them with \`node scripts/bench/profile-summary.mjs DIR\`).`
  )
  L.push(
    `Threads: ${profile.threads.map((t) => `${t.thread} ${fmt(t.busyMs)} ms busy of ${fmt(t.wallMs)} ms`).join(', ')}; workers idle, waiting for a task: ${fmt(profile.waitMs)} ms.`
  )
  L.push('')
  L.push('| group (self time, all threads) | ms | share of busy time |')
  L.push('|---|---|---|')
  for (const [g, ms] of Object.entries(profile.groups).sort((a, b) => b[1] - a[1])) L.push(`| ${g} | ${fmt(ms)} | ${((ms / profile.busyMs) * 100).toFixed(1)}% |`)
  L.push('')
  L.push('| top functions (self time) | group | ms | share |')
  L.push('|---|---|---|---|')
  for (const f of profile.top.slice(0, 15)) L.push(`| \`${f.key}\` | ${f.group} | ${fmt(f.ms)} | ${((f.ms / profile.busyMs) * 100).toFixed(1)}% |`)
  L.push('')
}
if (notMeasured.length) {
  L.push('Not measured:')
  L.push('')
  for (const n of notMeasured) L.push(`- ${n}`)
  L.push('')
}
const table = L.join('\n')
process.stdout.write('\n' + table + '\n')

const md = join(resultsDir, `${stamp}${QUICK ? '-quick' : ''}.md`)
writeFileSync(md, `# Batchery benchmark\n\n${table}\n`)
writeFileSync(md.replace(/\.md$/, '.json'), JSON.stringify({ facts, options: { QUICK, THREADS, ROWS, BIG_ROWS, ROUNDS, SMALL }, results, goals, resume, timeline, profile, notMeasured }, null, 1))
say(`\nwritten to ${md} (and .json)`)

if (DOCS) {
  const docs = join(root, 'docs', 'benchmarks.md')
  mkdirSync(dirname(docs), { recursive: true })
  const begin = '<!-- bench:begin (written by npm run bench; edit outside these markers) -->'
  const end = '<!-- bench:end -->'
  let text = existsSync(docs) ? readFileSync(docs, 'utf8') : `# Benchmarks\n\n${begin}\n${end}\n`
  const a = text.indexOf('<!-- bench:begin')
  const b = text.indexOf(end)
  if (a === -1 || b === -1) text += `\n${begin}\n${end}\n`
  const i = text.indexOf('<!-- bench:begin')
  const j = text.indexOf(end)
  text = text.slice(0, i) + `${begin}\n${table}\n` + text.slice(j)
  writeFileSync(docs, text)
  say(`updated ${docs}`)
}
