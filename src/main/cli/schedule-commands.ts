// The CLI's scheduling commands: jobs add/list/show/enable/disable, the daemon, and backfills.
import { resolve } from 'node:path'
import type { Command, Option } from 'commander'
import { parseDurationMs } from '../../shared/job'
import type { Engine } from '../engine/engine'
import { listInputFiles } from '../engine/inputs'
import { loadJob } from '../engine/job-check'
import { engineLogger, type Logger } from '../engine/log'
import { isTerminal } from '../engine/run-states'
import { stamp } from '../engine/schedule'
import { Scheduler, scheduleView, setJobEnabled } from '../engine/scheduler'
import { drive, EXIT, openEngine, printSummary, UsageError } from './index'

const fmt = new Intl.NumberFormat('en-US')
const out = (line: string): void => void process.stdout.write(line + '\n')

export function addScheduleCommands(program: Command, home: Option): void {
  const jobs = program.command('jobs').description('the jobs saved in this home and their schedules')

  jobs
    .command('add')
    .description('save a job file in this home and turn its schedule on')
    .argument('<job.json>', 'the job file')
    .addOption(home)
    .option('--disabled', 'save it with its schedule off')
    .action((file: string, opts: { home?: string; disabled?: boolean }) => {
      const engine = openEngine(opts)
      try {
        const { loaded, warnings } = engine.checkJobFile(file)
        for (const w of warnings) process.stderr.write(`Note: ${w}\n`)
        const v = engine.store.saveJobVersion(loaded.job.name, loaded.hash, loaded.definition, loaded.baseDir, loaded.sourceFile)
        setJobEnabled(engine, loaded.job.name, !opts.disabled)
        out(`Saved "${loaded.job.name}" (version ${v.version}) from ${loaded.sourceFile}.`)
        printSchedule(engine, loaded.job.name, { recent: 0 })
        if (!opts.disabled && loaded.job.triggers.length) out('Schedules run while "batchery daemon" (or the desktop app) is running.')
      } finally {
        engine.close()
      }
    })

  jobs
    .command('list')
    .description('list the saved jobs with their triggers and next due time')
    .addOption(home)
    .option('--json', 'print a JSON array')
    .action((opts: { home?: string; json?: boolean }) => {
      const engine = openEngine(opts)
      try {
        const now = Date.now()
        const rows = engine.store.jobs().map((j) => {
          const loaded = loadJob(JSON.parse(j.version.definition), j.version.base_dir, j.version.source_file)
          const v = scheduleView(engine, j.id, loaded.job, now, { next: 1, recent: 5 })
          const last = engine.store.lastRun(j.id)
          const next = v.triggers.flatMap((t) => t.next).sort((a, b) => a - b)[0] ?? null
          return {
            name: j.name,
            version: j.version.version,
            enabled: v.enabled,
            triggers: v.triggers.map((t) => t.label),
            nextDueAt: next,
            missed: v.dueTimes.filter((d) => d.status === 'missed').length,
            lastRun: last ? { runId: last.id, status: last.status } : null
          }
        })
        if (opts.json) {
          out(JSON.stringify(rows.map((r) => ({ ...r, nextDueAt: r.nextDueAt === null ? null : new Date(r.nextDueAt).toISOString() })), null, 2))
          return
        }
        if (!rows.length) {
          out('No saved jobs. Add one with: batchery jobs add <job.json>')
          return
        }
        for (const r of rows) {
          const schedule = r.triggers.length ? (r.enabled ? 'on ' : 'off') : '-  '
          const next = r.enabled && r.nextDueAt !== null ? `next ${stamp(r.nextDueAt)}` : ''
          const last = r.lastRun ? `last ${r.lastRun.status}` : 'never run'
          out(`${r.name.padEnd(24)} v${String(r.version).padEnd(3)} schedule ${schedule}  ${(r.triggers.join('; ') || 'manual only').padEnd(40)}  ${next.padEnd(22)}  ${last}`)
        }
      } finally {
        engine.close()
      }
    })

  jobs
    .command('show')
    .description("show a job's schedule: next due times, recent due times and what happened to each, the ledger")
    .argument('<name>', 'the job')
    .addOption(home)
    .option('--json', 'print JSON')
    .action((name: string, opts: { home?: string; json?: boolean }) => {
      const engine = openEngine(opts)
      try {
        if (opts.json) {
          const j = requireJob(engine, name)
          const loaded = loadJob(JSON.parse(j.version.definition), j.version.base_dir, j.version.source_file)
          out(JSON.stringify(scheduleView(engine, j.id, loaded.job, Date.now(), { next: 5, recent: 100 }), null, 2))
          return
        }
        printSchedule(engine, name, { recent: 20, ledger: 20 })
      } finally {
        engine.close()
      }
    })

  for (const [cmd, on] of [['enable', true], ['disable', false]] as const) {
    jobs
      .command(cmd)
      .description(on ? "turn a job's schedule on (due times from now on)" : "turn a job's schedule off")
      .argument('<name>', 'the job')
      .addOption(home)
      .action((name: string, opts: { home?: string }) => {
        const engine = openEngine(opts)
        try {
          requireJob(engine, name)
          setJobEnabled(engine, name, on)
          out(`The schedule of "${name}" is ${on ? 'on' : 'off'}.`)
          if (on) printSchedule(engine, name, { recent: 0 })
        } finally {
          engine.close()
        }
      })
  }

  program
    .command('daemon')
    .description('run every enabled schedule and folder watch of this home until stopped (Ctrl+C or SIGTERM)')
    .addOption(home)
    .action(async (opts: { home?: string }) => {
      const engine = openEngine(opts)
      const log = daemonLogger(engine.home)
      const scheduler = new Scheduler(engine, { log })
      const offEvents = engine.on('run.stateChanged', (e) => {
        if (e.to && isTerminal(e.to)) {
          const s = engine.runSummary(e.runId)
          printSummary(s, (l) => out(`[${stamp(Date.now())}] ${l}`))
        } else if (e.to === 'running' && e.from !== 'paused') {
          out(`[${stamp(Date.now())}] ${e.job}: run ${e.runId} started`)
        } else if (e.to === 'interrupted') {
          out(`[${stamp(Date.now())}] ${e.job}: run ${e.runId} interrupted: ${e.message ?? ''}`)
        }
      })
      scheduler.start()
      const enabled = scheduler.enabledJobs()
      out(`Batchery daemon (process ${process.pid}) is running the schedules of ${engine.home}`)
      if (!enabled.length) out('  No job has its schedule on. Add one with: batchery jobs add <job.json>')
      for (const j of enabled) {
        const v = scheduleView(engine, j.jobId, j.job, Date.now(), { next: 1, recent: 0 })
        const next = v.triggers.flatMap((t) => t.next).sort((a, b) => a - b)[0]
        out(`  ${j.name}: ${v.triggers.map((t) => t.label).join('; ') || 'no triggers'}${next ? `; next at ${stamp(next)}` : ''}`)
      }
      // The scheduler's timers do not keep a process alive; the daemon is meant to stay.
      const keepAlive = setInterval(() => {}, 1 << 30)
      await new Promise<void>((resolveStop) => {
        const stop = (): void => {
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
          clearInterval(keepAlive)
          out('Stopping… runs in progress stop at their next checkpoint and are resumed when the daemon starts again.')
          resolveStop()
        }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      })
      await scheduler.stop()
      await engine.shutdown()
      offEvents()
      engine.close()
    })

  program
    .command('backfill')
    .description('re-run a job over past inputs: files modified in a date range (one run per day), or the inputs of chosen runs')
    .argument('<name>', 'the saved job')
    .addOption(home)
    .option('--from <date>', 'files modified on or after this day (YYYY-MM-DD)')
    .option('--to <date>', 'files modified on or before this day (YYYY-MM-DD)')
    .option('--runs <ids>', 'the inputs of these runs, one run each (comma-separated run ids)')
    .option('--dry-run', 'show what would run, run nothing')
    .option('--throttle <duration>', 'wait this long between runs, like "30s"', '0s')
    .option('--json', 'print the items as JSON')
    .action(async (name: string, opts: { home?: string; from?: string; to?: string; runs?: string; dryRun?: boolean; throttle: string; json?: boolean }) => {
      const engine = openEngine(opts)
      try {
        const j = requireJob(engine, name)
        const loaded = loadJob(JSON.parse(j.version.definition), j.version.base_dir, j.version.source_file)
        const items = backfillItems(engine, loaded, opts)
        let throttleMs: number
        try {
          throttleMs = parseDurationMs(opts.throttle === '0' ? '0s' : opts.throttle)
        } catch {
          throw new UsageError(`--throttle: "${opts.throttle}" is not a duration like "30s" or "5m".`)
        }
        if (opts.dryRun || opts.json) {
          if (opts.json) out(JSON.stringify({ dryRun: opts.dryRun === true, items }, null, 2))
          else {
            out(`Backfill of "${name}": ${items.length} run${items.length === 1 ? '' : 's'} would start${throttleMs ? `, ${opts.throttle} apart` : ''}:`)
            for (const [i, it] of items.entries()) {
              out(`  ${i + 1}. ${it.label}: ${it.files.length} file${it.files.length === 1 ? '' : 's'}, ${(it.bytes / 1e6).toFixed(1)} MB`)
              for (const f of it.files.slice(0, 5)) out(`       ${f}`)
              if (it.files.length > 5) out(`       … and ${it.files.length - 5} more`)
            }
          }
          if (opts.dryRun) return
        }
        if (!items.length) {
          out('Nothing to backfill: no input files match.')
          return
        }
        let worst: number = EXIT.succeeded
        for (const [i, it] of items.entries()) {
          if (i > 0 && throttleMs) await new Promise((r) => setTimeout(r, throttleMs))
          out(`Backfill ${i + 1}/${items.length} (${it.label}), ${it.files.length} file${it.files.length === 1 ? '' : 's'}:`)
          const code = await drive(
            (o) => engine.runLoaded(loaded, { ...o, trigger: { kind: 'backfill', at: Date.now(), label: it.label }, selection: { kind: 'files', paths: it.files } }),
            false
          )
          if (code !== EXIT.succeeded) worst = worst === EXIT.succeeded ? code : Math.max(worst, code)
          if (code === EXIT.interrupted) {
            out(`Stopped; ${items.length - i - 1} backfill run${items.length - i - 1 === 1 ? '' : 's'} not started.`)
            break
          }
        }
        process.exitCode = worst
      } finally {
        engine.close()
      }
    })
}

