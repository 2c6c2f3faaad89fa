// The scheduler: cron and interval triggers, folder watches, catch-up after sleep or a closed app,
// and one run of a job at a time. It is honest about time: every due time is written to SQLite
// (unique per job, trigger and time) before its run starts, and the due time and its run are
// recorded in one transaction, so a due time runs at most once however often the process dies.
// Plain Node: the daemon, the served UI and the desktop app's engine process all run this.
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import type { ScheduleView } from '../../shared/api'
import type { AnyJob } from '../../shared/job'
import type { Engine } from './engine'
import { ConflictError, ownerAlive } from './engine'
import type { LoadedJob } from './job-check'
import { loadJob } from './job-check'
import type { Logger } from './log'
import { isTerminal } from './run-states'
import { decideCatchUp, dueTimesBetween, graceMs, isTimeTrigger, nextDueTimes, stamp, timeTriggers, triggerKey, watchTrigger, type Due } from './schedule'
import type { RunRow, RunTrigger } from './store/store'
import { listInputFiles } from './inputs'
import { newOrChanged } from './selection'
import { FolderWatch } from './watch'

export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

export interface SchedulerOptions {
  clock?: Clock
  log?: Logger
  /** Wake at least this often (ms) to notice a clock jump or a wake from sleep. Default 30 s. */
  maxSleepMs?: number
  /** Automatically resume scheduled runs left interrupted by a process that died. Default true. */
  autoResume?: boolean
  /** Start folder watches. Default true. */
  watch?: boolean
}

export interface DueTimeRow {
  id: number
  job_id: number
  trigger_key: string
  due_at: number
  recorded_at: number
  missed: number
  status: 'due' | 'waiting' | 'started' | 'skipped' | 'missed'
  run_id: string | null
  note: string | null
}

/** The scheduler of this home is already running in another process. */
export class SchedulerBusyError extends Error {}

const LEASE_STALE_MS = 30_000

export class Scheduler {
  private readonly clock: Clock
  private readonly log?: Logger
  private timer: NodeJS.Timeout | null = null
  private leaseTimer: NodeJS.Timeout | null = null
  private running = false
  private stopped = false
  private readonly watches = new Map<string, FolderWatch>()
  /** Interrupted runs resumed automatically once by this scheduler (never in a loop). */
  private readonly autoResumed = new Set<string>()
  private offEvents: (() => void) | null = null
  private offJobs: (() => void) | null = null
  private jobsTimer: NodeJS.Timeout | null = null
  private jobsSignature = ''

  constructor(
    readonly engine: Engine,
    private readonly opts: SchedulerOptions = {}
  ) {
    this.clock = opts.clock ?? systemClock
    this.log = opts.log
    // A run's end may free its job for a waiting due time.
    this.offEvents = this.engine.on('run.stateChanged', (e) => {
      if (e.to && isTerminal(e.to)) setImmediate(() => !this.stopped && this.safeTick())
    })
  }

  private get db() {
    return this.engine.store.db
  }

  /** Take the home's scheduler lease and start: catch up, then wake for every due time. */
  start(): void {
    if (this.running) return
    this.acquireLease()
    this.running = true
    this.leaseTimer = setInterval(() => this.renewLease(), 5_000)
    this.leaseTimer.unref()
    // A job saved, enabled or disabled here (an event) or by another process (the CLI: seen in the
    // jobs table within a second) is looked at at once, so its first due times are never late.
    this.offJobs = this.engine.on('jobs.changed', () => setImmediate(() => this.running && this.safeTick()))
    this.jobsSignature = this.signature()
    this.jobsTimer = setInterval(() => {
      const sig = this.signature()
      if (sig !== this.jobsSignature) {
        this.jobsSignature = sig
        this.safeTick()
      }
    }, 1_000)
    this.jobsTimer.unref()
    this.safeTick()
  }

