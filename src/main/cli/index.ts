// The headless CLI: a thin adapter over the engine. Human output on a terminal, JSON on request.
import { closeSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs'
import { dirname, join, resolve, basename } from 'node:path'
import { Command, CommanderError, Option } from 'commander'
import { recordEncoder, csvHeaderLine } from '../../workers/formats/encode'
import { ConflictError, Engine, InvalidJobError, JobNotFoundError, NotResumableError, RunNotFoundError, type RunProgress, type RunSummary } from '../engine/engine'
import { Scheduler, SchedulerBusyError } from '../engine/scheduler'
import { DatabaseCorruptError, DatabaseTooNewError } from '../engine/store/open-db'
import { checkJobFile, isFilesJob } from '../engine/job-check'
import { joblog, plannedCommands } from '../engine/files-runner'
import { itemRows } from '../engine/store/file-items'
import { listInputFiles } from '../engine/inputs'
import { givenFiles } from '../engine/selection'
import { builtFile, defaultHome } from '../engine/paths'
import { engineLogger, runLogPath } from '../engine/log'
import { addScheduleCommands } from './schedule-commands'

/** Exit codes, listed in README.md. */
/** A command was given something it cannot use (a bad date, say): exit code 1 with the message. */
export class UsageError extends Error {}

export const EXIT = {
  succeeded: 0,
  error: 1,
  partial: 2,
  failed: 3,
  invalidJob: 4,
  interrupted: 5,
  usage: 64
} as const

const fmt = new Intl.NumberFormat('en-US')

export function homeOf(opts: { home?: string }): string {
  return opts.home ? resolve(opts.home) : defaultHome()
}

export function openEngine(opts: { home?: string }): Engine {
  return new Engine(homeOf(opts), {})
}

function exitCodeFor(s: RunSummary): number {
  switch (s.status) {
    case 'succeeded':
      return EXIT.succeeded
    case 'partial':
      return EXIT.partial
    case 'interrupted':
      return EXIT.interrupted
    default:
      return EXIT.failed
  }
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1)
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const m = Math.floor(ms / 60_000)
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`
}

function progressLine(p: RunProgress, unit: 'records' | 'files' = 'records'): string {
  if (p.phase === 'planning') return `${p.job}: reading the input files…`
  if (p.phase === 'assembling') return `${p.job}: writing the outputs…`
  const eta = p.etaMs === null ? '' : `  ETA ${duration(p.etaMs)}`
  const failed = p.failed ? `  ${fmt.format(p.failed)} failed` : ''
  if (unit === 'files') {
    return `${p.job}: ${fmt.format(p.partitionsDone)} of ${fmt.format(p.partitionsTotal)} files  ${p.recordsPerSec.toFixed(1)} files/s  ${p.busyWorkers} running${eta}${failed}`
  }
  const pct = p.bytesTotal ? Math.floor((p.bytesDone / p.bytesTotal) * 100) : 100
  return `${p.job}: ${pct}%  ${fmt.format(p.records)} records  ${mb(p.bytesPerSec)} MB/s${eta}${failed}`
}

export function printSummary(s: RunSummary, out: (line: string) => void): void {
  const c = s.counts
  out(`Run ${s.runId} of ${s.job}: ${s.status} in ${duration(s.durationMs)}`)
  if (s.kind === 'files') {
    // A files job: each input file is one item, done or failed.
    out(`  files in ${fmt.format(c.in)} = done ${fmt.format(c.out)} + failed ${fmt.format(c.failed)}`)
    const shown = s.outputs.length > 10 ? s.outputs.slice(0, 3) : s.outputs
    for (const o of shown) out(`  wrote ${o.path}`)
    if (shown.length < s.outputs.length) out(`  … and ${fmt.format(s.outputs.length - shown.length)} more files in ${dirname(s.outputs[0]?.path ?? '')}`)
    if (s.message) out(`  ${s.message}`)
    if (c.failed) out(`  See the failed files: batchery report ${s.runId}`)
    if (s.status === 'interrupted') out(`  Finish it with: batchery resume ${s.runId}`)
    return
  }
  out(`  records in ${fmt.format(c.in)} = out ${fmt.format(c.out)} + filtered ${fmt.format(c.filtered)} + duplicates ${fmt.format(c.deduped)} + failed ${fmt.format(c.failed)}`)
  for (const o of s.outputs) out(`  wrote ${o.path} (${fmt.format(o.records)} records)`)
  if (s.message) out(`  ${s.message}`)
  if (c.failed) out(`  See the failed records: batchery report ${s.runId}`)
  if (s.status === 'interrupted') out(`  Finish it with: batchery resume ${s.runId}`)
}

function jsonSummary(s: RunSummary): string {
  // maxRSS covers the whole process, worker threads included.
  const u = process.resourceUsage()
  const stats = { wallSeconds: s.durationMs / 1000, peakRssMb: Math.round(u.maxRSS / 1024), cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6 }
  return JSON.stringify({ runId: s.runId, status: s.status, counts: s.counts, outputs: s.outputs, message: s.message, stats })
}

/** Runs with a live progress line on a terminal; Ctrl+C stops the run resumably, twice quits at once. */
export async function drive(
  start: (opts: { onProgress?: (p: RunProgress) => void; stop: AbortSignal }) => Promise<RunSummary>,
  json: boolean,
  unit: 'records' | 'files' = 'records'
): Promise<number> {
  const tty = process.stderr.isTTY === true
  const stop = new AbortController()
  let interrupts = 0
  const onSigint = (): void => {
    interrupts++
    if (interrupts > 1) process.exit(EXIT.interrupted)
    process.stderr.write('\nStopping… (the run can be resumed; press Ctrl+C again to quit at once)\n')
    stop.abort()
  }
  process.on('SIGINT', onSigint)
  process.on('SIGTERM', onSigint)
  try {
    const s = await start({
      stop: stop.signal,
      onProgress: tty ? (p) => process.stderr.write(`\r\x1b[K${progressLine(p, unit)}`) : undefined
    })
    if (tty) process.stderr.write('\r\x1b[K')
    if (json) process.stdout.write(jsonSummary(s) + '\n')
    else printSummary(s, (l) => process.stdout.write(l + '\n'))
    return exitCodeFor(s)
  } finally {
    process.off('SIGINT', onSigint)
    process.off('SIGTERM', onSigint)
  }
}

export function buildProgram(): Command {
  const program = new Command()
  program
    .name('batchery')
    .description('Run batch jobs over local folders: clean outputs, a report of every failed record, resumable runs.')
    .showHelpAfterError()
    .exitOverride()

  const home = new Option('--home <dir>', 'where Batchery keeps its database and logs (default: $BATCHERY_HOME or the app data folder)')

  program
    .command('run')
    .description('run a job file')
    .argument('<job.json>', 'the job file')
    .addOption(home)
    .option('--json', 'print one JSON object with the result, last')
    .option('--files <paths...>', 'run over these files only (like dropping them onto the job), wherever they are')
    .option('--dry-run', 'files jobs: print the exact command for each file, one per line, and run nothing')
    .action(async (file: string, opts: { home?: string; json?: boolean; files?: string[]; dryRun?: boolean }) => {
      if (opts.dryRun) {
        dryRun(file, opts.files?.map((f) => resolve(f)))
        return
      }
      const engine = openEngine(opts)
      try {
        const { loaded, warnings } = engine.checkJobFile(file)
        for (const w of warnings) process.stderr.write(`Note: ${w}\n`)
        const only = opts.files?.length
          ? { trigger: { kind: 'drop' as const, at: Date.now() }, selection: { kind: 'files' as const, paths: opts.files.map((f) => resolve(f)) } }
          : {}
        process.exitCode = await drive((o) => engine.runLoaded(loaded, { ...o, ...only }), opts.json === true, loaded.job.kind)
      } finally {
        engine.close()
      }
    })

  program
    .command('check')
    .description('check a job file against its inputs without running it')
    .argument('<job.json>', 'the job file')
    .action((file: string) => {
      const { loaded, warnings } = checkJobFile(file)
      for (const w of warnings) process.stdout.write(`Note: ${w}\n`)
      process.stdout.write(`${loaded.sourceFile}: the job "${loaded.job.name}" is valid.\n`)
    })

  program
    .command('resume')
    .description('finish an interrupted run')
    .argument('<runId>', 'the run to resume')
    .addOption(home)
    .option('--json', 'print one JSON object with the result, last')
    .action(async (runId: string, opts: { home?: string; json?: boolean }) => {
      const engine = openEngine(opts)
      try {
        process.exitCode = await drive((o) => engine.resume(runId, o), opts.json === true, engine.runSummary(runId).kind ?? 'records')
      } finally {
        engine.close()
      }
    })

  program
    .command('runs')
    .description('list runs, newest first')
    .addOption(home)
    .option('--json', 'print a JSON array')
    .option('--limit <n>', 'how many runs', '50')
    .action((opts: { home?: string; json?: boolean; limit: string }) => {
      const engine = openEngine(opts)
      try {
        const runs = engine.store.runs(Number(opts.limit))
        const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString())
        const rows = runs.map((r) => ({
          runId: r.id,
          job: r.job,
          status: r.status,
          startedAt: iso(r.started_at),
          finishedAt: iso(r.finished_at),
          counts: { in: r.records_in, out: r.records_out - r.deduped, filtered: r.filtered, deduped: r.deduped, failed: r.failed }
        }))
        if (opts.json) {
          process.stdout.write(JSON.stringify(rows, null, 2) + '\n')
          return
        }
        if (!rows.length) {
          process.stdout.write('No runs yet.\n')
          return
        }
        for (const r of rows) {
          process.stdout.write(
            `${r.runId}  ${r.job.padEnd(20)}  ${r.status.padEnd(11)}  ${(r.startedAt ?? '').replace('T', ' ').slice(0, 19)}  in ${fmt.format(r.counts.in)}  out ${fmt.format(r.counts.out)}  failed ${fmt.format(r.counts.failed)}\n`
          )
        }
      } finally {
        engine.close()
      }
    })

  program
    .command('report')
    .description('show the failed records of a run, grouped by error')
    .argument('<runId>', 'the run')
    .addOption(home)
    .option('--csv <file>', 'also write every failed record to a CSV file')
    .option('--joblog <file>', "files jobs: write the run's job log in GNU parallel's --joblog format (- for standard output)")
    .option('--item <n>', "files jobs: one file's command, exit code, runtime and the last 64 KiB of its output (n: its number in the job log)")
    .option('--json', 'print the groups as JSON')
    .action((runId: string, opts: { home?: string; csv?: string; json?: boolean; joblog?: string; item?: string }) => {
      const engine = openEngine(opts)
      try {
        const s = engine.runSummary(runId)
        if (opts.item !== undefined) {
          if (s.kind !== 'files') throw new UsageError(`Run ${runId} is a run of a records job; --item shows one file of a files job.`)
          const item = itemRows(engine.store.db, runId).find((r) => String(r.seq) === opts.item)
          if (!item) throw new UsageError(`Run ${runId} has no finished file number ${opts.item}; "batchery report ${runId} --joblog -" lists them.`)
          if (opts.json) {
            process.stdout.write(JSON.stringify(item, null, 2) + '\n')
            return
          }
          const status = item.ok ? 'done' : 'failed'
          const end = item.exit_code !== null ? `exit code ${item.exit_code}` : item.signal ? `stopped by ${item.signal}` : 'no exit code'
          process.stdout.write(`File ${item.seq}: ${status}, ${end}, ${duration(item.runtime_ms)}, ${item.attempts} attempt${item.attempts === 1 ? '' : 's'}\n$ ${item.command}\n`)
          for (const [label, text] of [['output', item.stdout_tail], ['error output', item.stderr_tail]] as const) {
            process.stdout.write(text ? `--- ${label} (last 64 KiB) ---\n${text}${text.endsWith('\n') ? '' : '\n'}` : `--- no ${label} ---\n`)
          }
          return
        }
        if (opts.joblog !== undefined) {
          if (s.kind !== 'files') throw new UsageError(`Run ${runId} is a run of a records job; the job log (--joblog) lists the commands of a files job.`)
          const text = joblog(engine.store, runId)
          if (opts.joblog === '-') {
            process.stdout.write(text)
            return
          }
          const target = resolve(opts.joblog)
          const tmp = join(dirname(target), `.${basename(target)}.partial`)
          writeFileSync(tmp, text)
          renameSync(tmp, target)
          process.stderr.write(`Wrote the job log of ${fmt.format(text.split('\n').length - 2)} files to ${target}\n`)
        }
        const groups = engine.store.failureGroups(runId)
        const unit = s.kind === 'files' ? 'files' : 'records'
        if (opts.json) {
          process.stdout.write(JSON.stringify({ runId, kind: s.kind ?? 'records', status: s.status, counts: s.counts, groups }, null, 2) + '\n')
        } else {
          process.stdout.write(`Run ${runId} of ${s.job}: ${s.status}. ${fmt.format(s.counts.failed)} of ${fmt.format(s.counts.in)} ${unit} failed.\n`)
          if (s.message) process.stdout.write(`${s.message}\n`)
          for (const g of groups) {
            process.stdout.write(`\n${fmt.format(g.count).padStart(8)}  ${g.code}  ${g.step}: ${g.pattern}\n`)
            process.stdout.write(`          first at ${g.sample_file}${g.sample_line ? `:${g.sample_line}` : ''}: ${g.message}\n`)
            process.stdout.write(`          ${oneLine(g.sample_raw)}\n`)
          }
          process.stdout.write(`\nRun log: ${runLogPath(engine.home, runId)}\n`)
        }
        if (opts.csv) {
          const n = writeFailuresCsv(engine, runId, resolve(opts.csv))
          process.stderr.write(`Wrote ${fmt.format(n)} failed records to ${resolve(opts.csv)}\n`)
        }
      } finally {
        engine.close()
      }
    })
  program
    .command('serve')
    .description('serve the Batchery app and its API on this machine (127.0.0.1) for a browser')
    .addOption(home)
    .option('--port <n>', 'port to listen on (default: any free port)', '0')
    .option('--no-schedule', "do not run the jobs' schedules and folder watches (another Batchery runs them)")
    .action(async (opts: { home?: string; port: string; schedule: boolean }) => {
      const engine = openEngine(opts)
      const log = engineLogger(engine.home)
      // Loaded for serve only: the server and its WebSocket library cost every other command ~0.15 s.
      const { startServer } = await import('../server/server')
      const server = await startServer({ engine, rendererDir: resolveRendererDir(), port: Number(opts.port), log })
      process.stdout.write(`Batchery is running. Open this address in your browser (it holds a private key; do not share it):\n  ${server.url}\n`)
      const scheduler = new Scheduler(engine, { log })
      if (opts.schedule) {
        try {
          scheduler.start()
        } catch (e) {
          if (!(e instanceof SchedulerBusyError)) throw e
          process.stdout.write(`Schedules: ${e.message}\n`)
        }
      }
      await new Promise<void>((resolveStop) => {
        const stop = (): void => {
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
          process.stderr.write('Stopping… running jobs can be resumed later.\n')
          resolveStop()
        }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      })
      await scheduler.stop()
      await engine.shutdown()
      await server.close()
      engine.close()
    })
  addScheduleCommands(program, home)
  return program
}

/** The built UI: out/renderer beside the CLI bundle's out/main. */
function resolveRendererDir(): string {
  const index = builtFile(import.meta.url, 'renderer/index.html')
  if (!index) throw new Error('The Batchery UI is not built: run "npm run build" first.')
  return dirname(index)
}

/**
 * `run --dry-run`: a files job's exact commands, one per line on standard output; nothing runs and
 * the home is not opened. A records job lists the input files a run would read.
 */
function dryRun(file: string, only: string[] | undefined): void {
  const { loaded, warnings } = checkJobFile(file)
  for (const w of warnings) process.stderr.write(`Note: ${w}\n`)
  const inputs = only?.length ? givenFiles(loaded.job, loaded.baseDir, only) : listInputFiles(loaded.job, loaded.baseDir)
  if (!isFilesJob(loaded)) {
    process.stderr.write(`--dry-run shows the commands of a files job; ${loaded.job.name} is a records job. A run would read these ${fmt.format(inputs.length)} files (the app's dry run previews its records):\n`)
    for (const f of inputs) process.stdout.write(`${f.relPath}\n`)
    return
  }
  process.stderr.write(`Dry run of ${loaded.job.name}: ${fmt.format(inputs.length)} files, nothing runs. {out} is shown as .batchery-staging/dry-run/<n>; a run puts its run id in place of dry-run.\n`)
  for (const c of plannedCommands(loaded, inputs)) process.stdout.write(`${c.command}\n`)
}

function oneLine(raw: string): string {
  const s = raw.replace(/\r?\n/g, '⏎')
  return s.length > 100 ? s.slice(0, 100) + '…' : s
}

function writeFailuresCsv(engine: Engine, runId: string, file: string): number {
  const columns = ['file', 'line', 'step', 'code', 'message', 'raw']
  const encode = recordEncoder('csv', columns, ',')
  const tmp = join(dirname(file), `.${basename(file)}.partial`)
  const fd = openSync(tmp, 'w')
  let n = 0
  try {
    writeSync(fd, csvHeaderLine(columns, ','))
    let chunk = ''
    for (const f of engine.store.failedRecords(runId)) {
      chunk += encode(f)
      n++
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk)
        chunk = ''
      }
    }
    writeSync(fd, chunk)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, file)
  return n
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : EXIT.usage
    }
    if (e instanceof InvalidJobError) {
      process.stderr.write(e.message + '\nNo run was started.\n')
      return EXIT.invalidJob
    }
    if (
      e instanceof RunNotFoundError ||
      e instanceof NotResumableError ||
      e instanceof DatabaseTooNewError ||
      e instanceof DatabaseCorruptError ||
      e instanceof ConflictError ||
      e instanceof JobNotFoundError ||
      e instanceof SchedulerBusyError ||
      e instanceof UsageError
    ) {
      process.stderr.write(e.message + '\n')
      return EXIT.error
    }
    process.stderr.write(`Batchery stopped on an unexpected error: ${(e as Error)?.stack ?? e}\n`)
    return EXIT.error
  }
}

// Run when executed as the CLI bundle (bin/batchery.js imports this module and calls main).
