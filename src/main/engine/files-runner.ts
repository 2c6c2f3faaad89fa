// One run of a files job: each input file is one item, handled by a command or a module.
//
// Order of durable facts for each item, so that a stop at any moment leaves either the old state
// or the new one:
//   item runs, writing only into its staging folder out/.batchery-staging/<runId>/<seq>
//   engine: each file the item wrote is fsynced (and hashed), then its folders
//   engine: the item is committed in SQLite (exit code, runtime, output tails, staged outputs),
//           batched with the items that finished at about the same time
//   engine: in input order, a committed item's outputs are renamed into the output folder, the
//           folders fsynced, and the item is marked promoted in SQLite
//   engine: once every item is promoted: the run commits (outputs, ledger, final status)
// Outputs are moved in input order, so two items that write the same output name are decided the
// same way whatever finished first: the later one in input order fails (OUTPUT_CONFLICT). An item
// that was running when the process died is redone from scratch (its staging folder is cleared
// first); committed items are not redone; committed items not moved yet are moved on resume.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs'
import { mkdir, open, readdir, rm } from 'node:fs/promises'
import { availableParallelism, hostname } from 'node:os'
import { dirname, join, relative, sep } from 'node:path'
import type { DryRunResult } from '../../shared/api'
import type { FailedRecord } from '../../shared/failures'
import { parseDurationMs, type FilesJob } from '../../shared/job'
import { crashPoint } from './crash-points'
import type { InputFile } from './inputs'
import { commandProcessor, describeItem, killLeftoverProcesses, moduleProcessor, type ItemOutcome, type ItemProcessor, type ItemSpec } from './item-processors'
import type { LoadedFilesJob } from './job-check'
import type { Logger } from './log'
import { resolveIn } from './paths'
import { isTerminal } from './run-states'
import { backoffMs, errorText, fsyncDir, isDiskFull, renameWithRetry, filesOutside, Slots, summary, type RunControl, type RunProgress, type RunSummary } from './runner'
import { RunTicker } from './run-ticker'
import { selectInputs, sha256Of } from './selection'
import { commitItems, itemRows, markPromoted, resetItem, type FinishedItem, type StagedOutput } from './store/file-items'
import type { RunFileRow, RunRow, RunSelection, Store } from './store/store'

export { failedItemPaths } from './store/file-items'

/** The staging folder inside a files job's output folder (a dot folder: never read as input). */
export const STAGING_DIR = '.batchery-staging'

export interface FilesRunContext {
  store: Store
  home: string
  runId: string
  loaded: LoadedFilesJob
  log: Logger
  onProgress?: (p: RunProgress) => void
  stop?: AbortSignal
  control?: RunControl
  /** Replace how items are handled (tests; a distributed executor later). */
  createProcessor?: (job: FilesJob, baseDir: string, runId: string, threads: number) => ItemProcessor
}

/** Finished items are committed together: at most this long after the first of a batch finished... */
const COMMIT_EVERY_MS = 50
/** ...or as soon as this many finished. */
const COMMIT_BATCH = 64
/** The error-rate halt rule waits for this many finished files. */
const ERROR_RATE_MIN_ITEMS = 10
/** Of a failed item's error output, the failure report keeps the last this many characters. */
const RAW_TAIL_CHARS = 4000
const PROGRESS_INTERVAL_MS = 100

const DISK_FULL_MESSAGE = 'Stopped: the disk is full. Finished files keep their outputs and no partial output was left; free some space, then resume the run.'