  async stop(): Promise<void> {
    this.running = false
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    if (this.leaseTimer) clearInterval(this.leaseTimer)
    if (this.jobsTimer) clearInterval(this.jobsTimer)
    this.offJobs?.()
    this.timer = null
    this.leaseTimer = null
    this.jobsTimer = null
    this.offEvents?.()
    this.offEvents = null
    await Promise.all([...this.watches.values()].map((w) => w.close()))
    this.watches.clear()
    this.db.prepare('DELETE FROM scheduler_lease WHERE owner_pid = ? AND owner_host = ?').run(process.pid, hostname())
  }

  /** Changes when a job is saved, deleted, enabled or disabled. */
  private signature(): string {
    const r = this.db.prepare('SELECT COUNT(*) AS n, TOTAL(enabled * id) AS e, TOTAL(current_version_id) AS v, TOTAL(COALESCE(deleted_at, 0)) AS d FROM jobs').get() as Record<string, number>
    return `${r.n}:${r.e}:${r.v}:${r.d}`
  }

  private acquireLease(): void {
    this.db.transaction(() => {
      const row = this.db.prepare('SELECT * FROM scheduler_lease WHERE id = 1').get() as { owner_pid: number; owner_host: string; heartbeat_at: number } | undefined
      if (row && !(row.owner_pid === process.pid && row.owner_host === hostname())) {
        const alive = ownerAlive({ owner_pid: row.owner_pid, owner_host: row.owner_host, heartbeat_at: row.heartbeat_at, created_at: row.heartbeat_at } as RunRow)
        if (alive && Date.now() - row.heartbeat_at < LEASE_STALE_MS) {
          throw new SchedulerBusyError(
            `Another Batchery (process ${row.owner_pid}${row.owner_host !== hostname() ? ` on ${row.owner_host}` : ''}) is already running the schedules of this home; stop it first.`
          )
        }
      }
      this.db
        .prepare('INSERT INTO scheduler_lease (id, owner_pid, owner_host, heartbeat_at) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET owner_pid = excluded.owner_pid, owner_host = excluded.owner_host, heartbeat_at = excluded.heartbeat_at')
        .run(process.pid, hostname(), Date.now())
    })()
  }

  private renewLease(): void {
    try {
      this.db.prepare('UPDATE scheduler_lease SET heartbeat_at = ? WHERE owner_pid = ? AND owner_host = ?').run(Date.now(), process.pid, hostname())
    } catch (e) {
      this.log?.warn('could not renew the scheduler lease', { error: (e as Error).message })
    }
  }

  private safeTick(): void {
    try {
      this.tick()
    } catch (e) {
      this.log?.error('scheduler tick failed', { error: (e as Error).message, stack: (e as Error).stack })
    }
    this.arm()
  }

  /** Sleep until the next due time (or maxSleepMs, to notice a wake from sleep or a clock change). */
  private arm(): void {
    if (!this.running || this.opts.clock) return
    if (this.timer) clearTimeout(this.timer)
    const now = this.clock.now()
    const next = this.nextWake(now)
    const delay = Math.max(10, Math.min(this.opts.maxSleepMs ?? 30_000, next - now))
    this.timer = setTimeout(() => this.safeTick(), delay)
    this.timer.unref?.()
  }

  private nextWake(now: number): number {
    let next = Number.POSITIVE_INFINITY
    for (const { job, jobId } of this.enabledJobs()) {
      for (const t of timeTriggers(job)) {
        const cur = this.cursorOf(jobId, triggerKey(t), now)
        const n = nextDueTimes(t, cur.anchor, Math.max(cur.cursor, now - 1), 1)[0]
        if (n !== undefined) next = Math.min(next, n)
      }
    }
    return next
  }

