// The engine's composition root: plain Node, never imports electron. The CLI, the local server
// and the Electron app's engine process all drive a run through this.
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { EventName, Events } from '../../shared/api'
import type { FilesJob, JobProblem } from '../../shared/job'
import { archiveRunInputs } from './archive'
import { createLocalExecutor, type Executor } from './executor'
import { discardFilesStaging, executeFilesRun } from './files-runner'
import { checkJob, checkJobFile, InvalidJobError, isFilesJob, loadJob, type LoadedJob } from './job-check'
import { createLogger, runLogSink, type Logger } from './log'
import { isTerminal, type RunStatus } from './run-states'
import { executeRun, RunControl, summary, type RunProgress, type RunSummary } from './runner'
import { DatabaseCorruptError, maybeBackup, openDatabase } from './store/open-db'
import { Store, type RunRow, type RunSelection, type RunTrigger } from './store/store'

export interface EngineOptions {
  /** Replace the local worker pool (tests, or a distributed executor later). */
  createExecutor?: (threads: number, memoryLimitMb?: number) => Executor
}

export interface RunOptions {
  trigger?: RunTrigger
  selection?: RunSelection | null
  onProgress?: (p: RunProgress) => void
  stop?: AbortSignal
  control?: RunControl
}

type Listener<E extends EventName> = (payload: Events[E]) => void

export interface LaunchOptions {
  trigger?: RunTrigger
  selection?: RunSelection | null
  /** Asked inside the transaction that creates the run; false: do not start it. */
  canStart?: () => boolean
  /** Called in the same transaction once the run row exists: a due time and its run are recorded together or not at all. */
  onCreated?: (runId: string) => void
}

/** A run's owner is presumed dead when its heartbeat is older than this. */
const STALE_HEARTBEAT_MS = 30_000

export class Engine {
  readonly store: Store
  readonly createExecutor: (threads: number, memoryLimitMb?: number) => Executor
  private readonly emitter = new EventEmitter()
  /** Runs this engine is executing now, by id. */
  private readonly active = new Map<string, { control: RunControl; done: Promise<RunSummary> }>()

  constructor(readonly home: string, opts: EngineOptions = {}) {
    mkdirSync(home, { recursive: true })
    const dbFile = join(home, 'batchery.db')
    this.store = new Store(openDatabase(dbFile))
    try {
      maybeBackup(this.store.db, dbFile)
    } catch (e) {
      // A backup that cannot be written (a full disk, say) must not keep Batchery from starting.
      if (e instanceof DatabaseCorruptError) throw e
    }
    this.createExecutor = opts.createExecutor ?? ((threads, memoryLimitMb) => createLocalExecutor({ threads, memoryLimitMb }))
    this.recoverStaleRuns()
    this.cleanStaging()
    this.finishArchiving()
    this.emitter.setMaxListeners(100)
    this.store.onMove = (runId, from, to, message) => {
      const run = this.store.run(runId)
      const job = run ? this.store.jobVersion(run.job_version_id).name : ''
      this.emit('run.stateChanged', { runId, job, from, to, message })
    }
    this.store.onJobsChanged = (name) => this.emit('jobs.changed', { name })
  }

  on<E extends EventName>(event: E, listener: Listener<E>): () => void {
    this.emitter.on(event, listener)
    return () => this.emitter.off(event, listener)
  }

  private emit<E extends EventName>(event: E, payload: Events[E]): void {
    this.emitter.emit(event, payload)
  }

  /**
   * Start a run in the background and return its id at once. Progress and state changes arrive
   * as events. `loaded` defaults to the job's current saved version.
   */
  startRun(name: string, loaded?: LoadedJob, opts: LaunchOptions = {}): string {
    const job = loaded ?? this.savedJob(name)
    const problems = checkJob(job).problems
    if (problems.length) throw new InvalidJobError(job.sourceFile, problems)
    const version = this.store.saveJobVersion(job.job.name, job.hash, job.definition, job.baseDir, job.sourceFile, loaded === undefined)
    const runId = newRunId()
    // One run of a job at a time: two runs would write the same outputs.
    const created = this.store.db.transaction(() => {
      this.refuseOverlap(version.job_id, job.job.name)
      if (opts.canStart && !opts.canStart()) return false
      this.store.createRun(runId, version, { trigger: opts.trigger, selection: opts.selection })
      opts.onCreated?.(runId)
      return true
    })()
    if (!created) throw new ConflictError('This due time has already been handled.')
    this.emit('run.stateChanged', { runId, job: job.job.name, from: null, to: 'queued', message: null })
    this.track(runId, job)
    return runId
  }

  private refuseOverlap(jobId: number, name: string, except?: string): void {
    const busy = this.activeRunOf(jobId)
    if (busy && busy.id !== except) throw new ConflictError(`${name} is already running (run ${busy.id}); wait for it to finish or cancel it.`)
  }

  /** The job's run that is queued, running or paused with a live owner, if any. */
  activeRunOf(jobId: number): RunRow | undefined {
    return this.store.activeRuns().find((r) => r.job_id === jobId && ownerAlive(r))
  }

