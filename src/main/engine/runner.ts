// One run of one job version: freeze the manifest, plan partitions, run them on the executor,
// checkpoint each in SQLite, then assemble the outputs and commit.
//
// Commit order, so that a stop at any moment leaves either the old state or the new one:
//   worker: staged partition written, fsynced, renamed to its staged name
//   engine: partition checkpoint (counts + failed records) committed in SQLite
//   engine: each output assembled under a temporary name, fsynced
//   engine: accounting checked; outputs renamed into place; folders fsynced
//   engine: run commit (outputs + final status) in SQLite; staging removed
// A resumed run redoes whatever was not checkpointed and re-assembles every output from the
// staged partitions, which gives the same bytes as an uninterrupted run.
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { availableParallelism, hostname } from 'node:os'
import { basename, dirname, join, relative } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import type { RunProgressEvent } from '../../shared/api'
import { columnsAfter, unionColumns } from '../../shared/columns'
import { boundRaw, type FailedRecord } from '../../shared/failures'
import { withoutCompressionSuffix } from '../../shared/formats'
import { inputDelimiter, MAX_ROUTES, outputDelimiter, parseDurationMs, parseSizeBytes, type Job } from '../../shared/job'
import { PROGRESS_SLOTS, type BatchResult, type PartitionResult, type PartitionTask } from '../../shared/partition-task'
import { CsvParser } from '../../workers/formats/csv-parser'
import { decoderFor } from '../../workers/formats/decode'
import { JsonlParser } from '../../workers/formats/jsonl-parser'
import { recordEncoder } from '../../workers/formats/encode'
import { Aggregator } from '../../workers/steps/aggregate'
import { outputHead, writeFinalFormat, writesAfterAssembly } from './assemble-formats'
import { OutputSink, type AssembledOutput } from './output-sink'
import { RunTicker } from './run-ticker'
import { DedupeIndex, DEDUPE_KEYS_IN_MEMORY } from './dedupe-index'
import { crashPoint } from './crash-points'
import type { Executor } from './executor'
import { decodeBytes, headerColumns, maxRecordBytes, notTextReason, readHeader } from './inputs'
import type { LoadedRecordsJob } from './job-check'
import { errorText, type Logger } from './log'
import { copyFileDurably, resolveIn } from './paths'
import { isWholeFileInput, planWholeFile, quarantinedWholeFile, taskInput, type WholeFilePlan } from './plan-formats'
import { scanFile } from './scan'
import { isOutside, selectInputs, sha256Of } from './selection'
import type { PartitionRow, RunFileRow, RunRow, RunSelection, Store } from './store/store'

export interface RunCounts {
  in: number
  out: number
  filtered: number
  deduped: number
  failed: number
}

export interface RunSummary {
  runId: string
  job: string
  status: RunRow['status']
  counts: RunCounts
  outputs: { path: string; records: number; sha256: string }[]
  message: string | null
  durationMs: number
  /** A files job's run counts files: in = done (out) + failed. Absent: records. */
  kind?: 'records' | 'files'
}

/** What a run reports as it goes: the contract's run.progressed event. */
export type RunProgress = RunProgressEvent

/**
 * How the outside steers a running run: pause (stop handing out partitions; running ones
 * finish), resume, cancel (stop for good, write nothing), stop (interrupt: resumable later).
 */
export class RunControl {
  private paused = false
  private waiters: (() => void)[] = []
  private cancelled = false
  private readonly abort = new AbortController()

  get signal(): AbortSignal {
    return this.abort.signal
  }
  get isCancelled(): boolean {
    return this.cancelled
  }
  pause(): void {
    this.paused = true
  }

  resume(): void {
    this.paused = false
    for (const w of this.waiters.splice(0)) w()
  }

  /** Interrupt: the run stops now and stays resumable. */
  stop(): void {
    this.abort.abort()
    this.resume()
  }

  cancel(): void {
    this.cancelled = true
    this.stop()
  }

  /** Resolves once the run is not paused. */
  async gate(): Promise<void> {
    while (this.paused) await new Promise<void>((r) => this.waiters.push(r))
  }
}

export interface RunContext {
  store: Store
  home: string
  runId: string
  loaded: LoadedRecordsJob
  log: Logger
  createExecutor: (threads: number, memoryLimitMb?: number) => Executor
  onProgress?: (p: RunProgress) => void
  /** Aborted when the user stops the run (Ctrl+C, quit): the run becomes interrupted and resumable. */
  stop?: AbortSignal
  /** Pause, resume and cancel from a UI; its stop() interrupts like `stop`. */
  control?: RunControl
}

/** Progress is reported at most this often, so a UI or terminal keeps up with millions of records. */
const PROGRESS_INTERVAL_MS = 100
/** The error-rate halt rule waits for this many records, so one early bad row cannot halt a run. */
const ERROR_RATE_MIN_RECORDS = 1000
const MIN_PARTITION_BYTES = 1 << 20
/**
 * Each partition costs a staged file flushed to disk and two transactions. 8 per worker and up to
 * 16 MB (was 16 and 8 MB) measured 6% less wall time on 1M rows (7 interleaved rounds, per-round
 * ratio median 0.93, CPU -3%) and 4.5% less CPU on 10M rows; workers still finish within about a
 * partition of each other.
 */
const MAX_PARTITION_BYTES = 16 << 20
/** Partitions per worker a run aims for, so that workers finish close together. */
const PARTITIONS_PER_WORKER = 8
/** A partition that took the whole process down this often while running alone is set aside. */
const SOLO_DEATHS_TO_SET_ASIDE = 3
const TRANSIENT_CODES = new Set(['EBUSY', 'EMFILE', 'ENFILE', 'EAGAIN', 'ETIMEDOUT', 'ERR_WORKER_OUT_OF_MEMORY'])

/** A counting semaphore: at most `n` holders; waiters are served first come, first served. */
export class Slots {
  private waiting: (() => void)[] = []
  constructor(private free: number) {}