async function fsyncDirAsync(dir: string): Promise<void> {
  if (process.platform === 'win32') return
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** An output the item wrote that Batchery will not move (a link, a reserved name). */
class OutputProblem extends Error {}

/**
 * Every file an item wrote into its staging folder (names relative to it, with /, sorted), each
 * fsynced and hashed, and the folders fsynced: after this, the staged outputs survive a power cut.
 */
async function stageOutputs(dir: string): Promise<StagedOutput[]> {
  const outputs: StagedOutput[] = []
  // A read buffer kept for the next item: one allocated per item was a megabyte of garbage per
  // file (GC was 23% of the engine's thread over 1,000 files).
  const buf = spareReadBuffers.pop() ?? Buffer.allocUnsafe(1 << 20)
  try {
    await stageOutputsWith(dir, buf, outputs)
  } finally {
    if (spareReadBuffers.length < MAX_SPARE_READ_BUFFERS) spareReadBuffers.push(buf)
  }
  return outputs
}

/** Read buffers free for the next item's outputs; items finish a few at a time. */
const spareReadBuffers: Buffer[] = []
const MAX_SPARE_READ_BUFFERS = 16

async function stageOutputsWith(dir: string, buf: Buffer, outputs: StagedOutput[]): Promise<void> {
  const walk = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      const abs = join(d, e.name)
      const name = relative(dir, abs).split(sep).join('/')
      if (e.isDirectory()) {
        await walk(abs)
        continue
      }
      if (!e.isFile()) throw new OutputProblem(`it wrote ${JSON.stringify(name)}, which is not a regular file (a link, say); only files are moved into the output folder`)
      if (name === STAGING_DIR || name.startsWith(`${STAGING_DIR}/`)) throw new OutputProblem(`it wrote ${JSON.stringify(name)}, a name Batchery keeps for its staging folder`)
      const fh = await open(abs, 'r')
      const hash = createHash('sha256')
      let bytes = 0
      try {
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, buf.length, null)
          if (bytesRead === 0) break
          hash.update(buf.subarray(0, bytesRead))
          bytes += bytesRead
        }
        await fh.sync()
      } finally {
        await fh.close()
      }
      outputs.push([name, bytes, hash.digest('hex')])
    }
    await fsyncDirAsync(d)
  }
  await walk(dir)
}

function tailRaw(text: string): string {
  return text.length > RAW_TAIL_CHARS ? `… (${text.length - RAW_TAIL_CHARS} earlier characters) ` + text.slice(-RAW_TAIL_CHARS) : text
}

/** Output names compare without case where the file system does (Windows, macOS). */
function nameKey(name: string): string {
  return process.platform === 'win32' || process.platform === 'darwin' ? name.toLowerCase() : name
}

function itemDir(stagingRoot: string, seq: number, attempt: number): string {
  return join(stagingRoot, attempt === 1 ? String(seq) : `${seq}.${attempt}`)
}

function createProcessor(job: FilesJob, baseDir: string, runId: string, threads: number): ItemProcessor {
  return job.module !== undefined ? moduleProcessor(job, baseDir, threads) : commandProcessor(job, baseDir, runId)
}

interface ItemState {
  phase: 'pending' | 'committed' | 'promoted'
  ok: boolean
  staged: string | null
  outputs: StagedOutput[]
}