  /** Runs of this engine in progress. */
  get activeRunIds(): string[] {
    return [...this.active.keys()]
  }

  private track(runId: string, loaded: LoadedJob): void {
    const control = new RunControl()
    const done = this.execute(runId, loaded, {
      control,
      onProgress: (p) => this.emit('run.progressed', p)
    }).finally(() => this.active.delete(runId))
    this.active.set(runId, { control, done })
  }

  /** Wait for a background run to end (tests, shutdown). */
  async settled(runId: string): Promise<RunSummary | undefined> {
    return this.active.get(runId)?.done
  }

  savedJob(name: string): LoadedJob {
    const j = this.store.job(name)
    if (!j) throw new JobNotFoundError(name)
    return loadJob(JSON.parse(j.version.definition), j.version.base_dir, j.version.source_file)
  }

  pause(runId: string): RunStatus {
    const a = this.active.get(runId)
    const run = this.requireRun(runId)
    if (!a || run.status !== 'running') throw new ConflictError(`Run ${runId} is ${run.status}; only a running run can be paused.`)
    this.store.move(runId, 'running', 'paused')
    a.control.pause()
    return 'paused'
  }

  /** Continue a paused run, or finish an interrupted one in the background. */
  resumeRun(runId: string): RunStatus {
    const run = this.requireRun(runId)
    const a = this.active.get(runId)
    if (a && run.status === 'paused') {
      this.store.move(runId, 'paused', 'running')
      a.control.resume()
      return 'running'
    }
    this.recoverStaleRuns()
    const fresh = this.requireRun(runId)
    if (fresh.status !== 'interrupted') throw new NotResumableError(runId, fresh.status)
    const version = this.store.jobVersion(fresh.job_version_id)
    this.refuseOverlap(fresh.job_id, version.name, runId)
    this.track(runId, loadJob(JSON.parse(version.definition), version.base_dir, version.source_file))
    return 'running'
  }

  cancel(runId: string): RunStatus {
    const run = this.requireRun(runId)
    const a = this.active.get(runId)
    if (a) {
      a.control.cancel()
      return 'cancelled'
    }
    if (run.status === 'interrupted' || run.status === 'queued') {
      // A files run moves each file's outputs into place as it goes: those stay.
      const files = this.filesJobOf(run)
      this.store.move(runId, run.status, 'cancelled', { message: files && run.records_out ? 'Cancelled. The files done before it stopped keep their outputs.' : 'Cancelled; nothing was written.' })
      rmSync(join(this.home, 'staging', runId), { recursive: true, force: true })
      if (files) discardFilesStaging(files, runId)
      return 'cancelled'
    }
    throw new ConflictError(`Run ${runId} is ${run.status}; it cannot be cancelled.`)
  }

  private filesJobOf(run: RunRow): LoadedJob<FilesJob> | null {
    const v = this.store.jobVersion(run.job_version_id)
    try {
      const loaded = loadJob(JSON.parse(v.definition), v.base_dir, v.source_file)
      return isFilesJob(loaded) ? loaded : null
    } catch {
      return null
    }
  }

  /** Interrupt every active run (they stay resumable) and wait for them to stop. */
  async shutdown(): Promise<void> {
    const running = [...this.active.values()]
    for (const a of running) a.control.stop()
    await Promise.allSettled(running.map((a) => a.done))
  }

  requireRun(runId: string): RunRow {
    const run = this.store.run(runId)
    if (!run) throw new RunNotFoundError(runId)
    return run
  }

  /** Archive moves that a crash cut short (the run committed, its inputs were not all moved yet). */
  private finishArchiving(): void {
    const runs = this.store.db
      .prepare(
        `SELECT DISTINCT l.run_id FROM ledger l JOIN runs r ON r.id = l.run_id JOIN job_versions v ON v.id = r.job_version_id
         WHERE l.archived_to IS NULL AND r.status IN ('succeeded', 'partial') AND r.finished_at > ? AND v.definition LIKE '%"archive"%'`
      )
      .all(Date.now() - 7 * 86_400_000) as { run_id: string }[]
    for (const { run_id } of runs) {
      const run = this.store.run(run_id)
      if (!run) continue
      const v = this.store.jobVersion(run.job_version_id)
      try {
        const loaded = loadJob(JSON.parse(v.definition), v.base_dir, v.source_file)
        if (loaded.job.archive) archiveRunInputs(this.store.db, run_id, loaded.job, loaded.baseDir)
      } catch {
        // a job version that no longer loads has nothing to archive
      }
    }
  }

  /** Staging left by runs that finished (or were killed right after committing) is removed. */
  private cleanStaging(): void {
    const root = join(this.home, 'staging')
    if (!existsSync(root)) return
    for (const runId of readdirSync(root)) {
      const run = this.store.run(runId)
      if (!run || isTerminal(run.status)) rmSync(join(root, runId), { recursive: true, force: true })
    }
  }

