// Helpers for the bad-input corpus (test/integration/bad-inputs.test.ts): build an input folder
// from a small description, run the real CLI over it, read back the summary, the failed records
// (through `batchery report --csv`), the outputs and the run log, and check the invariants every
// case must keep whatever its input (reliability.md 7.4): no crash, every record accounted for,
// inputs unchanged, no temporary file left, nothing under a final name unless the run committed.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  symlinkSync,
  writeFileSync,
  writeSync
} from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { FAILURE_CODES } from '../../src/shared/failures'
import { BIN, tempDir, type CliResult } from './cli'

/** One entry of an input folder: file content, a symbolic link, an empty folder, or a file with a mode. */
export type Entry = string | Buffer | { symlink: string } | { dir: true } | { content: string | Buffer; mode: number }

/** Writes `entries` (paths relative to `root`, with /) and returns `root`. */
export function writeTree(root: string, entries: Record<string, Entry>): string {
  mkdirSync(root, { recursive: true })
  // Plain files and folders first, links last (a link may point at a file written here), modes at the very end.
  const modes: [string, number][] = []
  const links: [string, string][] = []
  for (const [rel, e] of Object.entries(entries)) {
    const abs = join(root, ...rel.split('/'))
    mkdirSync(dirname(abs), { recursive: true })
    if (typeof e === 'string' || Buffer.isBuffer(e)) writeFileSync(abs, e)
    else if ('symlink' in e) links.push([abs, e.symlink])
    else if ('dir' in e) mkdirSync(abs, { recursive: true })
    else {
      writeFileSync(abs, e.content)
      modes.push([abs, e.mode])
    }
  }
  for (const [abs, target] of links) symlinkSync(target, abs)
  for (const [abs, mode] of modes) chmodSync(abs, mode)
  return root
}

/**
 * Every entry under `dir`, without following links: relative path -> what it is and holds
 * (mode and sha256 of files, targets of links). For "nothing was changed" checks; works on
 * unreadable files too (then size and mtime stand in for the bytes).
 */
export function snapshotTree(dir: string, exclude: string[] = []): Record<string, string> {
  const out: Record<string, string> = {}
  if (!existsSync(dir)) return out
  const walk = (abs: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const p = join(abs, name)
      const rel = relative(dir, p).split(sep).join('/')
      if (exclude.some((x) => rel === x || rel.startsWith(x + '/'))) continue
      const st = lstatSync(p)
      const mode = (st.mode & 0o7777).toString(8)
      if (st.isSymbolicLink()) out[rel] = `link -> ${readlinkSync(p)}`
      else if (st.isDirectory()) {
        out[rel] = `dir ${mode}`
        walk(p)
      } else if (st.isFile()) {
        let digest: string
        try {
          digest = sha256File(p)
        } catch {
          digest = `unreadable size=${st.size} mtime=${st.mtimeMs}`
        }
        out[rel] = `file ${mode} ${digest}`
      } else out[rel] = `other ${mode}`
    }
  }
  walk(dir)
  return out
}

/** sha256 of a file read in blocks: inputs of a gigabyte are hashed without holding them. */
export function sha256File(path: string): string {
  const hash = createHash('sha256')
  const buf = Buffer.allocUnsafe(4 << 20)
  const fd = openSync(path, 'r')
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n))
  } finally {
    closeSync(fd)
  }
  return hash.digest('hex')
}

/**
 * Writes a file of `head`, then `size` bytes of `fill`, then `tail`, in 1 MiB writes: a file of a
 * gigabyte without a gigabyte in memory.
 */
export function writeBigFile(path: string, head: string, size: number, fill: string, tail: string): void {
  const block = Buffer.alloc(1 << 20, fill)
  const fd = openSync(path, 'w')
  try {
    writeSync(fd, head)
    for (let left = size; left > 0; left -= block.length) writeSync(fd, block, 0, Math.min(left, block.length))
    writeSync(fd, tail)
  } finally {
    closeSync(fd)
  }
}