  /**
   * One wake-up: record every due time up to now (on time or missed), decide by the catch-up
   * policy, then start what may start. Safe to call at any moment; tests call it with a fake clock.
   */
  tick(): void {
    const now = this.clock.now()
    this.engine.recoverStaleRuns()
    const jobs = this.enabledJobs()
    for (const { jobId, job, name } of jobs) {
      this.recordDueTimes(jobId, job, now)
      this.resumeInterrupted(jobId, name)
      this.drain(jobId, job, name)
    }
    if (this.opts.watch !== false && !this.opts.clock) this.syncWatches(jobs)
  }

  enabledJobs(): { jobId: number; name: string; job: AnyJob; loaded: LoadedJob }[] {
    const out: { jobId: number; name: string; job: AnyJob; loaded: LoadedJob }[] = []
    for (const j of this.engine.store.jobs()) {
      if (!j.enabled) continue
      try {
        const loaded = loadJob(JSON.parse(j.version.definition), j.version.base_dir, j.version.source_file)
        out.push({ jobId: j.id, name: j.name, job: loaded.job, loaded })
      } catch (e) {
        this.log?.warn('a scheduled job cannot be loaded', { job: j.name, error: (e as Error).message })
      }
    }
    return out
  }

  private cursorOf(jobId: number, key: string, now: number): { anchor: number; cursor: number } {
    this.db.prepare('INSERT OR IGNORE INTO schedule_cursors (job_id, trigger_key, anchor, cursor) VALUES (?, ?, ?, ?)').run(jobId, key, now, now)
    return this.db.prepare('SELECT anchor, cursor FROM schedule_cursors WHERE job_id = ? AND trigger_key = ?').get(jobId, key) as { anchor: number; cursor: number }
  }

  /** Due times since the cursor, recorded with the cursor's move in one transaction. */
  private recordDueTimes(jobId: number, job: AnyJob, now: number): void {
    this.db.transaction(() => {
      const dues: Due[] = []
      for (const t of timeTriggers(job)) {
        const key = triggerKey(t)
        const cur = this.cursorOf(jobId, key, now)
        if (now <= cur.cursor) continue
        for (const d of dueTimesBetween(t, cur.anchor, cur.cursor, now)) {
          dues.push({ triggerKey: key, dueAt: d, missed: now - d > graceMs(t, cur.anchor, d) })
        }
        this.db.prepare('UPDATE schedule_cursors SET cursor = ? WHERE job_id = ? AND trigger_key = ?').run(now, jobId, key)
      }
      if (!dues.length) return
      const insert = this.db.prepare(
        'INSERT OR IGNORE INTO due_times (job_id, trigger_key, due_at, recorded_at, missed, status, note) VALUES (?, ?, ?, ?, ?, ?, ?)'
      )
      for (const d of decideCatchUp(dues, job.catchUp, job.catchUpLimit)) {
        insert.run(jobId, d.triggerKey, d.dueAt, now, d.missed ? 1 : 0, d.run ? 'due' : 'missed', d.note)
      }
      const missed = dues.filter((d) => d.missed).length
      if (missed) this.log?.info('missed due times found', { job: job.name, missed, catchUp: job.catchUp })
    })()
  }

  /** A scheduled run whose process died is finished once, automatically, before anything new starts. */
  private resumeInterrupted(jobId: number, name: string): void {
    if (this.opts.autoResume === false) return
    const rows = this.db
      .prepare("SELECT * FROM runs WHERE job_id = ? AND status = 'interrupted' AND trigger IS NOT NULL AND json_extract(trigger, '$.kind') <> 'manual' ORDER BY created_at")
      .all(jobId) as RunRow[]
    for (const r of rows) {
      if (this.autoResumed.has(r.id) || this.engine.activeRunOf(jobId)) continue
      this.autoResumed.add(r.id)
      try {
        this.engine.resumeRun(r.id)
        this.log?.info('resumed an interrupted scheduled run', { job: name, runId: r.id })
      } catch (e) {
        this.log?.warn('could not resume an interrupted scheduled run', { job: name, runId: r.id, error: (e as Error).message })
      }
    }
  }

