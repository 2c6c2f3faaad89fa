// Helpers of the benchmark suite: run a command and measure it (wall time here, CPU and peak RSS
// from GNU time when installed), statistics, the machine's facts and tool versions.
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, rmSync, statfsSync } from 'node:fs'
import { availableParallelism, cpus, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'

const GNU_TIME = ['/usr/bin/time', '/bin/time'].find((p) => existsSync(p)) ?? null

/** The first of `names` found on PATH, or null. */
export function which(name) {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

let seq = 0
/**
 * Runs `cmd args` and returns { wall, cpu, rssMb, status, signal, stdout, stderr }. Wall time is
 * measured here (high resolution, includes process start and exit); CPU (user + sys) and peak RSS
 * of the largest process come from GNU time when it is installed, else they are null.
 * opts: env, cwd, stdoutFile (the command's stdout goes to that file), input (stdin text).
 */
export function timed(cmd, args, opts = {}) {
  const timeFile = join(tmpdir(), `batchery-bench-time-${process.pid}-${seq++}`)
  const argv = GNU_TIME ? [GNU_TIME, '-f', '%U %S %M', '-o', timeFile, cmd, ...args] : [cmd, ...args]
  const outFd = opts.stdoutFile ? openSync(opts.stdoutFile, 'w') : null
  const t0 = process.hrtime.bigint()
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    input: opts.input,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', outFd ?? 'pipe', 'pipe']
  })
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  if (outFd !== null) closeSync(outFd)
  let cpu = null
  let rssMb = null
  if (GNU_TIME && existsSync(timeFile)) {
    const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? ''
    const m = /^([\d.]+) ([\d.]+) (\d+)$/.exec(last)
    if (m) {
      cpu = Number(m[1]) + Number(m[2])
      rssMb = Number(m[3]) / 1024
    }
    rmSync(timeFile, { force: true })
  }
  // GNU time reports a killed child on stderr and exits 128+n; keep the child's own view.
  const signal = r.signal ?? (/Command terminated by signal (\d+)/.exec(r.stderr ?? '')?.[1] ? 'signal' : null)
  return { wall, cpu, rssMb, status: r.status, signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error }
}

export const median = (xs) => {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b)
  if (!s.length) return null
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

export const fmt = (n, d = 0) => (n == null || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }))

/** Newline count of a file (or of every file in a folder). */
export function countLines(path) {
  if (!existsSync(path)) return 0
  const st = readdirSafe(path)
  if (st) return st.reduce((s, f) => s + countLines(join(path, f)), 0)
  const fd = openSync(path, 'r')
  const buf = Buffer.allocUnsafe(1 << 20)
  let n = 0
  try {
    for (let got; (got = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      for (let i = buf.indexOf(10); i !== -1 && i < got; i = buf.indexOf(10, i + 1)) n++
    }
  } finally {
    closeSync(fd)
  }
  return n
}

function readdirSafe(p) {
  try {
    return readdirSync(p)
  } catch {
    return null
  }
}

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.status !== 0 || r.error) return null
  return (r.stdout || r.stderr).trim().split('\n')[0]
}

/** Facts about the machine and the tools, for the report. */
export function machineFacts(root, dataDir) {
  const cpuModel = cpus()[0]?.model?.trim() ?? '?'
  const facts = {
    date: new Date().toISOString(),
    cpu: cpuModel,
    cores: availableParallelism(),
    ramGiB: totalmem() / 2 ** 30,
    os: `${process.platform} ${release()}`,
    node: process.version,
    fs: null,
    batchery: null,
    tools: {}
  }
  try {
    const df = spawnSync('df', ['-T', dataDir], { encoding: 'utf8' }).stdout.trim().split('\n').pop().split(/\s+/)
    facts.fs = `${df[1]} (${df[0]})`
  } catch {
    try {
      facts.fs = `type 0x${statfsSync(dataDir).type.toString(16)}`
    } catch {
      // unknown
    }
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const rev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout?.trim()
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).stdout?.trim()
  facts.batchery = `${pkg.version}${rev ? ` (git ${rev}${dirty ? ', with uncommitted changes' : ''})` : ''}`
  const ver = (p) => {
    try {
      return JSON.parse(readFileSync(join(root, 'node_modules', p, 'package.json'), 'utf8')).version
    } catch {
      return null
    }
  }
  facts.tools.mlr = which('mlr') ? firstLine('mlr', ['--version']) : null
  facts.tools.parallel = which('parallel') ? firstLine('parallel', ['--version']) : null
  facts.tools['GNU time'] = GNU_TIME ? firstLine(GNU_TIME, ['--version']) : null
  const duck = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', 'import { DuckDBInstance } from "@duckdb/node-api"; const c = await (await DuckDBInstance.create(":memory:")).connect(); console.log((await c.runAndReadAll("select version()")).getRows()[0][0])'],
    { cwd: root, encoding: 'utf8' }
  )
  facts.tools['@duckdb/node-api'] = ver('@duckdb/node-api') ? `${ver('@duckdb/node-api')} (DuckDB ${duck.stdout.trim() || '?'})` : null
  facts.tools['csv-parse'] = ver('csv-parse')
  facts.tools.piscina = ver('piscina')
  const sqlite = spawnSync(process.execPath, ['-e', 'const D=require("better-sqlite3");console.log(new D(":memory:").prepare("select sqlite_version() v").get().v)'], { cwd: root, encoding: 'utf8' })
  facts.tools['better-sqlite3'] = ver('better-sqlite3') ? `${ver('better-sqlite3')} (SQLite ${sqlite.stdout.trim() || '?'})` : null
  return facts
}

/**
 * A/B rounds: each round runs every variant once, the order rotated round by round so no variant
 * always runs first (or right after another). Returns the results per variant, in variant order.
 */
export function rotatedRounds(variants, rounds, once, label = String) {
  const runs = variants.map(() => [])
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < variants.length; k++) {
      const v = (i + k) % variants.length
      const r = once(variants[v])
      runs[v].push(r)
      process.stderr.write(`round ${i + 1} ${label(variants[v])}: wall ${r.wall.toFixed(3)} s cpu ${r.cpu.toFixed(3)} s\n`)
    }
  }
  return runs
}