  /**
   * Runs that say they are running but whose owner process is gone (killed, crashed, machine
   * restarted) become interrupted, so the user can resume them.
   */
  recoverStaleRuns(): string[] {
    const recovered: string[] = []
    for (const run of this.store.activeRuns()) {
      if (ownerAlive(run)) continue
      if (this.store.move(run.id, run.status, 'interrupted', { message: 'The process running it stopped before it finished; resume it to finish.' })) {
        recovered.push(run.id)
      }
    }
    return recovered
  }

  /** Load and fully check a job file; throws InvalidJobError listing every problem. */
  checkJobFile(file: string): { loaded: LoadedJob; warnings: string[] } {
    return checkJobFile(file)
  }

  async runLoaded(loaded: LoadedJob, opts: RunOptions = {}): Promise<RunSummary> {
    const version = this.store.saveJobVersion(loaded.job.name, loaded.hash, loaded.definition, loaded.baseDir, loaded.sourceFile)
    const runId = newRunId()
    this.store.db.transaction(() => {
      this.refuseOverlap(version.job_id, loaded.job.name)
      this.store.createRun(runId, version, { trigger: opts.trigger, selection: opts.selection })
    })()
    return this.execute(runId, loaded, opts)
  }

  /** Finish an interrupted run with the job version it started with. */
  async resume(runId: string, opts: RunOptions = {}): Promise<RunSummary> {
    this.recoverStaleRuns()
    const run = this.store.run(runId)
    if (!run) throw new RunNotFoundError(runId)
    if (run.status !== 'interrupted') {
      throw new NotResumableError(runId, run.status)
    }
    const version = this.store.jobVersion(run.job_version_id)
    this.refuseOverlap(run.job_id, version.name, runId)
    const loaded = loadJob(JSON.parse(version.definition), version.base_dir, version.source_file)
    return this.execute(runId, loaded, opts)
  }

  private execute(runId: string, loaded: LoadedJob, opts: RunOptions): Promise<RunSummary> {
    if (this.active.has(runId) && !opts.control) throw new ConflictError(`Run ${runId} is already running.`)
    const sink = runLogSink(this.home, runId)
    const log: Logger = createLogger(sink, 'run')
    const archive = (s: RunSummary): RunSummary => {
      if (loaded.job.archive && (s.status === 'succeeded' || s.status === 'partial')) {
        try {
          archiveRunInputs(this.store.db, runId, loaded.job, loaded.baseDir, log)
        } catch (e) {
          log.warn('archiving the inputs failed', { error: (e as Error).message })
        }
      }
      return s
    }
    // A files job: each input file is one item, handled by a command or a module (files-runner.ts).
    if (isFilesJob(loaded)) {
      return executeFilesRun({ store: this.store, home: this.home, runId, loaded, log, onProgress: opts.onProgress, stop: opts.stop, control: opts.control }).then(archive)
    }
    return executeRun({
      store: this.store,
      home: this.home,
      runId,
      loaded,
      log,
      createExecutor: this.createExecutor,
      onProgress: opts.onProgress,
      stop: opts.stop,
      control: opts.control
    }).then(archive)
  }

  runSummary(runId: string): RunSummary {
    const run = this.store.run(runId)
    if (!run) throw new RunNotFoundError(runId)
    const version = this.store.jobVersion(run.job_version_id)
    const kind = (JSON.parse(version.definition) as { kind?: string }).kind === 'files' ? ('files' as const) : undefined
    return {
      ...summary(this.store, runId, version.name, run.started_at ?? run.created_at),
      durationMs: (run.finished_at ?? Date.now()) - (run.started_at ?? run.created_at),
      ...(kind ? { kind } : {})
    }
  }

  close(): void {
    this.store.db.close()
  }
}

export class JobNotFoundError extends Error {
  constructor(readonly jobName: string) {
    super(`There is no job named "${jobName}".`)
  }
}

/** The request conflicts with the run's or job's current state. */
export class ConflictError extends Error {}

export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`There is no run ${runId} in this Batchery home. "batchery runs" lists the runs.`)
  }
}

export class NotResumableError extends Error {
  constructor(
    readonly runId: string,
    readonly status: string
  ) {
    super(`Run ${runId} is ${status}; only interrupted runs can be resumed.`)
  }
}

export function ownerAlive(run: RunRow): boolean {
  if (run.owner_pid === null) {
    // Created but never started by anyone: alive only while fresh.
    return Date.now() - run.created_at < STALE_HEARTBEAT_MS
  }
  if (run.owner_host && run.owner_host !== hostname()) {
    return run.heartbeat_at !== null && Date.now() - run.heartbeat_at < STALE_HEARTBEAT_MS
  }
  if (run.owner_pid === process.pid) return true
  try {
    process.kill(run.owner_pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
  // A live process with that id: ours unless its heartbeat stopped (the id was reused).
  return run.heartbeat_at !== null && Date.now() - run.heartbeat_at < STALE_HEARTBEAT_MS
}

/** Sortable and readable: 20261128-091233-7f3a. */
function newRunId(): string {
  const d = new Date()
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}-${randomBytes(2).toString('hex')}`
}

export type { JobProblem, RunProgress, RunSummary }
export { InvalidJobError }