  /** Start the oldest due time when the job is free; else apply the overlap policy. */
  private drain(jobId: number, job: AnyJob, name: string): void {
    const open = this.db.prepare("SELECT * FROM due_times WHERE job_id = ? AND status IN ('due', 'waiting') ORDER BY due_at, id").all(jobId) as DueTimeRow[]
    if (!open.length) return
    const busy = this.engine.activeRunOf(jobId)
    if (busy) {
      const set = this.db.prepare('UPDATE due_times SET status = ?, note = ? WHERE id = ?')
      for (const d of open) {
        if (d.status === 'waiting') continue
        if (d.trigger_key === 'watch') {
          // New files are never dropped: they wait for the running run, whatever the policy.
          set.run('waiting', `waiting for the run ${busy.id} to finish`, d.id)
          continue
        }
        if (job.overlap === 'skip') {
          set.run('skipped', `not run: the run ${busy.id} was still going (overlap is "skip")`, d.id)
        } else {
          set.run('waiting', `waiting for the run ${busy.id} to finish (overlap is "${job.overlap}")`, d.id)
          if (job.overlap === 'cancel' && this.engine.activeRunIds.includes(busy.id)) {
            try {
              this.engine.cancel(busy.id)
              this.log?.info('cancelled the older run for a new due time', { job: name, runId: busy.id })
            } catch {
              // it ended meanwhile
            }
          }
        }
      }
      // A queue is bounded: the oldest waiting times beyond the catch-up limit are let go.
      const waiting = this.db.prepare("SELECT id FROM due_times WHERE job_id = ? AND status = 'waiting' ORDER BY due_at DESC, id DESC").all(jobId) as { id: number }[]
      for (const w of waiting.slice(job.catchUpLimit).filter((x) => !isWatchDue(this.db, x.id))) set.run('skipped', `not run: more than ${job.catchUpLimit} due times were waiting (catchUpLimit)`, w.id)
      return
    }
    // Oldest first; a due time with nothing to do lets the next one go.
    for (const d of open) if (this.startDue(d, job, name)) break
  }