interface BackfillItem {
  label: string
  files: string[]
  bytes: number
}

function backfillItems(engine: Engine, loaded: ReturnType<typeof loadJob>, opts: { from?: string; to?: string; runs?: string }): BackfillItem[] {
  if (opts.runs) {
    if (opts.from || opts.to) throw new UsageError('Give either --runs or --from/--to, not both.')
    return opts.runs
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((id) => {
        const run = engine.requireRun(id)
        if (run.job_id !== engine.store.job(loaded.job.name)?.id) throw new UsageError(`Run ${id} is not a run of "${loaded.job.name}".`)
        const files = engine.store.files(id)
        return { label: `inputs of run ${id}`, files: files.map((f) => resolve(f.path)), bytes: files.reduce((s, f) => s + f.size, 0) }
      })
  }
  if (!opts.from && !opts.to) throw new UsageError('Say what to backfill: --from and --to (modified dates), or --runs.')
  const from = opts.from ? dayStart(opts.from, '--from') : Number.NEGATIVE_INFINITY
  const to = opts.to ? dayStart(opts.to, '--to') + 86_400_000 : Number.POSITIVE_INFINITY
  if (to <= from) throw new UsageError('--to is before --from.')
  const byDay = new Map<string, BackfillItem>()
  for (const f of listInputFiles(loaded.job, loaded.baseDir)) {
    if (f.mtimeMs < from || f.mtimeMs >= to) continue
    const day = stamp(f.mtimeMs).slice(0, 10)
    const item = byDay.get(day) ?? { label: `files modified on ${day}`, files: [], bytes: 0 }
    item.files.push(f.path)
    item.bytes += f.size
    byDay.set(day, item)
  }
  return [...byDay.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v)
}