  take(): Promise<void> {
    if (this.free > 0) {
      this.free--
      return Promise.resolve()
    }
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  give(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.free++
  }
}

export function stagingDir(home: string, runId: string): string {
  return join(home, 'staging', runId)
}

export function backoffMs(attempt: number): number {
  // Exponential with full jitter: 200 ms, 400 ms, 800 ms... capped at 10 s.
  const cap = Math.min(10_000, 200 * 2 ** (attempt - 1))
  return cap / 2 + Math.random() * (cap / 2)
}

export { errorText }

function isTransient(e: unknown): boolean {
  const err = e as NodeJS.ErrnoException
  if (err?.code && TRANSIENT_CODES.has(err.code)) return true
  return /worker exited|Terminating worker thread/i.test(errorText(e))
}

const DISK_FULL_MESSAGE = 'Stopped: the disk is full. Nothing was lost and no partial output was left; free some space, then resume the run.'

export function isDiskFull(e: unknown): boolean {
  // Errors from worker threads arrive cloned; the code may survive only in the message.
  const code = (e as NodeJS.ErrnoException)?.code
  return code === 'ENOSPC' || code === 'SQLITE_FULL' || /ENOSPC|no space left on device|database or disk is full/i.test(errorText(e))
}

function explainSystemError(e: unknown, file: string): string {
  const code = (e as NodeJS.ErrnoException)?.code
  if (code === 'ENOENT') return `the input file ${file} disappeared during the run`
  if (code === 'EACCES' || code === 'EPERM') return `Batchery may not read ${file} (permission denied)`
  if (code === 'ENOSPC') return 'the disk is full: free some space, then resume the run'
  return errorText(e)
}

export async function executeRun(ctx: RunContext): Promise<RunSummary> {
  const { store, runId, loaded, log } = ctx
  const { job } = loaded
  const started = Date.now()
  const cpu0 = process.cpuUsage()
  const prior = store.run(runId)
  if (!prior) throw new Error(`no run ${runId}`)
  const epoch = store.claim(runId, process.pid, hostname())
  if (!store.move(runId, prior.status, 'running')) throw new Error(`run ${runId} could not start from ${prior.status}`)
  log.info('run started', { job: job.name, resumed: prior.status === 'interrupted', epoch })

  const staging = stagingDir(ctx.home, runId)
  mkdirSync(staging, { recursive: true })
  const threads = job.policy.concurrency ?? Math.max(1, availableParallelism())
  const progressBuf = new SharedArrayBuffer(16)
  const progress = new BigInt64Array(progressBuf)
  let phase: RunProgress['phase'] = 'planning'
  let inFlight = 0
  let lastProgressAt = 0
  const report = (force = false): void => {
    if (!ctx.onProgress) return
    const now = Date.now()
    if (!force && now - lastProgressAt < PROGRESS_INTERVAL_MS) return
    lastProgressAt = now
    const run = store.run(runId) as RunRow
    const parts = store.partitionProgress(runId)
    const elapsedMs = now - started
    const bytesDone = Math.min(run.bytes_total, Number(progress[PROGRESS_SLOTS.bytes]))
    const records = Number(progress[PROGRESS_SLOTS.records])
    const rate = elapsedMs > 0 ? bytesDone / (elapsedMs / 1000) : 0
    ctx.onProgress({
      runId,
      job: job.name,
      phase,
      records,
      bytesDone,
      bytesTotal: run.bytes_total,
      partitionsDone: parts.done,
      partitionsTotal: parts.total,
      failed: run.failed,
      elapsedMs,
      recordsPerSec: elapsedMs > 0 ? records / (elapsedMs / 1000) : 0,
      bytesPerSec: rate,
      etaMs: rate > 0 && phase === 'running' ? ((run.bytes_total - bytesDone) / rate) * 1000 : null,
      busyWorkers: Math.min(inFlight, threads),
      queued: Math.max(0, parts.pending - Math.min(inFlight, threads))
    })
  }

  // Heartbeat and per-second metrics; progress between partition commits too (run-ticker.ts).
  const ticker = new RunTicker({
    store,
    runId,
    epoch,
    log,
    sample: () => ({
      records: Number(progress[PROGRESS_SLOTS.records] as bigint),
      bytes: Number(progress[PROGRESS_SLOTS.bytes] as bigint),
      busy: Math.min(inFlight, threads),
      queued: Math.max(0, inFlight - threads)
    }),
    ...(ctx.onProgress ? { onProgress: () => phase === 'running' && report() } : {})
  })

  let executor: Executor | null = null
  // Temporary output files being assembled; removed if the run stops before renaming them.
  const tmpOutputs: string[] = []
  try {
    // The workers load their code while the run plans: the pool is started first.
    executor = ctx.createExecutor(threads, job.policy.memoryLimitMb)
    if (!prior.planned) {
      plan(store, runId, loaded, threads, log)
      crashPoint('after-plan')
    } else {
      const changed = changedInputs(store.files(runId))
      if (changed.length) {
        const message = `The input changed since this run was interrupted (${changed.join('; ')}). Its outputs would mix old and new data, so it was not resumed: start a new run.`
        store.move(runId, 'running', 'failed', { message })
        log.warn('resume refused: inputs changed', { changed })
        return summary(store, runId, job.name, started)
      }
      recheckStaged(store, runId, staging, log)
      const suspects = store.chargeProcessDeath(runId)
      if (suspects) log.warn('the process stopped while partitions were in flight; they run alone first', { partitions: suspects })
    }
    phase = 'running'
    report(true)

    const files = new Map(store.files(runId).map((f) => [f.file_index, f]))
    const parseHeader = headerParser()
    const columnsByFile = outputColumns(job, [...files.values()], parseHeader)
    const halt = new AbortController()
    let haltReason: string | null = null
    let diskFull = false
    const stopHandler = (): void => halt.abort()
    ctx.stop?.addEventListener('abort', stopHandler)
    ctx.control?.signal.addEventListener('abort', stopHandler)
    const doHalt = (reason: string): void => {
      if (haltReason === null) {
        haltReason = reason
        halt.abort()
      }
    }
    const exec = executor
    const timeoutMs = parseDurationMs(job.policy.timeout)

    // Partitions that are their output's whole file: written with the header and linked into place.
    const wholeOutputs = new Set<number>()
    // What every task of the run shares is built once (tasks are copied to the workers anyway):
    // tens of thousands of small files would otherwise make as many copies for the collector.
    const pipeline = { hash: loaded.hash, steps: job.steps, baseDir: loaded.baseDir }
    const input = taskInput(job)
    const indexed = needsIndex(job)
    const recordBytes = maxRecordBytes(job)
    const byColumns = new Map<string[], { output: PartitionTask['output']; head: string }>()
    const forColumns = (columns: string[]): { output: PartitionTask['output']; head: string } => {
      let c = byColumns.get(columns)
      if (!c) {
        const head = outputHead(job.output.format, columns, outputDelimiter(job), job.output.quoting)?.toString() ?? ''
        byColumns.set(columns, (c = { output: { format: job.output.format, delimiter: outputDelimiter(job), columns, quoting: job.output.quoting }, head }))
      }
      return c
    }
    const taskFor = (p: PartitionRow, attempt: number): PartitionTask => {
      const f = files.get(p.file_index) as RunFileRow
      const c = forColumns(columnsByFile.get(p.file_index) ?? [])
      // Built as a literal, not with a spread: a spread of a conditional object made V8 build
      // each task as a dictionary of several kilobytes (266 MB over 40,000 files).
      const task: PartitionTask = {
        runId,
        partitionIdx: p.idx,
        attempt,
        pipeline,
        input,
        output: c.output,
        file: f.path,
        start: p.start,
        end: p.end,
        firstLine: p.first_line,
        lastOfFile: p.last_of_file === 1,
        maxRecordBytes: recordBytes,
        header: parseHeader(f.header),
        stagedPath: join(staging, `p${p.idx}.out`),
        indexPath: indexed ? join(staging, `p${p.idx}.index`) : null,
        progress: progressBuf
      }
      if (wholeOutputs.has(p.idx)) task.wholeOutput = { head: c.head }
      return task
    }

    const checkHaltRules = (): void => {
      const run = store.run(runId) as RunRow
      const max = job.policy.maxFailedRecords
      if (max !== undefined && run.failed > max) {
        doHalt(`Stopped: ${run.failed.toLocaleString('en-US')} records failed, more than the job allows (maxFailedRecords ${max}). See the failure report.`)
      }
      const rate = job.policy.maxErrorRate
      if (rate !== undefined && run.records_in >= ERROR_RATE_MIN_RECORDS && run.failed / run.records_in > rate) {
        doHalt(`Stopped: ${((run.failed / run.records_in) * 100).toFixed(1)}% of records failed, more than the job allows (maxErrorRate ${rate}). See the failure report.`)
      }
    }

    // Tasks go to the executor a few at a time, in order: a partition's timeout starts when it is
    // handed over, not while it waits behind hundreds of others, and staging fills in order.
    const window = new Slots(exec.threads * 2)
    const maxAttempts = job.policy.retries + 1
    const setAside = (p: PartitionRow, attempts: number, why: string): void => {
      const f = files.get(p.file_index) as RunFileRow
      const failures = quarantinedRecords(job, f, p, `this part of ${f.rel_path} made Batchery's worker stop ${attempts} time${attempts === 1 ? '' : 's'} (${why}); its records were set aside`)
      writeFileSync(join(staging, `p${p.idx}.out`), '')
      if (needsIndex(job)) writeFileSync(join(staging, `p${p.idx}.index`), '')
      const n = failures.length
      store.db.transaction(() =>
        store.commitPartition(runId, epoch, p.idx, p.file_index, { counts: { in: n, out: 0, filtered: 0, failed: n }, failures, stagedBytes: 0, keysBytes: 0, durationMs: 0 })
      )()
      log.warn('partition quarantined', { partition: p.idx, file: f.rel_path, attempts, records: n, why })
      checkHaltRules()
    }
    /** Waits while paused, then for a place in the window; false (holding nothing) if the run stopped meanwhile. */
    const takeSlot = async (): Promise<boolean> => {
      if (halt.signal.aborted) return false
      await ctx.control?.gate()
      await window.take()
      if (!halt.signal.aborted) return true
      window.give()
      return false
    }
    const runOne = async (p: PartitionRow, solo = false): Promise<void> => {
      const f = files.get(p.file_index) as RunFileRow
      for (let tries = 1; ; tries++) {
        let result: PartitionResult
        if (!(await takeSlot())) return
        const current = store.partition(runId, p.idx) as PartitionRow
        if (current.solo_deaths >= SOLO_DEATHS_TO_SET_ASIDE) {
          window.give()
          setAside(p, current.attempts, current.last_error ?? 'the whole process stopped while it ran alone')
          return
        }
        const attempt = store.startAttempt(runId, p.idx, solo)
        const timeout = AbortSignal.timeout(timeoutMs)
        inFlight++
        try {
          result = await exec.run(taskFor(p, attempt), AbortSignal.any([halt.signal, timeout]))
        } catch (e) {
          // Ended inside this process, even when stopped on purpose: only a death leaves it in
          // flight. (A result clears the mark in the partition's commit.)
          store.endAttempt(runId, p.idx)
          if (halt.signal.aborted) return
          const timedOut = timeout.aborted
          const why = timedOut ? `it took longer than the job's timeout (${job.policy.timeout})` : explainSystemError(e, f.rel_path)
          store.recordAttemptFailure(runId, p.idx, why)
          log.warn('partition attempt failed', { partition: p.idx, file: f.rel_path, attempt, error: errorText(e) })
          if (isDiskFull(e)) {
            // Nothing is wrong with the data: stop resumably and let the user free space.
            diskFull = true
            halt.abort()
            return
          }
          if (!timedOut && !isTransient(e)) {
            const where = p.start === 0 && p.last_of_file ? f.rel_path : `${f.rel_path} (from line ${p.first_line})`
            doHalt(`Stopped: ${where} could not be processed: ${why}`)
            return
          }
          if (tries >= maxAttempts) {
            setAside(p, tries, why)
            return
          }
          await new Promise((r) => setTimeout(r, backoffMs(tries)))
          continue
        } finally {
          inFlight--
          window.give()
        }
        if (result.boundaryBroken) {
          // A stray quote misled the planner; redo the rest of this file in one piece.
          const replacement = store.replanTail(runId, epoch, p.file_index, p.start)
          log.warn('partition boundary fell inside a quoted field; re-planning the rest of the file', { file: f.rel_path, from: p.start })
          if (replacement) await runOne(replacement)
          return
        }
        if (!store.db.transaction(() => store.commitPartition(runId, epoch, p.idx, p.file_index, result))()) {
          if (!store.ownsRun(runId, epoch)) doHalt('Stopped: another Batchery process took over this run.')
          return
        }
        crashPoint('after-partition-commit')
        checkHaltRules()
        report()
        return
      }
    }

    // Many small files: a batch of them is one task and one commit, not one of each per file
    // (a Piscina task, an attempt and a commit transaction cost more than 10 rows of work).
    const runBatch = async (batch: PartitionRow[]): Promise<void> => {
      if (!(await takeSlot())) return
      const attempts = store.db.transaction(() => batch.map((p) => store.startAttempt(runId, p.idx, false)))()
      const timeout = AbortSignal.timeout(timeoutMs)
      let results: BatchResult[] = []
      inFlight++
      try {
        results = await exec.runBatch(
          batch.map((p, i) => taskFor(p, attempts[i] as number)),
          AbortSignal.any([halt.signal, timeout])
        )
      } catch (e) {
        // Stopped, timed out or the worker died: each partition of the batch goes on alone, with
        // its own timeout and retries.
        if (!halt.signal.aborted) log.warn('a batch of small partitions failed; running them one by one', { partitions: batch.length, error: errorText(e) })
      } finally {
        inFlight--
        window.give()
      }
      const done: { p: PartitionRow; r: PartitionResult }[] = []
      for (const [i, r] of results.entries()) {
        if ('error' in r || r.boundaryBroken) break
        done.push({ p: batch[i] as PartitionRow, r })
      }
      const rest = batch.slice(done.length)
      const stopped = results[done.length]
      if (stopped && 'error' in stopped) log.warn('partition attempt failed in a batch; it runs again on its own', { partition: rest[0]?.idx, error: stopped.error })
      const committed = store.db.transaction(() => {
        for (const p of rest) store.endAttempt(runId, p.idx)
        for (const { p, r } of done) if (!store.commitPartition(runId, epoch, p.idx, p.file_index, r)) return false
        return true
      })()
      if (!committed) {
        if (!store.ownsRun(runId, epoch)) doHalt('Stopped: another Batchery process took over this run.')
        return
      }
      if (done.length) {
        crashPoint('after-partition-commit')
        checkHaltRules()
        report()
      }
      if (halt.signal.aborted) return
      for (const p of rest) await runOne(p)
    }

    const live = store.partitions(runId)
    const pending = live.filter((p) => p.state === 'pending')
    for (const idx of wholeOutputPartitions(job, live)) wholeOutputs.add(idx)
    // Partitions that were in flight when the process last died run first, one at a time, so a
    // partition that takes the process down is found out rather than blamed on its neighbours.
    for (const p of pending.filter((x) => x.suspect)) await runOne(p, true)
    // Whether a file is read whole (compressed, UTF-16...) is asked once per file: it can read its first bytes.
    const readWhole = new Map<number, boolean>()
    const plainText = (p: PartitionRow): boolean => {
      let whole = readWhole.get(p.file_index)
      if (whole === undefined) readWhole.set(p.file_index, (whole = isWholeFileInput(job, (files.get(p.file_index) as RunFileRow).path)))
      return !whole
    }
    const units = smallBatches(pending.filter((x) => !x.suspect), live, plainText, exec.threads)
    const batches = units.filter((u) => u.length > 1)
    if (batches.length) log.info('small files handed out in batches', { partitions: pending.length, batches: batches.length, tasks: units.length })
    await Promise.all(units.map((u) => (u.length === 1 ? runOne(u[0] as PartitionRow) : runBatch(u))))
    // What the tasks needed is let go before assembly, which reads the run's rows again: over
    // tens of thousands of files, both at once would double the engine's peak.
    files.clear()
    readWhole.clear()
    wholeOutputs.clear()
    units.length = 0
    pending.length = 0
    live.length = 0
    // Paused after the last partitions were handed out: wait before writing outputs.
    if (!halt.signal.aborted) await ctx.control?.gate()
    ctx.stop?.removeEventListener('abort', stopHandler)
    ctx.control?.signal.removeEventListener('abort', stopHandler)

    if (halt.signal.aborted) {
      const status = (store.run(runId) as RunRow).status
      if (diskFull) {
        store.move(runId, status, 'interrupted', { message: DISK_FULL_MESSAGE })
        log.warn('run stopped: disk full')
      } else if (haltReason !== null) {
        store.move(runId, status, 'failed', { message: haltReason })
        log.warn('run halted', { reason: haltReason })
        rmSync(staging, { recursive: true, force: true })
      } else if (ctx.control?.isCancelled) {
        store.move(runId, status, 'cancelled', { message: 'Cancelled; nothing was written.' })
        log.info('run cancelled by the user')
        rmSync(staging, { recursive: true, force: true })
      } else {
        store.move(runId, status, 'interrupted', { message: 'Stopped by the user; resume it to finish.' })
        log.info('run interrupted by the user')
      }
      return summary(store, runId, job.name, started)
    }

    phase = 'assembling'
    report(true)
    // The workers are done: their memory is given back before the outputs are written.
    await executor.destroy()
    executor = null
    const inputFiles = store.files(runId)
    const assembled = assemble(store, runId, job, loaded, staging, inputFiles, columnsByFile, tmpOutputs, log)
    if (writesAfterAssembly(job.output.format)) {
      // A workbook or a Parquet file is written from the assembled rows, streaming (assemble-formats.ts).
      for (const o of assembled.outputs) await writeFinalFormat(job.output.format, o, job.name, tmpOutputs)
    }
    const run = store.run(runId) as RunRow
    const out = assembled.recordsOut
    if (run.records_in !== out + run.filtered + assembled.deduped + run.failed) {
      for (const o of assembled.outputs) if (o.tmp !== o.path) rmSync(o.tmp, { force: true })
      const message = `Internal error: the records do not add up (in ${run.records_in}, out ${out}, filtered ${run.filtered}, duplicates ${assembled.deduped}, failed ${run.failed}); no output was written. Please report this.`
      store.move(runId, 'running', 'failed', { message })
      log.error('accounting mismatch', { in: run.records_in, out, filtered: run.filtered, deduped: assembled.deduped, failed: run.failed })
      return summary(store, runId, job.name, started)
    }
    // Inputs changed while the run read them: outputs would mix old and new data.
    const moved = changedDuringRun(inputFiles)
    if (moved.length) {
      for (const o of assembled.outputs) if (o.tmp !== o.path) rmSync(o.tmp, { force: true })
      const message = `Stopped: ${moved.join('; ')} while the run was reading it, so its outputs would mix old and new data. Nothing was written; run the job again.`
      store.move(runId, 'running', 'failed', { message })
      log.warn('inputs changed during the run', { moved })
      rmSync(staging, { recursive: true, force: true })
      return summary(store, runId, job.name, started)
    }
    crashPoint('before-rename')
    const dirs = new Set<string>()
    for (const o of assembled.outputs) {
      renameWithRetry(o.tmp, o.path)
      dirs.add(dirname(o.path))
      crashPoint('after-rename')
    }
    for (const d of dirs) fsyncDir(d)
    crashPoint('before-run-commit')
    const cpu = process.cpuUsage(cpu0)
    store.commitRun(
      runId,
      epoch,
      assembled.deduped,
      assembled.outputs.map(({ path, records, bytes, sha256 }) => ({ path, records, bytes, sha256 })),
      run.failed > 0 ? 'partial' : 'succeeded',
      { peakRss: ticker.peakRss, cpuMs: Math.round((cpu.user + cpu.system) / 1000) },
      filesOutside(inputFiles, resolveIn(loaded.baseDir, job.input.folder))
    )
    crashPoint('after-run-commit')
    rmSync(staging, { recursive: true, force: true })
    log.info('run committed', { in: run.records_in, out, filtered: run.filtered, deduped: assembled.deduped, failed: run.failed })
    report(true)
    return summary(store, runId, job.name, started)
  } catch (e) {
    for (const t of tmpOutputs) rmSync(t, { force: true })
    const current = store.run(runId)
    if (current?.status === 'running' || current?.status === 'paused') {
      if (e instanceof OutputBusyError) {
        store.move(runId, current.status, 'interrupted', { message: e.message })
        log.warn('output held open by another program', { error: e.message })
      } else if (isDiskFull(e)) {
        log.warn('run stopped: disk full', { error: errorText(e) })
        try {
          store.move(runId, current.status, 'interrupted', { message: DISK_FULL_MESSAGE })
        } catch {
          // The database is on the full disk too: it cannot record the stop. The run is marked
          // interrupted when Batchery next starts (its owner is gone); say so now.
          return { ...summary(store, runId, job.name, started), status: 'interrupted', message: DISK_FULL_MESSAGE }
        }
      } else {
        store.move(runId, current.status, 'failed', { message: `Stopped by an error: ${explainSystemError(e, '')}` })
        log.error('run failed', { error: errorText(e), stack: (e as Error)?.stack })
      }
    }
    return summary(store, runId, job.name, started)
  } finally {
    ticker.stop()
    await executor?.destroy()
  }
}

/**
 * Partitions whose staged file can be their output as it is: one input file, one partition, one
 * output of a format with no framing but its header (CSV, TSV, JSON lines), nothing decided at
 * assembly (no dedupe, route, split or aggregate). Many small files make many such outputs, and
 * linking each into place costs one call where copying it costs a read, a write and a flush.
 */
export function wholeOutputPartitions(job: Job, live: PartitionRow[]): number[] {
  if (job.output.layout === 'merged' || needsIndex(job) || job.steps.some((s) => 'aggregate' in s)) return []
  if (!['csv', 'tsv', 'jsonl'].includes(job.output.format)) return []
  const perFile = new Map<number, PartitionRow[]>()
  for (const p of live) perFile.set(p.file_index, [...(perFile.get(p.file_index) ?? []), p])
  return [...perFile.values()].filter((ps) => ps.length === 1 && (ps[0] as PartitionRow).last_of_file === 1).map((ps) => (ps[0] as PartitionRow).idx)
}

/** A partition this size or smaller, holding a whole file, can share a task with others. */
export const BATCH_PARTITION_MAX_BYTES = 256 << 10
/** At most this many partitions, and about this many bytes, in one batch. */
const BATCH_MAX_PARTITIONS = 64
const BATCH_MAX_BYTES = 4 << 20
/** Batches per worker a run aims for at least, so that both workers stay busy to the end. */
const BATCHES_PER_WORKER = 4

/**
 * The order partitions are handed out in, as units: a lone partition, or a batch of small
 * whole-file partitions next to each other in plan order. A partition is batched only if it is
 * its file's only one (no boundary inside it can be misplaced), was never set aside or charged
 * with a death, and is read by byte range (`plainText`: not a workbook, zip or gzip file, whose
 * size on disk says little about the work).
 */
export function smallBatches(
  pending: PartitionRow[],
  all: PartitionRow[],
  plainText: (p: PartitionRow) => boolean,
  threads: number
): PartitionRow[][] {
  const perFile = new Map<number, number>()
  for (const p of all) if (p.state !== 'superseded') perFile.set(p.file_index, (perFile.get(p.file_index) ?? 0) + 1)
  const small = (p: PartitionRow): boolean =>
    p.last_of_file === 1 && perFile.get(p.file_index) === 1 && p.end - p.start <= BATCH_PARTITION_MAX_BYTES && p.solo_deaths === 0 && plainText(p)
  const count = pending.filter(small).length
  // BATCHERY_SMALL_BATCH: a lower cap (1: no batches), for tests that compare the two ways.
  const cap = Math.min(BATCH_MAX_PARTITIONS, Number(process.env.BATCHERY_SMALL_BATCH) || BATCH_MAX_PARTITIONS)
  const size = Math.min(cap, Math.ceil(count / (Math.max(1, threads) * BATCHES_PER_WORKER)))
  const units: PartitionRow[][] = []
  let batch: PartitionRow[] = []
  let bytes = 0
  const close = (): void => {
    if (batch.length) units.push(batch)
    batch = []
    bytes = 0
  }
  for (const p of pending) {
    if (size < 2 || !small(p)) {
      close()
      units.push([p])
      continue
    }
    if (batch.length >= size || bytes + (p.end - p.start) > BATCH_MAX_BYTES) close()
    batch.push(p)
    bytes += p.end - p.start
  }
  close()
  return units
}

/** The files of a run that are not in the job's input folder (dropped from elsewhere), by index. */
export function filesOutside(files: readonly { file_index: number; path: string }[], inputRoot: string): number[] {
  return files.filter((f) => isOutside(inputRoot, f.path)).map((f) => f.file_index)
}

export function summary(store: Store, runId: string, job: string, started: number): RunSummary {
  const run = store.run(runId) as RunRow
  return {
    runId,
    job,
    status: run.status,
    counts: { in: run.records_in, out: run.records_out - run.deduped, filtered: run.filtered, deduped: run.deduped, failed: run.failed },
    outputs: store.outputs(runId).map((o) => ({ path: o.path, records: o.records, sha256: o.sha256 })),
    message: run.message,
    durationMs: Date.now() - started
  }
}

function plan(store: Store, runId: string, loaded: LoadedRecordsJob, threads: number, log: Logger): void {
  const { job, baseDir } = loaded
  const run = store.run(runId) as RunRow
  const inputs = selectInputs(store.db, run.job_id, job, baseDir, run.selection ? (JSON.parse(run.selection) as RunSelection) : null)
  const totalBytes = inputs.reduce((s, f) => s + f.size, 0)
  const target = job.policy.chunkSize
    ? parseSizeBytes(job.policy.chunkSize)
    : Math.min(MAX_PARTITION_BYTES, Math.max(MIN_PARTITION_BYTES, Math.ceil(totalBytes / (threads * PARTITIONS_PER_WORKER))))
  const files: Omit<RunFileRow, 'run_id'>[] = []
  const parts: Pick<PartitionRow, 'idx' | 'file_index' | 'start' | 'end' | 'first_line' | 'last_of_file'>[] = []
  const fileFailures: { fileIndex: number; failure: FailedRecord }[] = []
  const csv = job.input.format !== 'jsonl'
  for (const [fileIndex, f] of inputs.entries()) {
    const fileFailure = (message: string, raw = ''): void => {
      fileFailures.push({ fileIndex, failure: { line: 1, step: 'read', code: 'FILE_UNREADABLE', message, raw: boundRaw(raw) } })
    }
    // Compressed files, workbooks and JSON arrays are planned by their own rules (plan-formats.ts).
    let whole: WholeFilePlan | null = null
    try {
      whole = isWholeFileInput(job, f.path) ? planWholeFile(job, f, target) : null
    } catch (e) {
      files.push({ file_index: fileIndex, path: f.path, rel_path: f.relPath, size: f.size, mtime_ms: f.mtimeMs, sha256: '', header: null })
      fileFailure(`${f.relPath} cannot be read: ${explainSystemError(e, f.relPath)}`)
      continue
    }
    if (whole) {
      const w = whole
      files.push({ file_index: fileIndex, path: f.path, rel_path: f.relPath, size: w.size, mtime_ms: f.mtimeMs, sha256: w.sha256, header: w.header ? JSON.stringify(w.header) : null })
      if (w.failure) fileFailure(w.failure.message, w.failure.raw)
      w.partitions.forEach((p, i) => {
        parts.push({ idx: parts.length, file_index: fileIndex, start: p.start, end: p.end, first_line: p.firstLine, last_of_file: i === w.partitions.length - 1 ? 1 : 0 })
      })
      continue
    }
    let scan
    try {
      scan = scanFile(f.path, { format: csv ? 'csv' : 'jsonl', quote: job.input.quote, header: csv && job.input.header, targetPartitionBytes: target, maxRecordBytes: maxRecordBytes(job) })
    } catch (e) {
      files.push({ file_index: fileIndex, path: f.path, rel_path: f.relPath, size: f.size, mtime_ms: f.mtimeMs, sha256: '', header: null })
      fileFailure(`${f.relPath} cannot be read: ${explainSystemError(e, f.relPath)}`)
      continue
    }
    const refusal = scan.size ? notTextReason(f.path, f.relPath) : null
    if (refusal) {
      files.push({ file_index: fileIndex, path: f.path, rel_path: f.relPath, size: scan.size, mtime_ms: f.mtimeMs, sha256: scan.sha256, header: null })
      fileFailure(`${refusal}; the file was not processed`)
      continue
    }
    let header: string[] | null = null
    if (csv && (!scan.headerBytes || decodeBytes(scan.headerBytes, job.input.encoding).trim() === '') && scan.partitions.every((p) => isBlank(f.path, p))) {
      // Empty, a BOM alone, or blank lines only: a file with no records, not a broken one.
      files.push({ file_index: fileIndex, path: f.path, rel_path: f.relPath, size: scan.size, mtime_ms: f.mtimeMs, sha256: scan.sha256, header: '[]' })
      continue
    }
    if (csv) {
      if (job.input.header) {
        const text = scan.headerBytes ? decodeBytes(scan.headerBytes, job.input.encoding) : ''
        const h = headerColumns(text, job, f.relPath)
        if (!h.ok) {
          files.push({ file_index: fileIndex, path: f.path, rel_path: f.relPath, size: scan.size, mtime_ms: f.mtimeMs, sha256: scan.sha256, header: null })
          fileFailure(`${h.message}; the file was not processed`, text)
          continue
        }
        header = h.columns
      } else {
        const h = scan.partitions.length ? readHeader(f.path, job) : null
        header = h?.ok ? h.columns : []
      }
    }
    files.push({ file_index: fileIndex, path: f.path, rel_path: f.relPath, size: scan.size, mtime_ms: f.mtimeMs, sha256: scan.sha256, header: header ? JSON.stringify(header) : null })
    scan.partitions.forEach((p, i) => {
      parts.push({ idx: parts.length, file_index: fileIndex, start: p.start, end: p.end, first_line: p.firstLine, last_of_file: i === scan.partitions.length - 1 ? 1 : 0 })
    })
  }
  store.savePlan(runId, files, parts, fileFailures)
  log.info('planned', { files: files.length, partitions: parts.length, partitionBytes: target, bytes: totalBytes, unreadable: fileFailures.length })
}

/**
 * The records of a partition that was set aside, each as a failed record with its line and raw
 * text, read in the engine's thread without running any step: every record stays accounted for,
 * and can be re-run once the cause is fixed.
 */
function quarantinedRecords(job: Job, f: RunFileRow, p: PartitionRow, message: string): FailedRecord[] {
  const whole = quarantinedWholeFile(job, f.path, { start: p.start, end: p.end, firstLine: p.first_line, last: p.last_of_file === 1 }, message)
  if (whole) return whole
  const failures: FailedRecord[] = []
  const push = (line: number, raw: string): void => {
    failures.push({ line, step: 'read', code: 'QUARANTINED', message, raw: boundRaw(raw) })
  }
  let csv: CsvParser | null = null
  const parser =
    job.input.format === 'jsonl'
      ? new JsonlParser({ record: (_r, line, raw) => push(line, raw), malformed: (line, raw) => push(line, raw) }, p.first_line)
      : (csv = new CsvParser(
          { delimiter: inputDelimiter(job), quote: job.input.quote },
          { record: (_fields, line) => push(line, (csv as CsvParser).lastRaw()), malformed: (line, raw) => push(line, raw) },
          p.first_line
        ))
  const fd = openSync(f.path, 'r')
  const block = Buffer.allocUnsafe(1 << 16)
  const decoder = decoderFor(job.input.encoding)
  try {
    for (let pos = p.start; pos < p.end; ) {
      const n = readSync(fd, block, 0, Math.min(block.length, p.end - pos), pos)
      if (n === 0) break
      pos += n
      const final = pos >= p.end
      parser.push(decoder.write(block.subarray(0, n)) + (final ? decoder.end() : ''), final)
    }
  } finally {
    closeSync(fd)
  }
  return failures
}

/** Manifest files whose size or modification time changed since the run froze them (cheap: no reading). */
function changedDuringRun(files: RunFileRow[]): string[] {
  const changed: string[] = []
  for (const f of files) {
    if (!f.sha256) continue
    try {
      const st = statSync(f.path)
      if (st.size !== f.size || Math.trunc(st.mtimeMs) !== f.mtime_ms) changed.push(`${f.rel_path} changed`)
    } catch {
      changed.push(`${f.rel_path} disappeared`)
    }
  }
  return changed
}

/** An output file stayed locked by another program: the run can finish once it lets go. */
export class OutputBusyError extends Error {
  constructor(path: string, code: string, cause: unknown) {
    super(`Stopped: ${path} is held open by another program (${code}). Close it (Excel, say), then resume the run.`, { cause })
  }
}

/** Renames over a file another program holds open fail for a moment on Windows (antivirus, Excel). */
const RENAME_RETRY_CODES = new Set(['EBUSY', 'EPERM', 'EACCES'])
const RENAME_RETRIES = 8

export function renameWithRetry(from: string, to: string, rename: (a: string, b: string) => void = renameSync): void {
  for (let i = 0; ; i++) {
    try {
      rename(from, to)
      return
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? ''
      if (!RENAME_RETRY_CODES.has(code) || i >= RENAME_RETRIES) {
        if (RENAME_RETRY_CODES.has(code)) throw new OutputBusyError(to, code, e)
        throw e
      }
      // 25 ms, 50 ms, ... up to about 6 s in all; synchronous, as the commit sequence is.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25 * 2 ** i)
    }
  }
}

/** A byte range holding nothing but line breaks and spaces (read only for tiny files' ranges). */
function isBlank(path: string, p: { start: number; end: number }): boolean {
  if (p.end - p.start > 1 << 16) return false
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.allocUnsafe(p.end - p.start)
    readSync(fd, buf, 0, buf.length, p.start)
    return buf.toString('latin1').trim() === ''
  } finally {
    closeSync(fd)
  }
}