export async function executeFilesRun(ctx: FilesRunContext): Promise<RunSummary> {
  const { store, runId, loaded, log } = ctx
  const { job, baseDir } = loaded
  const started = Date.now()
  const cpu0 = process.cpuUsage()
  const prior = store.run(runId)
  if (!prior) throw new Error(`no run ${runId}`)
  const epoch = store.claim(runId, process.pid, hostname())
  if (!store.move(runId, prior.status, 'running')) throw new Error(`run ${runId} could not start from ${prior.status}`)
  log.info('run started', { job: job.name, kind: 'files', resumed: prior.status === 'interrupted', epoch })
  const result = (): RunSummary => ({ ...summary(store, runId, job.name, started), kind: 'files' })

  const outDir = resolveIn(baseDir, job.output.folder)
  const stagingRoot = join(outDir, STAGING_DIR, runId)
  const threads = job.policy.concurrency ?? Math.max(1, availableParallelism())
  const timeoutMs = parseDurationMs(job.policy.timeout)
  const maxAttempts = job.policy.retries + 1

  let phase: RunProgress['phase'] = 'planning'
  let inFlight = 0
  let doneItems = 0
  let doneBytes = 0
  let lastProgressAt = 0
  const report = (force = false): void => {
    if (!ctx.onProgress) return
    const now = Date.now()
    if (!force && now - lastProgressAt < PROGRESS_INTERVAL_MS) return
    lastProgressAt = now
    const run = store.run(runId) as RunRow
    const parts = store.partitionProgress(runId)
    const elapsedMs = now - started
    const rate = elapsedMs > 0 ? doneBytes / (elapsedMs / 1000) : 0
    const perSec = elapsedMs > 0 ? doneItems / (elapsedMs / 1000) : 0
    ctx.onProgress({
      runId,
      job: job.name,
      phase,
      records: doneItems,
      bytesDone: Math.min(run.bytes_total, doneBytes),
      bytesTotal: run.bytes_total,
      partitionsDone: parts.done,
      partitionsTotal: parts.total,
      failed: run.failed,
      elapsedMs,
      recordsPerSec: perSec,
      bytesPerSec: rate,
      etaMs: perSec > 0 && phase === 'running' ? (parts.pending / perSec) * 1000 : null,
      busyWorkers: Math.min(inFlight, threads),
      queued: Math.max(0, parts.pending - inFlight)
    })
  }

  // Heartbeat and per-second metrics (files done, bytes); progress between commits (run-ticker.ts).
  const ticker = new RunTicker({
    store,
    runId,
    epoch,
    log,
    sample: () => ({ records: doneItems, bytes: doneBytes, busy: Math.min(inFlight, threads), queued: 0 }),
    ...(ctx.onProgress ? { onProgress: () => phase === 'running' && report() } : {})
  })

  let processor: ItemProcessor | null = null
  // A process that exits on purpose mid-run (a second Ctrl+C) takes its commands with it.
  const onExit = (): void => processor?.killAll()
  process.on('exit', onExit)
  const halt = new AbortController()
  const stopHandler = (): void => halt.abort()
  ctx.stop?.addEventListener('abort', stopHandler)
  ctx.control?.signal.addEventListener('abort', stopHandler)
  let haltReason: string | null = null
  const doHalt = (reason: string): void => {
    if (haltReason === null) {
      haltReason = reason
      halt.abort()
    }
  }
  try {
    mkdirSync(stagingRoot, { recursive: true })
    sweepStaging(store, join(outDir, STAGING_DIR), runId)
    if (!prior.planned) {
      planItems(store, runId, loaded, log)
      crashPoint('after-plan')
    } else {
      const killed = killLeftoverProcesses(runId)
      if (killed) log.warn('killed processes the interrupted run had left running', { processes: killed })
      refreezePending(store, runId, log)
    }

    const files = new Map(store.files(runId).map((f) => [f.file_index, f]))
    const state = new Map<number, ItemState>()
    for (const p of store.partitions(runId)) state.set(p.idx, { phase: 'pending', ok: false, staged: null, outputs: [] })
    for (const row of itemRows(store.db, runId)) {
      const st = { phase: row.promoted ? 'promoted' : 'committed', ok: row.ok === 1, staged: row.staged, outputs: JSON.parse(row.outputs) as StagedOutput[] } as const
      if (st.phase === 'committed' && st.ok && !stagedIntact(stagingRoot, outDir, st.staged, st.outputs)) {
        log.warn('staged outputs of a finished file are missing; doing it again', { file: files.get(row.idx)?.rel_path })
        resetItem(store, runId, row.idx)
        continue
      }
      state.set(row.idx, { ...st, outputs: [...st.outputs] })
    }
    // Leftovers of attempts that did not commit go; staged outputs waiting to be moved stay.
    const keep = new Set([...state.values()].filter((s) => s.phase === 'committed' && s.staged).map((s) => s.staged as string))
    for (const e of readdirSync(stagingRoot)) if (!keep.has(e)) rmSync(join(stagingRoot, e), { recursive: true, force: true })
    for (const [idx, st] of state) {
      if (st.phase === 'pending') continue
      doneItems++
      doneBytes += files.get(idx)?.size ?? 0
    }

    // Output names already moved into place by this run, with the item that wrote each.
    const claimed = new Map<string, number>()
    const order = [...state.keys()].sort((a, b) => a - b)
    for (const idx of order) {
      const st = state.get(idx) as ItemState
      if (st.phase === 'promoted' && st.ok) for (const [name] of st.outputs) claimed.set(nameKey(name), idx)
    }
    let cursor = 0
    const cleanups: Promise<void>[] = []

    /** Move the outputs of committed items into place, in input order, as far as items are committed. */
    const promoteReady = (): void => {
      const promoted: number[] = []
      const conflicts: { idx: number; failure: FailedRecord }[] = []
      const dirs = new Set<string>()
      for (; cursor < order.length; cursor++) {
        const idx = order[cursor] as number
        const st = state.get(idx) as ItemState
        if (st.phase === 'pending') break
        if (st.phase === 'promoted') continue
        if (!st.ok) {
          promoted.push(idx)
          continue
        }
        const clash = st.outputs.find(([name]) => claimed.has(nameKey(name)))
        if (clash) {
          const first = files.get(claimed.get(nameKey(clash[0])) as number)
          const message = `the output ${JSON.stringify(clash[0])} was written already by ${JSON.stringify(first?.rel_path ?? '?')}, earlier in input order; this file's outputs were not moved into the output folder`
          conflicts.push({ idx, failure: { line: 0, step: 'output', code: 'OUTPUT_CONFLICT', message, raw: st.outputs.map(([n]) => n).join('\n') } })
          continue
        }
        for (const [name] of st.outputs) {
          const from = join(stagingRoot, st.staged as string, ...name.split('/'))
          const to = join(outDir, ...name.split('/'))
          // Not staged any more: moved already, just before the process last stopped (checked on resume).
          if (existsSync(from)) {
            mkdirSync(dirname(to), { recursive: true })
            renameWithRetry(from, to)
          }
          claimed.set(nameKey(name), idx)
          for (let d = dirname(to); ; d = dirname(d)) {
            dirs.add(d)
            if (d === outDir || d === dirname(d) || !d.startsWith(outDir)) break
          }
        }
        crashPoint('after-item-rename')
        promoted.push(idx)
      }
      if (!promoted.length && !conflicts.length) return
      for (const d of dirs) fsyncDir(d)
      if (!markPromoted(store, runId, epoch, promoted, conflicts)) {
        doHalt('Stopped: another Batchery process took over this run.')
        return
      }
      for (const idx of promoted) (state.get(idx) as ItemState).phase = 'promoted'
      for (const c of conflicts) Object.assign(state.get(c.idx) as ItemState, { phase: 'promoted', ok: false })
      for (const idx of [...promoted, ...conflicts.map((c) => c.idx)]) {
        const staged = (state.get(idx) as ItemState).staged
        // Off the engine's thread: it only tidies up (the staging folder goes at the end anyway).
        if (staged) cleanups.push(rm(join(stagingRoot, staged), { recursive: true, force: true }).catch(() => {}))
      }
      crashPoint('after-promote')
    }

    const checkHaltRules = (): void => {
      const run = store.run(runId) as RunRow
      const max = job.policy.maxFailedRecords
      if (max !== undefined && run.failed > max) {
        doHalt(`Stopped: ${run.failed.toLocaleString('en-US')} files failed, more than the job allows (maxFailedRecords ${max}). Files done before it stopped keep their outputs; see the failure report.`)
      }
      const rate = job.policy.maxErrorRate
      if (rate !== undefined && run.records_in >= ERROR_RATE_MIN_ITEMS && run.failed / run.records_in > rate) {
        doHalt(`Stopped: ${((run.failed / run.records_in) * 100).toFixed(1)}% of files failed, more than the job allows (maxErrorRate ${rate}). Files done before it stopped keep their outputs; see the failure report.`)
      }
    }

    let systemError: unknown = null
    const fail = (e: unknown): void => {
      systemError ??= e
      halt.abort()
    }
    const queue: FinishedItem[] = []
    let pendingRetries = 0
    let flushTimer: NodeJS.Timeout | null = null
    const flush = (): void => {
      if (flushTimer) clearTimeout(flushTimer)
      flushTimer = null
      if (!queue.length && !pendingRetries) return
      const batch = queue.splice(0)
      // The items' staging folders are durable before the commit that points at them.
      fsyncDir(stagingRoot)
      if (!commitItems(store, runId, epoch, batch, pendingRetries)) {
        doHalt('Stopped: another Batchery process took over this run.')
        return
      }
      pendingRetries = 0
      for (const it of batch) {
        state.set(it.idx, { phase: 'committed', ok: it.ok, staged: it.staged, outputs: it.outputs })
        doneItems++
        doneBytes += it.inputBytes
        crashPoint('after-item-commit')
      }
      promoteReady()
      checkHaltRules()
      report()
    }
    const queueCommit = (it: FinishedItem): void => {
      queue.push(it)
      if (queue.length >= COMMIT_BATCH) flush()
      else
        flushTimer ??= setTimeout(() => {
          try {
            flush()
          } catch (e) {
            fail(e)
          }
        }, COMMIT_EVERY_MS)
    }

    processor = (ctx.createProcessor ?? createProcessor)(job, baseDir, runId, threads)
    const proc = processor
    const slots = new Slots(threads)
    // Fsyncing and hashing outputs happens outside the slots, so commands keep every slot busy.
    const post = new Slots(threads * 4)

    const finishItem = async (spec: ItemSpec, outcome: ItemOutcome, attempts: number, staged: string): Promise<FinishedItem> => {
      const f = files.get(spec.idx) as RunFileRow
      let ok = outcome.ok
      let message = outcome.message
      let outputs: StagedOutput[] = []
      if (ok) {
        try {
          outputs = await stageOutputs(spec.out)
        } catch (e) {
          if (!(e instanceof OutputProblem)) throw e
          ok = false
          message = e.message
        }
      }
      let failure: FailedRecord | null = null
      if (!ok) {
        const code = outcome.timedOut ? 'COMMAND_TIMEOUT' : job.module !== undefined && outcome.message !== null ? 'SCRIPT_ERROR' : 'COMMAND_FAILED'
        const tries = attempts > 1 ? ` (${attempts} attempts)` : ''
        failure = { line: 0, step: job.module !== undefined ? 'module' : 'command', code, message: `${message ?? 'failed'}${tries}`, raw: tailRaw(outcome.stderr) }
        await rm(spec.out, { recursive: true, force: true })
      }
      return {
        idx: spec.idx,
        seq: spec.seq,
        command: proc.describe(spec),
        ok,
        startedAt: outcome.startedAt,
        runtimeMs: outcome.runtimeMs,
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        attempts,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        staged: ok ? staged : null,
        outputs,
        inputBytes: f.size,
        failure
      }
    }

    const runItem = async (idx: number): Promise<void> => {
      const f = files.get(idx) as RunFileRow
      const seq = idx + 1
      for (let attempt = 1; ; attempt++) {
        if (halt.signal.aborted) return
        await ctx.control?.gate()
        await slots.take()
        if (halt.signal.aborted) {
          slots.give()
          return
        }
        const out = itemDir(stagingRoot, seq, attempt)
        const spec: ItemSpec = { idx, seq, file: f.path, relPath: f.rel_path, out }
        let outcome: ItemOutcome
        inFlight++
        try {
          // From scratch: whatever an earlier attempt left is cleared first (what a process that
          // died left was cleared when this one started). Off the engine's thread, which must
          // keep starting commands.
          for (let a = 1; a < attempt; a++) await rm(itemDir(stagingRoot, seq, a), { recursive: true, force: true })
          await mkdir(out, { recursive: true })
          outcome = await proc.run(spec, timeoutMs, halt.signal)
        } finally {
          inFlight--
          slots.give()
        }
        // Stopped by the run (halt, stop, cancel): not a result; it runs again on resume.
        if (outcome.aborted) return
        if (outcome.fatal) {
          doHalt(`Stopped: ${outcome.fatal}`)
          return
        }
        if (!outcome.ok && attempt < maxAttempts && !halt.signal.aborted) {
          pendingRetries++
          log.warn('file failed; trying again', { file: f.rel_path, attempt, error: outcome.message })
          await new Promise((r) => setTimeout(r, backoffMs(attempt)))
          continue
        }
        await post.take()
        let finished: FinishedItem
        try {
          finished = await finishItem(spec, outcome, attempt, relative(stagingRoot, out))
        } finally {
          post.give()
        }
        queueCommit(finished)
        return
      }
    }

    phase = 'running'
    report(true)
    // Items committed but not moved yet (the process stopped in between) are moved first.
    promoteReady()
    const pending = order.filter((idx) => (state.get(idx) as ItemState).phase === 'pending')
    await Promise.all(
      pending.map((idx) =>
        runItem(idx).catch((e: unknown) => {
          fail(e)
        })
      )
    )
    flush()
    await Promise.all(cleanups)
    if (!halt.signal.aborted) await ctx.control?.gate()
    ctx.stop?.removeEventListener('abort', stopHandler)
    ctx.control?.signal.removeEventListener('abort', stopHandler)
    if (systemError) throw systemError

    if (halt.signal.aborted) {
      const status = (store.run(runId) as RunRow).status
      const finish = (to: 'failed' | 'cancelled' | 'interrupted', message: string): void => {
        store.db.transaction(() => {
          recordOutputs(store, runId, outDir)
          store.move(runId, status, to, { message })
        })()
      }
      if (haltReason !== null) {
        finish('failed', haltReason)
        log.warn('run halted', { reason: haltReason })
        removeStaging(outDir, stagingRoot)
      } else if (ctx.control?.isCancelled) {
        finish('cancelled', `Cancelled. The ${doneItems.toLocaleString('en-US')} files done before it stopped keep their outputs.`)
        log.info('run cancelled by the user')
        removeStaging(outDir, stagingRoot)
      } else {
        finish('interrupted', 'Stopped by the user; resume it to finish.')
        log.info('run interrupted by the user')
      }
      return result()
    }

    if (cursor !== order.length) throw new Error(`internal error: ${order.length - cursor} finished files were not moved into place`)
    const run = store.run(runId) as RunRow
    if (run.records_in !== run.records_out + run.failed) {
      const message = `Internal error: the files do not add up (in ${run.records_in}, done ${run.records_out}, failed ${run.failed}). Please report this.`
      store.move(runId, 'running', 'failed', { message })
      log.error('accounting mismatch', { in: run.records_in, done: run.records_out, failed: run.failed })
      return result()
    }
    const changed = changedSincePlanned(store.files(runId))
    if (changed.length) log.warn('input files changed while the run read them; the ledger keeps the versions it planned, so the next incremental run takes them again', { changed })
    crashPoint('before-run-commit')
    const cpu = process.cpuUsage(cpu0)
    store.commitRun(
      runId,
      epoch,
      0,
      promotedOutputs(store, runId, outDir),
      run.failed > 0 ? 'partial' : 'succeeded',
      { peakRss: ticker.peakRss, cpuMs: Math.round((cpu.user + cpu.system) / 1000) },
      filesOutside(store.files(runId), resolveIn(baseDir, job.input.folder))
    )
    crashPoint('after-run-commit')
    removeStaging(outDir, stagingRoot)
    log.info('run committed', { in: run.records_in, done: run.records_out, failed: run.failed })
    report(true)
    return result()
  } catch (e) {
    halt.abort()
    const current = store.run(runId)
    if (current?.status === 'running' || current?.status === 'paused') {
      if (isDiskFull(e)) {
        log.warn('run stopped: disk full', { error: errorText(e) })
        try {
          store.move(runId, current.status, 'interrupted', { message: DISK_FULL_MESSAGE })
        } catch {
          return { ...result(), status: 'interrupted', message: DISK_FULL_MESSAGE }
        }
      } else {
        store.move(runId, current.status, 'failed', { message: `Stopped by an error: ${errorText(e)}` })
        log.error('run failed', { error: errorText(e), stack: (e as Error)?.stack })
      }
    }
    return result()
  } finally {
    ticker.stop()
    process.off('exit', onExit)
    await processor?.destroy()
  }
}