/** Files under `dir` (dot files included), relative paths with /. */
export function listFiles(dir: string): string[] {
  return Object.entries(snapshotTree(dir))
    .filter(([, v]) => v.startsWith('file '))
    .map(([k]) => k)
}

/** The CLI as a child process; `uid` runs it as another user (tests run as root here). */
export function runCli(args: string[], opts: { env?: Record<string, string>; uid?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    timeout: 180_000,
    maxBuffer: 64 << 20,
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {})
  })
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
}

/** What `run --json` / `resume --json` print last. */
export interface SummaryJson {
  runId: string
  status: string
  counts: { in: number; out: number; filtered: number; deduped: number; failed: number }
  outputs: { path: string; records: number; sha256: string }[]
  message: string | null
  stats?: { wallSeconds: number; peakRssMb: number; cpuSeconds: number }
}

export function parseSummary(stdout: string): SummaryJson | null {
  const lines = stdout.trim().split('\n')
  try {
    const v = JSON.parse(lines[lines.length - 1] ?? '') as SummaryJson
    return v && typeof v === 'object' && typeof v.runId === 'string' ? v : null
  } catch {
    return null
  }
}

/** RFC 4180 reader for the failure report the CLI writes (quoted fields may hold , " \r \n). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let inQuotes = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"'
          i++
        } else inQuotes = false
      } else field += c
    } else if (c === '"') inQuotes = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  if (field !== '' || row.length) {
    row.push(field)
    rows.push(row)
  }
  return rows
}

export interface FailedRow {
  file: string
  line: number
  step: string
  code: string
  message: string
  raw: string
}

/** Every failed record of a run, through `batchery report <runId> --csv`. */
export function failedRecords(home: string, runId: string): { rows: FailedRow[]; report: CliResult } {
  const file = join(tempDir('batchery-report-'), 'failed.csv')
  const report = runCli(['report', runId, '--home', home, '--csv', file])
  if (!existsSync(file)) return { rows: [], report }
  const [head, ...rows] = parseCsv(readFileSync(file, 'utf8'))
  if (head?.join(',') !== 'file,line,step,code,message,raw') throw new Error(`unexpected report header: ${head?.join(',')}`)
  return {
    report,
    rows: rows.map(([file, line, step, code, message, raw]) => ({
      file: file ?? '',
      line: Number(line),
      step: step ?? '',
      code: code ?? '',
      message: message ?? '',
      raw: raw ?? ''
    }))
  }
}

/** One CLI invocation (run or resume) with everything needed to judge it. */
export interface Observed {
  args: string[]
  home: string
  inDir: string
  outDir: string
  cli: CliResult
  summary: SummaryJson | null
  failures: FailedRow[]
  report: CliResult | null
  inputBefore: Record<string, string>
  inputAfter: Record<string, string>
  outputBefore: Record<string, string>
  outputAfter: Record<string, string>
  /** The run's own log (JSON lines), '' when there is none. */
  log: string
}

export interface ObserveOptions {
  inDir: string
  outDir: string
  home: string
  args: string[]
  env?: Record<string, string>
  uid?: number
  /** Paths under the input folder that the job itself writes (an output folder inside it). */
  excludeFromInput?: string[]
}

export function observe(o: ObserveOptions): Observed {
  const exclude = o.excludeFromInput ?? []
  const inputBefore = snapshotTree(o.inDir, exclude)
  const outputBefore = snapshotTree(o.outDir)
  const cli = runCli(o.args, { env: o.env, uid: o.uid })
  const inputAfter = snapshotTree(o.inDir, exclude)
  const outputAfter = snapshotTree(o.outDir)
  const summary = parseSummary(cli.stdout)
  let failures: FailedRow[] = []
  let report: CliResult | null = null
  let log = ''
  if (summary) {
    const r = failedRecords(o.home, summary.runId)
    failures = r.rows
    report = r.report
    const logFile = join(o.home, 'logs', `${summary.runId}.log`)
    if (existsSync(logFile)) log = readFileSync(logFile, 'utf8')
  }
  return { args: o.args, home: o.home, inDir: o.inDir, outDir: o.outDir, cli, summary, failures, report, inputBefore, inputAfter, outputBefore, outputAfter, log }
}

