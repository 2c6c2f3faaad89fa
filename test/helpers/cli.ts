// Helpers for tests that drive the real CLI in a child process, over real files in a temp folder.
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dirname, '..', '..')
export const BIN = join(ROOT, 'bin', 'batchery.js')

export function tempDir(prefix = 'batchery-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export function cli(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 })
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

export function cliAsync(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }))
  })
}

/** The JSON object `run --json` prints last. */
export function lastJson<T = RunJson>(stdout: string): T {
  const lines = stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1] as string) as T
}

export interface RunJson {
  runId: string
  status: string
  counts: { in: number; out: number; filtered: number; deduped: number; failed: number }
  outputs: { path: string; records: number; sha256: string }[]
  message: string | null
}

export function writeJob(dir: string, job: unknown, name = 'job.json'): string {
  const file = join(dir, name)
  writeFileSync(file, JSON.stringify(job, null, 2))
  return file
}

export function copyExample(name: string): string {
  const dir = tempDir()
  cpSync(join(ROOT, 'resources', 'examples', name), dir, { recursive: true })
  return dir
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

/** Every file under a folder, relative path -> sha256. */
export function treeHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const abs = join(e.parentPath, e.name)
    out[relative(dir, abs)] = sha256(abs)
  }
  return out
}

/** Every file under a folder with its bytes, for "nothing was changed" checks. */
export function treeSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const abs = join(e.parentPath, e.name)
    out[relative(dir, abs)] = e.isFile() ? readFileSync(abs).toString('base64') : 'dir'
  }
  return out
}

export function readJsonl(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true })
  return dir
}

export interface CrashedAndResumed {
  home: string
  runId: string
  /** The output folder's files right after the kill (temporary .partial files left out). */
  afterKill: Record<string, string>
  resumed: CliResult
  result: RunJson
}

/**
 * Run `job` (written into `dir`) killed with SIGKILL at the crash point `point`, then resume its
 * run: what the output folder held after the kill, and the resumed run's result. The caller
 * compares both with an uninterrupted run.
 */
export function crashThenResume(dir: string, job: unknown, point: string, outDir = join(dir, 'out'), env: Record<string, string> = {}): CrashedAndResumed {
  const home = tempDir()
  const crashed = cli(['run', writeJob(dir, job), '--home', home, '--json'], { ...env, BATCHERY_CRASH_AT: point })
  if (crashed.signal !== 'SIGKILL') throw new Error(`the run was not killed at ${point} (exit ${crashed.code}): ${crashed.stderr}`)
  const afterKill = existsSync(outDir) ? Object.fromEntries(Object.entries(treeHashes(outDir)).filter(([name]) => !name.endsWith('.partial'))) : {}
  const runs = JSON.parse(cli(['runs', '--home', home, '--json']).stdout) as { runId: string }[]
  const runId = runs[0]?.runId as string
  const resumed = cli(['resume', runId, '--home', home, '--json'], env)
  return { home, runId, afterKill, resumed, result: lastJson(resumed.stdout) }
}

/** A process that is gone, or a zombie waiting to be reaped. */
export function gone(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return true
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') === true
  } catch {
    return true
  }
}
