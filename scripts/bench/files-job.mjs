// Files-job overhead per item against GNU parallel -j2 on the same files with the same trivial
// command. Each tool runs the same argv per file; the difference in wall time, divided by the
// number of files, is what Batchery adds per file (its own process start included once).
// Also a bare Node loop spawning the same commands two at a time (no bookkeeping): the floor for
// anything that starts processes from Node.
//
// Usage: node scripts/bench/files-job.mjs [files=2000] [repeats=3]
// Needs a build (npm run build) and GNU parallel (apt-get install parallel) for the comparison.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'batchery.js')
const N = Number(process.argv[2] ?? 2000)
const REPEATS = Number(process.argv[3] ?? 3)
const J = 2

const dir = mkdtempSync(join(tmpdir(), 'batchery-files-bench-'))
mkdirSync(join(dir, 'in'))
for (let i = 0; i < N; i++) writeFileSync(join(dir, 'in', `f${String(i).padStart(5, '0')}.txt`), `file ${i}\n`.repeat(20))
const inputs = readdirSync(join(dir, 'in'))
  .sort()
  .map((f) => `in/${f}`)

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const time = (fn) => {
  const t0 = performance.now()
  fn()
  return (performance.now() - t0) / 1000
}
const clean = () => {
  for (const d of ['out', 'home']) rmSync(join(dir, d), { recursive: true, force: true })
}

const cases = [
  { label: 'true (no output)', batchery: ['true', '{}'], parallel: ['true', '{}'], node: (f) => ['true', [f]] },
  { label: 'cp {} to the output folder', batchery: ['cp', '{}', '{out}/{/}'], parallel: ['cp', '{}', 'out/{/}'], node: (f) => ['cp', [f, `out/${f.slice(3)}`]] }
]

const hasParallel = !spawnSync('parallel', ['--version'], { stdio: 'ignore' }).error
const results = []
for (const c of cases) {
  const job = { name: 'bench-files', kind: 'files', input: { folder: 'in', include: ['*.txt'] }, command: c.batchery, output: { folder: 'out' }, policy: { concurrency: J } }
  writeFileSync(join(dir, 'job.json'), JSON.stringify(job))
  const b = []
  const p = []
  const n = []
  for (let r = 0; r < REPEATS; r++) {
    clean()
    b.push(
      time(() => {
        const x = spawnSync(process.execPath, [BIN, 'run', join(dir, 'job.json'), '--home', join(dir, 'home'), '--json'], { cwd: dir, encoding: 'utf8' })
        if (x.status !== 0) throw new Error(`batchery failed: ${x.stderr}`)
      })
    )
    if (hasParallel) {
      clean()
      mkdirSync(join(dir, 'out'))
      p.push(
        time(() => {
          const x = spawnSync('parallel', ['-j', String(J), ...c.parallel, ':::', ...inputs], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26 })
          if (x.status !== 0) throw new Error(`parallel failed: ${x.stderr}`)
        })
      )
    }
    clean()
    mkdirSync(join(dir, 'out'))
    const t0 = performance.now()
    await new Promise((done) => {
      let next = 0
      let running = 0
      const launch = () => {
        if (next >= inputs.length && running === 0) return done()
        while (running < J && next < inputs.length) {
          const [file, args] = c.node(inputs[next++])
          running++
          spawn(file, args, { cwd: dir, stdio: 'ignore' }).on('exit', () => {
            running--
            launch()
          })
        }
      }
      launch()
    })
    n.push((performance.now() - t0) / 1000)
  }
  results.push({ label: c.label, batchery: median(b), parallel: hasParallel ? median(p) : NaN, node: median(n) })
}
// Batchery's fixed cost: a run over no files (process start, database, plan).
rmSync(join(dir, 'in'), { recursive: true })
mkdirSync(join(dir, 'in'))
clean()
const empty = median(
  Array.from({ length: REPEATS }, () =>
    time(() => spawnSync(process.execPath, [BIN, 'run', join(dir, 'job.json'), '--home', join(dir, 'home'), '--json'], { cwd: dir }))
  )
)
rmSync(dir, { recursive: true, force: true })

const ms = (s) => (s * 1000).toFixed(2)
console.log(`files-job overhead, ${N} files, -j${J}, median of ${REPEATS} (wall seconds; per file = wall / files, in ms)`)
console.log(`Batchery run over no files (fixed cost): ${empty.toFixed(2)} s`)
for (const r of results) {
  console.log(`\n${r.label}`)
  console.log(`  GNU parallel -j${J}   ${r.parallel.toFixed(2)} s   ${ms(r.parallel / N)} ms/file`)
  console.log(`  bare Node spawn x${J}  ${r.node.toFixed(2)} s   ${ms(r.node / N)} ms/file`)
  console.log(`  Batchery            ${r.batchery.toFixed(2)} s   ${ms(r.batchery / N)} ms/file (${ms((r.batchery - empty) / N)} ms/file without the fixed cost)`)
  console.log(`  Batchery - parallel: ${ms((r.batchery - r.parallel) / N)} ms/file`)
}