/** The frozen manifest: every input file with its version; one item (partition) per readable file. */
function planItems(store: Store, runId: string, loaded: LoadedFilesJob, log: Logger): void {
  const { job, baseDir } = loaded
  const run = store.run(runId) as RunRow
  const inputs = selectInputs(store.db, run.job_id, job, baseDir, run.selection ? (JSON.parse(run.selection) as RunSelection) : null)
  const files: Omit<RunFileRow, 'run_id'>[] = []
  const parts: { idx: number; file_index: number; start: number; end: number; first_line: number; last_of_file: number }[] = []
  const fileFailures: { fileIndex: number; failure: FailedRecord }[] = []
  for (const [i, f] of inputs.entries()) {
    let sha = ''
    try {
      sha = sha256Of(f.path)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      const why = code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : errorText(e)
      fileFailures.push({ fileIndex: i, failure: { line: 0, step: 'read', code: 'FILE_UNREADABLE', message: `${f.relPath} cannot be read: ${why}`, raw: '' } })
    }
    files.push({ file_index: i, path: f.path, rel_path: f.relPath, size: f.size, mtime_ms: f.mtimeMs, sha256: sha, header: null })
    if (sha) parts.push({ idx: i, file_index: i, start: 0, end: f.size, first_line: 0, last_of_file: 1 })
  }
  store.savePlan(runId, files, parts, fileFailures)
  log.info('planned', { files: files.length, items: parts.length, unreadable: fileFailures.length })
}

