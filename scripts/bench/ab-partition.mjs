#!/usr/bin/env node
// Interleaved A/B of the partition worker alone: each run is a child process that imports one
// build's out/main/partition-worker.js and runs it, on one thread, over one byte range of a CSV
// file with the T steps (filter + derive) into JSON lines, then reports the process's CPU time
// (user + system) and the staged output's sha256. No pool, no SQLite, no assembly: only the
// worker's hot path (read, decode, parse, build, steps, encode, write), so a change to it shows
// through the noise of a shared machine better than whole runs do.
//
//   node scripts/bench/ab-partition.mjs [--rounds 9] [--mb 25] [--file orders.csv] [--format jsonl] DIR_A DIR_B[@--v8-flag,...] [...]
//
// DIR is a project folder holding a build (DIR/out/main/partition-worker.js) and node_modules.
// The order of the variants rotates from round to round. Prints per variant the median CPU and
// wall, the median of the per-round ratios to the first variant, and the output digests (which
// must agree).
import { spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { rotatedRounds } from './measure.mjs'

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? def : args.splice(i, 2)[1]
}
const rounds = Number(opt('rounds', '9'))
const mb = Number(opt('mb', '25'))
const file = opt('file', join(process.env.BATCHERY_BENCH_DATA ?? join(tmpdir(), 'batchery-bench'), 'orders-1000000', 'orders.csv'))
const format = opt('format', 'jsonl')
// DIR@--flag,--flag: the same build with node/V8 flags for the child, e.g. @--max-semi-space-size=32.
const variants = args.map((v) => {
  const [d, flags] = v.split('@')
  return { dir: resolve(d), flags: flags ? flags.split(',') : [], label: flags ? `${resolve(d)} ${flags}` : resolve(d) }
})
if (variants.length === 0) {
  console.error('usage: ab-partition.mjs [--rounds 9] [--mb 25] [--file F.csv] [--format jsonl] DIR_A DIR_B [...]')
  process.exit(64)
}

// The header and a range from after it to the first '\n' after `mb` megabytes (or the end).
const fd = openSync(file, 'r')
const head = Buffer.alloc(64 * 1024)
const hn = readSync(fd, head, 0, head.length, 0)
const headerEnd = head.subarray(0, hn).indexOf(10) + 1
const header = head.subarray(0, headerEnd - 1).toString('utf8').replace(/\r$/, '').split(',')
let end = Math.min(statSync(file).size, mb * 1e6)
if (end < statSync(file).size) {
  const b = Buffer.alloc(64 * 1024)
  const n = readSync(fd, b, 0, b.length, end)
  end += b.subarray(0, n).indexOf(10) + 1
}
closeSync(fd)

const child = `
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
const [workerFile, taskJson] = process.argv.slice(1)
const task = JSON.parse(taskJson)
task.progress = new SharedArrayBuffer(16)
const { default: run } = await import(workerFile)
const c0 = process.cpuUsage(); const t0 = performance.now()
const r = await run(task)
const c = process.cpuUsage(c0); const wall = performance.now() - t0
const sha = createHash('sha256').update(readFileSync(task.stagedPath)).digest('hex').slice(0, 12)
console.log(JSON.stringify({ cpu: (c.user + c.system) / 1e6, wall: wall / 1000, counts: r.counts, sha }))
`

function once({ dir, flags }) {
  const tmp = mkdtempSync(join(process.env.AB_TMP ?? tmpdir(), 'batchery-abp-'))
  const task = {
    runId: 'ab',
    partitionIdx: 0,
    attempt: 1,
    pipeline: { hash: 'ab-t', baseDir: tmp, steps: [{ filter: "status != 'cancelled'" }, { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)' } }] },
    input: { format: 'csv', delimiter: ',', quote: '"', encoding: 'utf8' },
    output: { format, delimiter: ',', columns: [...header, 'total'] },
    file,
    start: headerEnd,
    end,
    firstLine: 2,
    lastOfFile: true,
    header,
    stagedPath: join(tmp, 'staged'),
    keysPath: null
  }
  const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', child, join(dir, 'out', 'main', 'partition-worker.js'), JSON.stringify(task)], { encoding: 'utf8' })
  rmSync(tmp, { recursive: true, force: true })
  if (r.status !== 0) throw new Error(`${dir}: exited ${r.status}: ${r.stderr.slice(-2000)}`)
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

const runs = rotatedRounds(variants, rounds, once, (v) => v.label)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(`${file} bytes ${headerEnd}-${end}, ${format}, ${rounds} rounds`)
for (const [v, { label: dir }] of variants.entries()) {
  const rs = runs[v]
  const ratio = (key) => median(rs.map((r, i) => r[key] / runs[0][i][key])).toFixed(3)
  console.log(
    `${dir}\n  cpu median ${median(rs.map((r) => r.cpu)).toFixed(3)} s, wall median ${median(rs.map((r) => r.wall)).toFixed(3)} s, ` +
      `per-round ratio to first: cpu ${ratio('cpu')}, wall ${ratio('wall')}; records in ${rs[0].counts.in}, out ${rs[0].counts.out}; digest ${[...new Set(rs.map((r) => r.sha))].join(' ')}`
  )
}