/** Files of the frozen manifest that are no longer what the run started with. */
function changedInputs(files: RunFileRow[]): string[] {
  const changed: string[] = []
  for (const f of files) {
    if (!f.sha256) continue
    let st
    try {
      st = statSync(f.path)
    } catch {
      changed.push(`${f.rel_path} is gone`)
      continue
    }
    if (st.size !== f.size || Math.trunc(st.mtimeMs) !== f.mtime_ms) {
      changed.push(`${f.rel_path} was modified`)
      continue
    }
    if (sha256Of(f.path) !== f.sha256) changed.push(`${f.rel_path} has different contents`)
  }
  return changed
}


/** Committed partitions whose staged files are gone or cut short are done again. */
function recheckStaged(store: Store, runId: string, staging: string, log: Logger): void {
  for (const p of store.partitions(runId)) {
    if (p.state !== 'committed') continue
    const ok = sizeIs(join(staging, `p${p.idx}.out`), p.staged_bytes) && (!p.keys_bytes || sizeIs(join(staging, `p${p.idx}.index`), p.keys_bytes))
    if (!ok) {
      log.warn('staged partition missing; redoing it', { partition: p.idx })
      store.resetPartition(runId, p)
    }
  }
}

function sizeIs(path: string, bytes: number | null): boolean {
  try {
    return statSync(path).size === (bytes ?? 0)
  } catch {
    return false
  }
}