/** On resume: files not done yet that changed since the plan are frozen again at their new version. */
function refreezePending(store: Store, runId: string, log: Logger): void {
  const pending = new Set(store.partitions(runId).filter((p) => p.state === 'pending').map((p) => p.file_index))
  const update = store.db.prepare('UPDATE run_files SET size = ?, mtime_ms = ?, sha256 = ? WHERE run_id = ? AND file_index = ?')
  let n = 0
  for (const f of store.files(runId)) {
    if (!pending.has(f.file_index)) continue
    try {
      const st = statSync(f.path)
      if (st.size === f.size && Math.trunc(st.mtimeMs) === f.mtime_ms) continue
      update.run(st.size, Math.trunc(st.mtimeMs), sha256Of(f.path), runId, f.file_index)
      n++
    } catch {
      // gone: its item fails when it runs, with the command's own message
    }
  }
  if (n) {
    store.db.prepare('UPDATE runs SET bytes_total = (SELECT COALESCE(SUM(size), 0) FROM run_files WHERE run_id = ?) WHERE id = ?').run(runId, runId)
    log.warn('files not processed yet changed while the run was interrupted; it takes their new version', { files: n })
  }
}

/** Each output of a committed item is still staged, or already in place with the same bytes. */
function stagedIntact(stagingRoot: string, outDir: string, staged: string | null, outputs: StagedOutput[]): boolean {
  if (!staged) return outputs.length === 0
  return outputs.every(([name, bytes, sha]) => {
    const from = join(stagingRoot, staged, ...name.split('/'))
    try {
      if (statSync(from).size === bytes) return true
    } catch {
      // not staged: moved already?
    }
    const to = join(outDir, ...name.split('/'))
    try {
      return statSync(to).size === bytes && sha256Of(to) === sha
    } catch {
      return false
    }
  })
}

