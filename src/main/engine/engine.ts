// The engine's composition root: plain Node, never imports electron. The CLI, the local server
// and the Electron app's engine process all drive a run through this.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { JobProblem } from '../../shared/job'
import { createLocalExecutor, type Executor } from './executor'
import { checkJobFile, InvalidJobError, loadJob, type LoadedJob } from './job-check'
import { createLogger, runLogSink, type Logger } from './log'
import { isTerminal } from './run-states'
import { executeRun, summary, type RunProgress, type RunSummary } from './runner'
import { openDatabase } from './store/open-db'
import { Store, type RunRow } from './store/store'

export interface EngineOptions {
  /** Replace the local worker pool (tests, or a distributed executor later). */
  createExecutor?: (threads: number, memoryLimitMb?: number) => Executor
}

export interface RunOptions {
  onProgress?: (p: RunProgress) => void
  stop?: AbortSignal
}

/** A run's owner is presumed dead when its heartbeat is older than this. */
const STALE_HEARTBEAT_MS = 30_000

export class Engine {
  readonly store: Store
  private readonly createExecutor: (threads: number, memoryLimitMb?: number) => Executor

  constructor(readonly home: string, opts: EngineOptions = {}) {
    mkdirSync(home, { recursive: true })
    this.store = new Store(openDatabase(join(home, 'batchery.db')))
    this.createExecutor = opts.createExecutor ?? ((threads, memoryLimitMb) => createLocalExecutor({ threads, memoryLimitMb }))
    this.recoverStaleRuns()
    this.cleanStaging()
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

  async runJobFile(file: string, opts: RunOptions = {}): Promise<RunSummary> {
    const { loaded } = this.checkJobFile(file)
    return this.runLoaded(loaded, opts)
  }

  async runLoaded(loaded: LoadedJob, opts: RunOptions = {}): Promise<RunSummary> {
    const version = this.store.saveJobVersion(loaded.job.name, loaded.hash, loaded.definition, loaded.baseDir, loaded.sourceFile)
    const runId = newRunId()
    this.store.createRun(runId, version)
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
    const loaded = loadJob(JSON.parse(version.definition), version.base_dir, version.source_file)
    return this.execute(runId, loaded, opts)
  }

  private execute(runId: string, loaded: LoadedJob, opts: RunOptions): Promise<RunSummary> {
    const sink = runLogSink(this.home, runId)
    const log: Logger = createLogger(sink, 'run')
    return executeRun({
      store: this.store,
      home: this.home,
      runId,
      loaded,
      log,
      createExecutor: this.createExecutor,
      onProgress: opts.onProgress,
      stop: opts.stop
    })
  }

  runSummary(runId: string): RunSummary {
    const run = this.store.run(runId)
    if (!run) throw new RunNotFoundError(runId)
    const name = this.store.jobVersion(run.job_version_id).name
    return { ...summary(this.store, runId, name, run.started_at ?? run.created_at), durationMs: (run.finished_at ?? Date.now()) - (run.started_at ?? run.created_at) }
  }

  close(): void {
    this.store.db.close()
  }
}

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

function ownerAlive(run: RunRow): boolean {
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