/**
 * A file row's header (stored as JSON) as a list of names, parsed once per distinct header: a
 * folder of 40,000 exports has one header, shared by all their rows and tasks.
 */
function headerParser(): (header: string | null) => string[] | null {
  const parsed = new Map<string, string[]>()
  return (header) => {
    if (!header) return null
    let names = parsed.get(header)
    if (!names) parsed.set(header, (names = JSON.parse(header) as string[]))
    return names
  }
}

function outputColumns(job: Job, files: RunFileRow[], parseHeader: (header: string | null) => string[] | null): Map<number, string[]> {
  const byFile = new Map<number, string[]>()
  // Files with the same header share one list.
  const byHeader = new Map<string | null, string[]>()
  for (const f of files) {
    let columns = byHeader.get(f.header)
    if (!columns) byHeader.set(f.header, (columns = columnsAfter(parseHeader(f.header) ?? [], job.steps).columns))
    byFile.set(f.file_index, columns)
  }
  if (job.output.layout === 'merged') {
    const all = unionColumns([...byFile.values()])
    for (const k of byFile.keys()) byFile.set(k, all)
  }
  return byFile
}

/** Final output paths, one per input file or one merged; names that would collide keep their input extension. */
export function outputPaths(job: Job, baseDir: string, files: RunFileRow[], mergedSuffix?: string): Map<string, number[]> {
  const outDir = resolveIn(baseDir, job.output.folder)
  const ext = job.output.format
  const result = new Map<string, number[]>()
  if (job.output.layout === 'merged') {
    const name = `${job.output.name ?? job.name}${mergedSuffix ? `-${mergedSuffix}` : ''}`
    result.set(join(outDir, `${name}.${ext}`), files.map((f) => f.file_index))
    return result
  }
  // orders.csv.gz is named like orders.csv: orders.jsonl
  const stem = (rel: string): string => withoutCompressionSuffix(rel).replace(/\.[^./]*$/, '')
  const counts = new Map<string, number>()
  for (const f of files) counts.set(stem(f.rel_path), (counts.get(stem(f.rel_path)) ?? 0) + 1)
  const used = new Set<string>()
  for (const f of files) {
    const s = stem(f.rel_path)
    let name = (counts.get(s) ?? 0) > 1 ? `${f.rel_path}.${ext}` : `${s}.${ext}`
    // a.csv + a.tsv + a.csv.csv would still meet; number what is left, in file order
    for (let n = 2; used.has(name.toLowerCase()); n++) name = `${f.rel_path}.${n}.${ext}`
    used.add(name.toLowerCase())
    result.set(join(outDir, ...name.split('/')), [f.file_index])
  }
  return result
}