function promotedOutputs(store: Store, runId: string, outDir: string): { path: string; records: number; bytes: number; sha256: string }[] {
  const outputs: { path: string; records: number; bytes: number; sha256: string }[] = []
  for (const row of itemRows(store.db, runId)) {
    if (!row.ok || !row.promoted) continue
    for (const [name, bytes, sha256] of JSON.parse(row.outputs) as StagedOutput[]) outputs.push({ path: join(outDir, ...name.split('/')), records: 1, bytes, sha256 })
  }
  return outputs
}

/** What a run that stopped early wrote, so that its report lists it. */
function recordOutputs(store: Store, runId: string, outDir: string): void {
  store.db.prepare('DELETE FROM outputs WHERE run_id = ?').run(runId)
  const ins = store.db.prepare('INSERT INTO outputs (run_id, path, records, bytes, sha256) VALUES (?, ?, ?, ?, ?)')
  for (const o of promotedOutputs(store, runId, outDir)) ins.run(runId, o.path, o.records, o.bytes, o.sha256)
}

/** Staging folders of runs that are over (or unknown here) are removed. */
function sweepStaging(store: Store, root: string, runId: string): void {
  let entries: string[]
  try {
    entries = readdirSync(root)
  } catch {
    return
  }
  for (const id of entries) {
    if (id === runId) continue
    const run = store.run(id)
    if (!run || isTerminal(run.status)) rmSync(join(root, id), { recursive: true, force: true })
  }
}

