#!/usr/bin/env node
// A/B test of worker bundles: runs the same Batchery job with each built partition worker
// (BATCHERY_WORKER=<file>), rounds interleaved, and prints median wall time, rows/s, the
// output's sha256 (which must not change) and the ratio to the first variant. Used to measure a
// proposed change to the worker before it is made in the sources:
//
//   mkdir -p bench-results/exp; cp -r out/main bench-results/exp/a; cp -r out/main bench-results/exp/b
//   (edit bench-results/exp/b/partition-worker.js; the copies must stay inside the project so
//   that node_modules resolves)
//   node scripts/bench/ab-worker.mjs --job job.json --rounds 5 bench-results/exp/{a,b}/partition-worker.js
//
// A variant may also be "-" for the current build (out/main), or a folder holding a whole copy
// of out/main (cli.js, partition-worker.js, chunks/): then that copy's CLI runs, with its own
// worker, to measure changes to the engine's main thread too.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? def : args.splice(i, 2)[1]
}
const job = opt('job', null)
const rounds = Number(opt('rounds', '5'))
const variants = args
if (!job || variants.length === 0) {
  console.error('usage: ab-worker.mjs --job JOB.json [--rounds 5] WORKER.js|- [WORKER.js ...]')
  process.exit(64)
}

function once(worker) {
  const home = mkdtempSync(join(tmpdir(), 'batchery-ab-'))
  const env = { ...process.env }
  let cli = [join(root, 'bin', 'batchery.js')]
  if (worker !== '-' && statSync(worker).isDirectory()) {
    const dir = resolve(worker)
    env.BATCHERY_WORKER = join(dir, 'partition-worker.js')
    cli = ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(pathToFileURL(join(dir, 'cli.js')).href)}); process.exitCode = await main(process.argv.slice(1))`]
  } else if (worker !== '-') {
    env.BATCHERY_WORKER = worker
  }
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [...cli, 'run', job, '--home', home, '--json'], { encoding: 'utf8', env, maxBuffer: 1 << 26 })
  const wall = (performance.now() - t0) / 1000
  rmSync(home, { recursive: true, force: true })
  let out
  try {
    out = JSON.parse(r.stdout.trim().split('\n').pop())
  } catch {
    throw new Error(`${worker}: batchery exited ${r.status}: ${r.stderr.slice(-2000)}`)
  }
  if (out.status !== 'succeeded' && out.status !== 'partial') throw new Error(`${worker}: ${out.status} ${out.message}`)
  return { wall, rows: out.counts.in, sha: createHash('sha256').update(out.outputs.map((o) => o.sha256).join(',')).digest('hex').slice(0, 12), rss: out.stats.peakRssMb, cpu: out.stats.cpuSeconds }
}

const runs = variants.map(() => [])
for (let i = 0; i < rounds; i++) {
  for (const [v, w] of variants.entries()) {
    const r = once(w)
    runs[v].push(r)
    process.stderr.write(`round ${i + 1} ${w}: ${r.wall.toFixed(3)} s\n`)
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const base = median(runs[0].map((r) => r.wall))
for (const [v, w] of variants.entries()) {
  const walls = runs[v].map((r) => r.wall)
  const m = median(walls)
  const rows = runs[v][0].rows
  console.log(
    `${w}\n  wall min/median/max ${Math.min(...walls).toFixed(3)}/${m.toFixed(3)}/${Math.max(...walls).toFixed(3)} s, ${Math.round(rows / m).toLocaleString('en-US')} rows/s, ` +
      `cpu ${median(runs[v].map((r) => r.cpu)).toFixed(2)} s, rss ${Math.max(...runs[v].map((r) => r.rss))} MB, output digest ${[...new Set(runs[v].map((r) => r.sha))].join(' ')}, time ratio to first ${(m / base).toFixed(3)}`
  )
}
