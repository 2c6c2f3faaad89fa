// Helpers of the format benchmarks (json-array-memory.mjs, xlsx.mjs, gzip.mjs): run the built
// CLI on a job and measure its wall time and its peak RSS. Workers are threads of the CLI's
// process, so the process's high-water mark (VmHWM in /proc, sampled until it exits) is the
// whole run's peak memory; elsewhere the run's own peakRssMb is used.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const BIN = join(ROOT, 'bin', 'batchery.js')

export function dataDir(name) {
  return mkdtempSync(join(process.env.BATCHERY_BENCH_DATA ?? tmpdir(), `batchery-${name}-`))
}

export function cleanUp(dir) {
  if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true })
}

function hwmKb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/** Run `batchery run <job> --json` in `dir`; resolves with { wall, peakRssMb, result }. */
export function runJob(dir, job, home = join(dir, 'home')) {
  const file = join(dir, 'job.json')
  writeFileSync(file, JSON.stringify(job, null, 2))
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const child = spawn(process.execPath, [BIN, 'run', file, '--home', home, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    let peakKb = 0
    const timer = setInterval(() => (peakKb = Math.max(peakKb, hwmKb(child.pid))), 20)
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => {
      clearInterval(timer)
      const wall = Number(process.hrtime.bigint() - t0) / 1e9
      const last = out.trim().split('\n').pop() ?? ''
      let result
      try {
        result = JSON.parse(last)
      } catch {
        reject(new Error(`the run printed no result (exit ${code}): ${err || out}`))
        return
      }
      const peakRssMb = peakKb ? peakKb / 1024 : (result.stats?.peakRssMb ?? null)
      resolve({ wall, peakRssMb, result, stderr: err })
    })
  })
}

export const fmt = (n, d = 0) => (n == null ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }))

export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
  return rows.map((r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')).join('\n')
}
