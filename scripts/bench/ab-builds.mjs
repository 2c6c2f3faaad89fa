#!/usr/bin/env node
// Interleaved A/B (A/B/C...) of whole Batchery builds on one job, through the real CLI.
//
//   node scripts/bench/ab-builds.mjs --job job.json [--rounds 7] [--tmp /dev/shm] DIR_A DIR_B [...]
//
// DIR is a project folder holding a build (DIR/bin/batchery.js, DIR/out/main) and a
// node_modules, e.g. a copy of the project at an older commit with node_modules symlinked.
// Every round runs each variant once, the order rotating from round to round (A B, B A, ...),
// each run with a fresh --home and a fresh output folder (job.output.folder is replaced), so the
// load of a shared machine falls on all variants alike. Prints, per variant, wall and CPU
// (min/median/max), the median of the per-round ratios to the first variant, and the output
// digest, which must be the same for all variants.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { rotatedRounds } from './measure.mjs'

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? def : args.splice(i, 2)[1]
}
const jobFile = opt('job', null)
const rounds = Number(opt('rounds', '7'))
/** Where each run's home and output go: e.g. /dev/shm, as the suite does for small files. */
const tmpBase = opt('tmp', tmpdir())
const variants = args.map((d) => resolve(d))
if (!jobFile || variants.length === 0) {
  console.error('usage: ab-builds.mjs --job JOB.json [--rounds 7] DIR_A DIR_B [...]')
  process.exit(64)
}
const job = JSON.parse(readFileSync(jobFile, 'utf8'))

function once(dir) {
  const tmp = mkdtempSync(join(tmpBase, 'batchery-abb-'))
  const jf = join(tmp, 'job.json')
  writeFileSync(jf, JSON.stringify({ ...job, output: { ...job.output, folder: join(tmp, 'out') } }))
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [join(dir, 'bin', 'batchery.js'), 'run', jf, '--home', join(tmp, 'home'), '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 })
  const wall = (performance.now() - t0) / 1000
  rmSync(tmp, { recursive: true, force: true })
  let out
  try {
    out = JSON.parse(r.stdout.trim().split('\n').pop())
  } catch {
    throw new Error(`${dir}: batchery exited ${r.status}: ${r.stderr.slice(-2000)}`)
  }
  if (out.status !== 'succeeded' && out.status !== 'partial') throw new Error(`${dir}: ${out.status} ${out.message}`)
  const sha = createHash('sha256').update(out.outputs.map((o) => o.sha256).join(',')).digest('hex').slice(0, 12)
  return { wall, cpu: out.stats.cpuSeconds, rss: out.stats.peakRssMb, rows: out.counts.in, sha }
}

const runs = rotatedRounds(variants, rounds, once, String)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const mmm = (xs) => `${Math.min(...xs).toFixed(3)}/${median(xs).toFixed(3)}/${Math.max(...xs).toFixed(3)}`
for (const [v, dir] of variants.entries()) {
  const walls = runs[v].map((r) => r.wall)
  const cpus = runs[v].map((r) => r.cpu)
  const wr = median(walls.map((w, i) => w / runs[0][i].wall))
  const cr = median(cpus.map((c, i) => c / runs[0][i].cpu))
  console.log(
    `${dir}\n  wall min/med/max ${mmm(walls)} s, cpu ${mmm(cpus)} s, ${Math.round(runs[v][0].rows / median(walls)).toLocaleString('en-US')} rows/s, ` +
      `rss ${Math.max(...runs[v].map((r) => r.rss))} MB, digest ${[...new Set(runs[v].map((r) => r.sha))].join(' ')}, ` +
      `median per-round ratio to first: wall ${wr.toFixed(3)}, cpu ${cr.toFixed(3)}`
  )
}