function assemble(
  store: Store,
  runId: string,
  job: Job,
  loaded: LoadedRecordsJob,
  staging: string,
  files: RunFileRow[],
  columnsByFile: Map<number, string[]>,
  tmpOutputs: string[],
  log: Logger
): { outputs: AssembledOutput[]; deduped: number; recordsOut: number } {
  const parts = store.partitions(runId)
  const indexed = needsIndex(job)
  const routeStep = job.steps.find((s): s is Extract<Job['steps'][number], { route: unknown }> => 'route' in s)
  const aggregateStep = job.steps.find((s): s is Extract<Job['steps'][number], { aggregate: unknown }> => 'aggregate' in s)
  const split = job.output.split ? { records: job.output.split.records, bytes: job.output.split.bytes === undefined ? undefined : parseSizeBytes(job.output.split.bytes) } : undefined
  const delimiter = outputDelimiter(job)
  const outDir = resolveIn(loaded.baseDir, job.output.folder)
  let deduped = 0
  let recordsOut = 0
  const outputs: AssembledOutput[] = []
  const buf = Buffer.allocUnsafe(1 << 20)
  // Outputs written one after another share one write buffer (one sink open at a time).
  const sinkBuffer = Buffer.allocUnsafe(1 << 20)
  const run = store.run(runId) as RunRow
  // A merged output of a run that takes only some inputs (new files, dropped files) is named for
  // the run, so it never replaces the output of the runs that took the others.
  const partial = run.selection !== null ? runId : undefined
  // Partitions by input file, in plan order: one output of 20,000 per-input outputs looks at its
  // own partitions, not at all of them.
  const partsByFile = new Map<number, PartitionRow[]>()
  for (const p of parts) {
    const list = partsByFile.get(p.file_index)
    if (list) list.push(p)
    else partsByFile.set(p.file_index, [p])
  }
  // Route folders by route name, over the whole run: names that differ only in case ("DE", "de")
  // would be one folder on Windows and macOS, so the later one is numbered.
  // Dedupe keys over the whole run, per route; on disk past a bound (dedupe-index.ts).
  const seen = new DedupeIndex(join(staging, 'dedupe-keys.db'))
  const routeFolders = new Map<string, string>()
  const folderTaken = new Set<string>()
  const folderFor = (route: string): string => {
    let folder = routeFolders.get(route)
    if (folder === undefined) {
      if (routeFolders.size >= MAX_ROUTES) {
        throw new Error(`the route step sends records to more than ${MAX_ROUTES} outputs ("${route}" would be output ${MAX_ROUTES + 1}); a run writes at most ${MAX_ROUTES}. Route by a column with fewer values.`)
      }
      folder = route
      for (let n = 2; folderTaken.has(folder.toLowerCase()); n++) folder = `${route} (${n})`
      folderTaken.add(folder.toLowerCase())
      routeFolders.set(route, folder)
    }
    return folder
  }
  for (const [path, fileIndexes] of outputPaths(job, loaded.baseDir, files, partial)) {
    const mine = fileIndexes.length === 1 ? (partsByFile.get(fileIndexes[0] as number) ?? []) : (() => {
      const wanted = new Set(fileIndexes)
      return parts.filter((p) => wanted.has(p.file_index))
    })()
    const head = outputHead(job.output.format, columnsByFile.get(fileIndexes[0] as number) ?? [], delimiter, job.output.quoting)
    const sinkAt = (at: string, bufferBytes: number, buffer?: Buffer): OutputSink =>
      new OutputSink({ path: at, runId, format: job.output.format, head, split, tmpOutputs, bufferBytes, ...(buffer ? { buffer } : {}) })

    if (aggregateStep) {
      // Partial summaries merged in input order: the same rows however the input was partitioned.
      const summary = new Aggregator(aggregateStep.aggregate, 'aggregate')
      for (const p of mine) {
        const lines = new LineReader(join(staging, `p${p.idx}.out`))
        try {
          for (let line = lines.next(); line !== null; line = lines.next()) if (line) summary.mergeLine(line)
        } finally {
          lines.close()
        }
        recordsOut += p.records_out ?? 0
      }
      const encode = recordEncoder(job.output.format, summary.columns, delimiter, job.output.quoting)
      const sink = sinkAt(path, 1 << 20, sinkBuffer)
      for (const row of summary.rows()) sink.record(Buffer.from(encode(row)))
      outputs.push(...sink.finish())
      continue
    }

    const whole = mine.length === 1 ? (mine[0] as PartitionRow) : null
    if (!indexed && whole?.staged_sha256) {
      // The staged file is the output, header and all: linked into place, not copied.
      outputs.push(linkWholeOutput(join(staging, `p${whole.idx}.out`), path, runId, whole, tmpOutputs))
      crashPoint('after-output-staged')
      continue
    }

    if (!indexed) {
      const sink = sinkAt(path, 1 << 20, sinkBuffer)
      for (const p of mine) {
        const sfd = openSync(join(staging, `p${p.idx}.out`), 'r')
        try {
          for (;;) {
            const n = readSync(sfd, buf, 0, buf.length, null)
            if (n === 0) break
            sink.raw(buf.subarray(0, n))
          }
        } finally {
          closeSync(sfd)
        }
        sink.addRecords(p.records_out ?? 0)
      }
      outputs.push(...sink.finish())
      continue
    }

    // Record by record, by the index: each to its route's output, duplicates dropped (across the
    // whole run, within each route: a set of keys per route), parts cut at record boundaries.
    const sinks = new Map<string, OutputSink>()
    const sinkFor = (route: string): OutputSink => {
      let sink = sinks.get(route)
      if (!sink) {
        const at = routeStep ? join(outDir, folderFor(route), relative(outDir, path)) : path
        sink = sinkAt(at, routeStep ? 64 << 10 : 1 << 20)
        sinks.set(route, sink)
      }
      return sink
    }
    // Named outputs exist even when no record went to them: an empty "suspicious" file says so.
    if (routeStep?.route.when) for (const name of [...Object.keys(routeStep.route.when), routeStep.route.otherwise ?? 'other']) sinkFor(name)
    if (!routeStep) sinkFor('')
    try {
      for (const p of mine) {
        const index = new LineReader(join(staging, `p${p.idx}.index`))
        const data = new BlockReader(join(staging, `p${p.idx}.out`))
        try {
          for (let line = index.next(); line !== null; line = index.next()) {
            const t1 = line.indexOf('\t')
            const t2 = line.indexOf('\t', t1 + 1)
            const rec = data.take(Number(line.slice(0, t1)))
            const routeJson = line.slice(t1 + 1, t2)
            const key = line.slice(t2 + 1)
            const route = routeJson ? (JSON.parse(routeJson) as string) : ''
            if (key && !seen.isNew(route, key)) {
              deduped++
              continue
            }
            sinkFor(route).record(rec)
          }
        } finally {
          index.close()
          data.close()
        }
      }
    } catch (e) {
      for (const sink of sinks.values()) sink.abandon()
      seen.close()
      throw e
    }
    for (const sink of sinks.values()) outputs.push(...sink.finish())
  }
  if (seen.spilled) log.info('dedupe keys held on disk while assembling', { keysInMemory: DEDUPE_KEYS_IN_MEMORY })
  seen.close()
  if (!aggregateStep) recordsOut = outputs.reduce((s, o) => s + o.records, 0)
  return { outputs, deduped, recordsOut }
}