  /** True when a run started (the job is busy now). */
  private startDue(d: DueTimeRow, job: AnyJob, name: string): boolean {
    const kind = d.trigger_key.startsWith('cron:') ? 'cron' : d.trigger_key.startsWith('every:') ? 'every' : 'watch'
    const trigger: RunTrigger = kind === 'watch' ? { kind: 'watch', at: d.due_at, dueId: d.id } : { kind, dueAt: d.due_at, dueId: d.id, missed: d.missed === 1 }
    const selection = kind === 'watch' ? watchSelection(this.db, d.id) : job.incremental ? { kind: 'incremental' as const } : null
    if (selection?.kind === 'incremental') {
      const j = this.engine.store.job(name)
      let nothingNew = false
      try {
        nothingNew = j !== undefined && newOrChanged(this.db, j.id, listInputFiles(job, j.version.base_dir)).length === 0
      } catch {
        // an unreadable input folder: the run says so
      }
      if (nothingNew) {
        this.db.prepare("UPDATE due_times SET status = 'skipped', note = ? WHERE id = ? AND status IN ('due', 'waiting')").run('nothing to do: no new or changed input files', d.id)
        return false
      }
    }
    try {
      this.engine.startRun(name, undefined, {
        trigger,
        selection,
        canStart: () => {
          const row = this.db.prepare('SELECT status FROM due_times WHERE id = ?').get(d.id) as { status: string } | undefined
          return row?.status === 'due' || row?.status === 'waiting'
        },
        onCreated: (runId) => {
          this.db
            .prepare("UPDATE due_times SET status = 'started', run_id = ?, note = CASE WHEN trigger_key = 'watch' THEN ? ELSE ? END WHERE id = ?")
            .run(runId, `${watchSelection(this.db, d.id).paths.length} new or changed file(s)`, d.missed ? 'missed; run late (catch-up)' : null, d.id)
        }
      })
      this.log?.info('scheduled run started', { job: name, due: stamp(d.due_at), trigger: d.trigger_key })
      return true
    } catch (e) {
      if (e instanceof ConflictError) return true
      this.db.prepare("UPDATE due_times SET status = 'skipped', note = ? WHERE id = ?").run(`not run: ${(e as Error).message}`, d.id)
      this.log?.warn('a due time could not start its run', { job: name, error: (e as Error).message })
      return false
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Folder watches

  private syncWatches(jobs: { jobId: number; name: string; job: AnyJob; loaded: LoadedJob }[]): void {
    const wanted = new Map<string, (typeof jobs)[number]>()
    for (const j of jobs) if (watchTrigger(j.job)) wanted.set(`${j.jobId}:${j.loaded.hash}`, j)
    for (const [key, w] of this.watches) {
      if (!wanted.has(key)) {
        void w.close()
        this.watches.delete(key)
      }
    }
    for (const [key, j] of wanted) {
      if (this.watches.has(key)) continue
      const t = watchTrigger(j.job) as { settle?: string }
      const w = new FolderWatch({
        db: this.db,
        jobId: j.jobId,
        loaded: j.loaded,
        settle: t.settle ?? '5s',
        isBusy: () => this.engine.activeRunOf(j.jobId) !== undefined || this.hasOpenDue(j.jobId),
        fire: (paths) => this.fireWatch(j.jobId, j.job, j.name, paths),
        log: this.log
      })
      this.watches.set(key, w)
      w.start()
    }
  }

  private hasOpenDue(jobId: number): boolean {
    return this.db.prepare("SELECT 1 FROM due_times WHERE job_id = ? AND status IN ('due', 'waiting') LIMIT 1").get(jobId) !== undefined
  }

  /** Settled new files: one due time that holds exactly these files, then the usual start. */
  private fireWatch(jobId: number, job: AnyJob, name: string, paths: string[]): void {
    const now = Date.now()
    this.db.transaction(() => {
      const r = this.db
        .prepare("INSERT OR IGNORE INTO due_times (job_id, trigger_key, due_at, recorded_at, missed, status, note, files) VALUES (?, 'watch', ?, ?, 0, 'due', ?, ?)")
        .run(jobId, now, now, `${paths.length} new or changed file${paths.length === 1 ? '' : 's'}`, JSON.stringify(paths.map((p) => resolve(p))))
      if (!r.changes) return
    })()
    this.log?.info('new files settled in a watched folder', { job: name, files: paths.length })
    this.drain(jobId, job, name)
  }

  // ---------------------------------------------------------------------------------------------
  // What the UI and the CLI show

  /** A job's schedule: next due times per trigger, the latest due times with what happened, the ledger. */
  view(name: string, opts: { next?: number; recent?: number; now?: number } = {}): ScheduleView {
    const j = this.engine.store.job(name)
    if (!j) throw new ConflictError(`There is no job named "${name}".`)
    const loaded = loadJob(JSON.parse(j.version.definition), j.version.base_dir, j.version.source_file)
    return scheduleView(this.engine, j.id, loaded.job, opts.now ?? this.clock.now(), opts)
  }
}

function isWatchDue(db: Engine['store']['db'], id: number): boolean {
  return (db.prepare('SELECT trigger_key FROM due_times WHERE id = ?').get(id) as { trigger_key: string } | undefined)?.trigger_key === 'watch'
}

/** The files a watch due time holds. */
function watchSelection(db: Engine['store']['db'], dueId: number): { kind: 'files'; paths: string[] } {
  const row = db.prepare('SELECT files FROM due_times WHERE id = ?').get(dueId) as { files: string | null } | undefined
  return { kind: 'files', paths: row?.files ? (JSON.parse(row.files) as string[]) : [] }
}

export function triggerLabel(key: string): string {
  if (key.startsWith('cron:')) {
    const [expr, tz] = key.slice(5).split('@')
    return `cron "${expr}"${tz ? ` (${tz})` : ''}`
  }
  if (key.startsWith('every:')) {
    const ms = Number(key.slice(6))
    const units: [number, string][] = [[3_600_000, 'h'], [60_000, 'min'], [1000, 's']]
    for (const [u, name] of units) if (ms % u === 0) return `every ${ms / u} ${name}`
    return `every ${ms} ms`
  }
  return 'when files land in the input folder'
}

export function scheduleView(engine: Engine, jobId: number, job: AnyJob, now: number, opts: { next?: number; recent?: number } = {}): ScheduleView {
  const db = engine.store.db
  const enabled = (db.prepare('SELECT enabled FROM jobs WHERE id = ?').get(jobId) as { enabled: number } | undefined)?.enabled === 1
  const triggers = job.triggers.map((t) => {
    const key = triggerKey(t)
    let next: number[] = []
    if (enabled && isTimeTrigger(t)) {
      const cur = db.prepare('SELECT anchor, cursor FROM schedule_cursors WHERE job_id = ? AND trigger_key = ?').get(jobId, key) as { anchor: number; cursor: number } | undefined
      next = nextDueTimes(t, cur?.anchor ?? now, Math.max(cur?.cursor ?? now, now), opts.next ?? 3)
    }
    return { key, label: triggerLabel(key), next }
  })
  const rows = db
    .prepare(
      `SELECT d.*, r.status AS run_status FROM due_times d LEFT JOIN runs r ON r.id = d.run_id
       WHERE d.job_id = ? ORDER BY d.due_at DESC, d.id DESC LIMIT ?`
    )
    .all(jobId, opts.recent ?? 50) as (DueTimeRow & { run_status: string | null })[]
  const ledger = db
    .prepare('SELECT * FROM ledger WHERE job_id = ? ORDER BY processed_at DESC, rel_path LIMIT 200')
    .all(jobId) as { rel_path: string; size: number; mtime_ms: number; sha256: string; run_id: string; processed_at: number; archived_to: string | null }[]
  const ledgerTotal = (db.prepare('SELECT COUNT(*) AS n FROM ledger WHERE job_id = ?').get(jobId) as { n: number }).n
  return {
    job: job.name,
    enabled,
    triggers,
    catchUp: job.catchUp,
    overlap: job.overlap,
    incremental: job.incremental,
    dueTimes: rows.map((d) => ({
      dueAt: d.due_at,
      trigger: triggerLabel(d.trigger_key),
      status: d.status,
      missed: d.missed === 1,
      runId: d.run_id,
      runStatus: d.run_status as ScheduleView['dueTimes'][number]['runStatus'],
      note: d.note
    })),
    ledger: ledger.map((l) => ({ relPath: l.rel_path, size: l.size, mtimeMs: l.mtime_ms, sha256: l.sha256, runId: l.run_id, processedAt: l.processed_at, archivedTo: l.archived_to })),
    ledgerTotal
  }
}

/** Turn a job's schedule on or off. Turning it on starts its clock now: nothing before counts as missed. */
export function setJobEnabled(engine: Engine, name: string, enabled: boolean, now = Date.now()): void {
  const db = engine.store.db
  const j = engine.store.job(name)
  if (!j) throw new ConflictError(`There is no job named "${name}".`)
  db.transaction(() => {
    db.prepare('UPDATE jobs SET enabled = ? WHERE id = ?').run(enabled ? 1 : 0, j.id)
    if (enabled) {
      db.prepare('DELETE FROM schedule_cursors WHERE job_id = ?').run(j.id)
      const loaded = loadJob(JSON.parse(j.version.definition), j.version.base_dir, j.version.source_file)
      const ins = db.prepare('INSERT OR IGNORE INTO schedule_cursors (job_id, trigger_key, anchor, cursor) VALUES (?, ?, ?, ?)')
      for (const t of timeTriggers(loaded.job)) ins.run(j.id, triggerKey(t), now, now)
    }
  })()
  engine.store.onJobsChanged?.(name)
}