/** A run cancelled while interrupted: its staging folder goes (outputs already moved into place stay). */
export function discardFilesStaging(loaded: LoadedFilesJob, runId: string): void {
  const outDir = resolveIn(loaded.baseDir, loaded.job.output.folder)
  removeStaging(outDir, join(outDir, STAGING_DIR, runId))
}

function removeStaging(outDir: string, stagingRoot: string): void {
  rmSync(stagingRoot, { recursive: true, force: true })
  try {
    rmdirSync(join(outDir, STAGING_DIR))
  } catch {
    // another run's staging is still there
  }
}

function changedSincePlanned(files: RunFileRow[]): string[] {
  const changed: string[] = []
  for (const f of files) {
    if (!f.sha256) continue
    try {
      const st = statSync(f.path)
      if (st.size !== f.size || Math.trunc(st.mtimeMs) !== f.mtime_ms) changed.push(f.rel_path)
    } catch {
      changed.push(f.rel_path)
    }
  }
  return changed
}

// ---------------------------------------------------------------------------------------------
// Without running anything: the commands a run would start, and the job log of a run.

/** Each file's exact command; {out} is shown as out/.batchery-staging/dry-run/<seq> (a run puts its id there). */
export function plannedCommands(loaded: LoadedFilesJob, inputs: InputFile[]): { seq: number; relPath: string; command: string }[] {
  const { job, baseDir } = loaded
  const root = join(resolveIn(baseDir, job.output.folder), STAGING_DIR, 'dry-run')
  return inputs.map((f, i) => ({
    seq: i + 1,
    relPath: f.relPath,
    command: describeItem(job, baseDir, { idx: i, seq: i + 1, file: f.path, relPath: f.relPath, out: join(root, String(i + 1)) })
  }))
}