/**
 * A staged partition that is its output's whole file, under the output's temporary name: a hard
 * link (the staged file was flushed to disk by its worker; the rename into place and the folder's
 * flush follow as for every output), or a copy, flushed, where links are not possible (another
 * disk, a file system without them).
 */
function linkWholeOutput(staged: string, path: string, runId: string, p: PartitionRow, tmpOutputs: string[]): AssembledOutput {
  const records = p.records_out ?? 0
  const bytes = p.staged_bytes ?? 0
  const sha256 = p.staged_sha256 as string
  // Already in place: this run linked it there before it was stopped. (A rename between two links
  // of one file does nothing, so a new temporary link would stay behind.)
  if (sameFile(staged, path)) return { path, tmp: path, records, bytes, sha256 }
  mkdirSync(dirname(path), { recursive: true })
  const tmp = join(dirname(path), `.${basename(path)}.${runId}.partial`)
  tmpOutputs.push(tmp)
  try {
    try {
      linkSync(staged, tmp)
    } catch (e) {
      // Left by an attempt of this run that was stopped: replace it.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      rmSync(tmp, { force: true })
      linkSync(staged, tmp)
    }
  } catch {
    copyFileDurably(staged, tmp)
  }
  return { path, tmp, records, bytes, sha256 }
}