export interface Scenario extends Observed {
  dir: string
  jobFile: string
}

/**
 * A fresh temp folder with `entries` under in/ (and `extra` beside it), the job in job.json, and
 * one `run --json` of it with a fresh home.
 */
export function scenario(
  entries: Record<string, Entry>,
  job: Record<string, unknown>,
  opts: { extra?: Record<string, Entry>; env?: Record<string, string>; uid?: number; excludeFromInput?: string[]; prepare?: (dir: string, home: string) => void } = {}
): Scenario {
  const dir = tempDir('batchery-bad-')
  writeTree(join(dir, 'in'), entries)
  if (opts.extra) writeTree(dir, opts.extra)
  const jobFile = join(dir, 'job.json')
  writeFileSync(jobFile, JSON.stringify(job, null, 2))
  const home = tempDir('batchery-home-')
  opts.prepare?.(dir, home)
  const input = job.input as { folder: string }
  const output = job.output as { folder: string }
  const observed = observe({
    inDir: resolve(dir, input.folder),
    outDir: resolve(dir, output.folder),
    home,
    args: ['run', jobFile, '--home', home, '--json'],
    env: opts.env,
    uid: opts.uid,
    excludeFromInput: opts.excludeFromInput
  })
  return { ...observed, dir, jobFile }
}

const KNOWN_CODES = new Set(Object.keys(FAILURE_CODES))
const STACK_TRACE = /\n\s+at .+(:\d+:\d+|\(native\))/
const RUN_EXIT_CODES = new Set([0, 2, 3, 4, 5])
const STATUS_FOR_EXIT: Record<number, string[]> = { 0: ['succeeded'], 2: ['partial'], 3: ['failed', 'cancelled'], 5: ['interrupted'] }

/**
 * The invariants every bad input must keep, as a list of violations (empty when all hold), so a
 * failing test says exactly which one broke.
 */