/** The app's dry run of a files job: the command of each of the first `limit` files; nothing runs. */
export function filesDryRun(loaded: LoadedFilesJob, inputs: InputFile[], limit: number): DryRunResult {
  const planned = plannedCommands(loaded, inputs.slice(0, limit))
  return {
    counts: { in: planned.length, out: 0, filtered: 0, deduped: 0, failed: 0 },
    output: planned.map((p) => ({ seq: p.seq, file: p.relPath, command: p.command })),
    failures: []
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 }

/**
 * The run's job log in GNU parallel's --joblog format: a header, then one tab-separated line per
 * file that ran, in sequence order. Exitval is -1 for a command stopped by a signal (a timeout),
 * as GNU parallel writes it; Send and Receive (bytes moved to remote hosts) are 0.
 */
export function joblog(store: Store, runId: string): string {
  const lines = ['Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand']
  for (const r of itemRows(store.db, runId)) {
    const signal = r.signal ? (SIGNALS[r.signal] ?? 0) : 0
    const exitval = r.exit_code ?? (r.ok ? 0 : -1)
    lines.push([r.seq, ':', (r.started_at / 1000).toFixed(3), (r.runtime_ms / 1000).toFixed(3).padStart(10), 0, 0, exitval, signal, r.command.replaceAll('\n', '\0')].join('\t'))
  }
  return lines.join('\n') + '\n'
}