function sameFile(a: string, b: string): boolean {
  // Usually the output is not there yet: one stat, and no error thrown and caught per output.
  const y = statSync(b, { throwIfNoEntry: false })
  if (!y) return false
  const x = statSync(a, { throwIfNoEntry: false })
  return x !== undefined && x.ino === y.ino && x.dev === y.dev
}

/** The job's outputs are assembled record by record from an index the workers write (see PartitionTask.indexPath). */
export function needsIndex(job: Job): boolean {
  return job.output.split !== undefined || job.steps.some((s) => 'dedupe' in s || 'route' in s)
}

/** Reads a file sequentially in 1 MiB blocks, handing out byte runs of any length. */
class BlockReader {
  private fd: number
  private buf = Buffer.allocUnsafe(1 << 20)
  private start = 0
  private end = 0

  constructor(private readonly path: string) {
    this.fd = openSync(path, 'r')
  }

  /** The next `len` bytes; valid until the next call. */
  take(len: number): Buffer {
    if (this.end - this.start < len) {
      const rest = this.end - this.start
      if (len > this.buf.length) {
        const bigger = Buffer.allocUnsafe(len)
        this.buf.copy(bigger, 0, this.start, this.end)
        this.buf = bigger
      } else {
        this.buf.copy(this.buf, 0, this.start, this.end)
      }
      this.start = 0
      this.end = rest
      while (this.end < len) {
        const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null)
        if (n === 0) throw new Error(`staged partition ${this.path} is shorter than its keys say`)
        this.end += n
      }
    }
    const out = this.buf.subarray(this.start, this.start + len)
    this.start += len
    return out
  }

  close(): void {
    closeSync(this.fd)
  }
}

/** Reads a UTF-8 text file line by line in 1 MiB blocks. */
class LineReader {
  private fd: number
  private carry = ''
  private lines: string[] = []
  private i = 0
  private eof = false
  private buf = Buffer.allocUnsafe(1 << 20)
  // A block can end inside a multi-byte character; the decoder carries it over.
  private decoder = new StringDecoder('utf8')

  constructor(path: string) {
    this.fd = openSync(path, 'r')
  }

  next(): string | null {
    while (this.i >= this.lines.length) {
      if (this.eof) return null
      const n = readSync(this.fd, this.buf, 0, this.buf.length, null)
      if (n === 0) {
        this.eof = true
        this.lines = this.carry ? [this.carry] : []
        this.carry = ''
      } else {
        const text = this.carry + this.decoder.write(this.buf.subarray(0, n))
        const parts = text.split('\n')
        this.carry = parts.pop() ?? ''
        this.lines = parts
      }
      this.i = 0
    }
    return this.lines[this.i++] as string
  }

  close(): void {
    closeSync(this.fd)
  }
}

export function fsyncDir(dir: string): void {
  // Directories cannot be opened for fsync on Windows; there the rename is durable on its own terms.
  if (process.platform === 'win32') return
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