export function invariantProblems(o: Observed): string[] {
  const p: string[] = []
  const { cli, summary } = o
  // 1. No crash: a documented exit code, no signal, no "unexpected error", no stack trace.
  if (cli.signal !== null) p.push(`the CLI was killed by ${cli.signal}`)
  if (cli.code === null || !RUN_EXIT_CODES.has(cli.code)) p.push(`exit code ${cli.code} is not one of 0/2/3/4/5`)
  if (/unexpected error/i.test(cli.stderr)) p.push(`stderr reports an unexpected error: ${cli.stderr.slice(0, 600)}`)
  if (STACK_TRACE.test(cli.stderr)) p.push(`stderr holds a stack trace: ${cli.stderr.slice(0, 600)}`)
  // 2. A run that ran says how it ended, consistently with its exit code.
  if (cli.code !== 4 && cli.code !== null && RUN_EXIT_CODES.has(cli.code)) {
    if (!summary) p.push(`no JSON summary on stdout: ${cli.stdout.slice(0, 300)}`)
    else if (!(STATUS_FOR_EXIT[cli.code] ?? []).includes(summary.status)) p.push(`status ${summary.status} with exit code ${cli.code}`)
  }
  if (summary) {
    // 3. Every record accounted for.
    const c = summary.counts
    if (c.in !== c.out + c.filtered + c.deduped + c.failed) p.push(`records do not add up: ${JSON.stringify(c)}`)
    // 4. No failed record lost, each one readable.
    if (o.report && o.report.code !== 0) p.push(`report exited ${o.report.code}: ${o.report.stderr.slice(0, 300)}`)
    if (o.failures.length !== c.failed) p.push(`the report lists ${o.failures.length} failed records, the run counted ${c.failed}`)
    for (const f of o.failures) {
      const where = `${f.file}:${f.line}`
      if (!KNOWN_CODES.has(f.code)) p.push(`${where}: unknown failure code ${f.code}`)
      if (!Number.isInteger(f.line) || f.line < 1) p.push(`${where}: bad line number`)
      if (!f.file) p.push(`a failed record without a file: ${JSON.stringify(f).slice(0, 200)}`)
      if (!f.step) p.push(`${where}: failed record without a step`)
      if (!f.message.trim()) p.push(`${where}: failed record without a message`)
      if (STACK_TRACE.test(f.message)) p.push(`${where}: the message holds a stack trace`)
    }
  }
  // 5. Inputs unchanged.
  const changed = diffKeys(o.inputBefore, o.inputAfter)
  if (changed.length) p.push(`the input folder changed: ${changed.join(', ')}`)
  // 6. No temporary or partial file under the output folder.
  const temps = listFiles(o.outDir).filter((f) => /\.(partial|tmp)$/i.test(f))
  if (temps.length) p.push(`temporary files left in the output folder: ${temps.join(', ')}`)
  // 7. Nothing under a final output name unless the run committed; what it committed is on disk.
  const committed = summary && (summary.status === 'succeeded' || summary.status === 'partial')
  if (!committed) {
    const diff = diffKeys(o.outputBefore, o.outputAfter)
    if (diff.length) p.push(`the run did not commit (${summary?.status ?? `exit ${cli.code}`}) but the output folder changed: ${diff.join(', ')}`)
  } else {
    let sum = 0
    const reported = new Set<string>()
    for (const out of summary.outputs) {
      sum += out.records
      const rel = relative(o.outDir, out.path).split(sep).join('/')
      reported.add(rel)
      if (!existsSync(out.path)) {
        p.push(`output ${out.path} is in the summary but not on disk`)
        continue
      }
      const bytes = readFileSync(out.path)
      if (createHash('sha256').update(bytes).digest('hex') !== out.sha256) p.push(`output ${rel}: sha256 differs from the summary`)
      if (out.path.endsWith('.jsonl')) {
        const lines = bytes.length ? bytes.toString('utf8').split('\n').length - 1 : 0
        if (lines !== out.records) p.push(`output ${rel}: ${lines} lines, the summary says ${out.records} records`)
      }
    }
    if (sum !== summary.counts.out) p.push(`outputs hold ${sum} records, counts.out is ${summary.counts.out}`)
    const stray = listFiles(o.outDir).filter((f) => !reported.has(f) && o.outputAfter[f] !== o.outputBefore[f])
    if (stray.length) p.push(`files written to the output folder that the run does not report: ${stray.join(', ')}`)
  }
  return p
}

function diffKeys(a: Record<string, string>, b: Record<string, string>): string[] {
  const out: string[] = []
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (a[k] !== b[k]) out.push(`${k} (${a[k] ?? 'absent'} -> ${b[k] ?? 'absent'})`)
  }
  return out
}

/** The text of an output file, '' when the run wrote none. */
export function outputText(o: Observed, rel: string): string {
  const abs = join(o.outDir, ...rel.split('/'))
  return existsSync(abs) ? readFileSync(abs, 'utf8') : ''
}

/** Records in a JSON-lines output text. */
export function jsonlCount(text: string): number {
  return text ? text.split('\n').length - 1 : 0
}

/** JSON lines, as the engine writes them: one JSON.stringify per record, each ending in \n. */
export function jl(...rows: Record<string, unknown>[]): string {
  return rows.map((r) => JSON.stringify(r) + '\n').join('')
}

/** Deterministic pseudo-random bytes (mulberry32), for binary files that are the same on every run. */
export function pseudoRandomBytes(n: number, rnd: () => number): Buffer {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256)
  return b
}

/** A short, printable account of a run for assertion messages. */
export function describeRun(o: Observed): string {
  const s = o.summary
  return [
    `command: batchery ${o.args.join(' ')}`,
    `exit ${o.cli.code}${o.cli.signal ? ` (${o.cli.signal})` : ''}; ${s ? `${s.status} ${JSON.stringify(s.counts)} ${s.message ?? ''}` : 'no summary'}`,
    o.cli.stderr ? `stderr: ${o.cli.stderr.slice(0, 400)}` : '',
    ...o.failures.slice(0, 12).map((f) => `  failed ${f.file}:${f.line} ${f.code} ${f.message.slice(0, 160)}`)
  ]
    .filter(Boolean)
    .join('\n')
}