function dayStart(text: string, flag: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  const t = m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime() : NaN
  if (!m || Number.isNaN(t)) throw new UsageError(`${flag}: "${text}" is not a day like 2026-11-28.`)
  return t
}

function requireJob(engine: Engine, name: string): NonNullable<ReturnType<Engine['store']['job']>> {
  const j = engine.store.job(name)
  if (!j) throw new UsageError(`There is no saved job named "${name}" in ${engine.home}. "batchery jobs list" lists them; "batchery jobs add <job.json>" adds one.`)
  return j
}

function printSchedule(engine: Engine, name: string, opts: { recent: number; ledger?: number }): void {
  const j = requireJob(engine, name)
  const loaded = loadJob(JSON.parse(j.version.definition), j.version.base_dir, j.version.source_file)
  const v = scheduleView(engine, j.id, loaded.job, Date.now(), { next: 3, recent: opts.recent || 1 })
  if (!v.triggers.length) {
    out(`"${name}" has no triggers: it runs when you run it (add "triggers" to the job file to schedule it).`)
  } else {
    out(`Schedule of "${name}": ${v.enabled ? 'on' : 'off'} · catch-up ${v.catchUp} · overlap ${v.overlap}${v.incremental ? ' · only new or changed files' : ''}`)
    for (const t of v.triggers) out(`  ${t.label}${t.next.length ? `: next ${t.next.map(stamp).join(', ')}` : ''}`)
  }
  if (opts.recent) {
    const rows = v.dueTimes.slice(0, opts.recent)
    out(rows.length ? 'Due times, newest first:' : 'No due times yet.')
    for (const d of rows) {
      const what = d.runId ? `run ${d.runId}${d.runStatus ? ` (${d.runStatus})` : ''}` : d.status
      out(`  ${stamp(d.dueAt).padEnd(19)}  ${d.trigger.padEnd(28)}  ${what}${d.note ? `  ${d.note}` : ''}`)
    }
  }
  if (opts.ledger) {
    out(`Ledger: ${fmt.format(v.ledgerTotal)} input file version${v.ledgerTotal === 1 ? '' : 's'} processed`)
    for (const l of v.ledger.slice(0, opts.ledger)) {
      out(`  ${l.relPath.padEnd(32)} ${fmt.format(l.size).padStart(12)} B  modified ${stamp(l.mtimeMs)}  by run ${l.runId}${l.archivedTo ? `  archived to ${l.archivedTo}` : ''}`)
    }
  }
}

/** The daemon writes plain lines on stdout and its full log to the home's engine log. */
function daemonLogger(home: string): Logger {
  const file = engineLogger(home)
  const logger: Logger = {
    child: () => logger,
    info: (msg, fields) => {
      file.info(msg, fields)
      out(`[${stamp(Date.now())}] ${msg}${fields ? ' ' + describe(fields) : ''}`)
    },
    warn: (msg, fields) => {
      file.warn(msg, fields)
      out(`[${stamp(Date.now())}] warning: ${msg}${fields ? ' ' + describe(fields) : ''}`)
    },
    error: (msg, fields) => {
      file.error(msg, fields)
      out(`[${stamp(Date.now())}] error: ${msg}${fields ? ' ' + describe(fields) : ''}`)
    }
  }
  return logger
}

function describe(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([k]) => k !== 'stack')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ')
}
