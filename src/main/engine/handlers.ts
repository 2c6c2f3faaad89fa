// The engine's side of the contract: one handler per method. Handlers get params already parsed
// by the dispatcher and may throw the engine's named errors; the dispatcher turns those into
// Result errors.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import type {
  DryRunResult,
  FailedRecordView,
  FolderListing,
  JobSummary,
  MethodName,
  Params,
  Results,
  RunDetail,
  RunSummaryView,
  ScheduleView
} from '../../shared/api'
import { columnsAfter } from '../../shared/columns'
import { Aggregator } from '../../workers/steps/aggregate'
import { isObjectInput } from '../../shared/formats'
import { inputDelimiter, outputDelimiter } from '../../shared/job'
import type { PartitionResult } from '../../shared/partition-task'
import { ConflictError, JobNotFoundError, type Engine } from './engine'
import { listInputFiles, maxRecordBytes } from './inputs'
import { checkJob, InvalidJobError, isFilesJob, loadJob, type LoadedJob } from './job-check'
import { failedItemPaths, filesDryRun } from './files-runner'
import { previewFolder } from './detect'
import { runLogPath } from './log'
import { resolveIn } from './paths'
import { inputDataStart, readInputHeader, taskInput } from './plan-formats'
import { rerunFileText, rerunJobParts } from './rerun-formats'
import { scheduleView, setJobEnabled } from './scheduler'
import type { RunRow } from './store/store'

export type Handlers = { [M in MethodName]: (params: Params<M> & Record<string, unknown>) => Promise<Results[M]> | Results[M] }

/** Recent runs a job's summary shows durations and success rate for. */
const RECENT_RUNS = 20

function runView(r: RunRow & { job: string }, version: { version: number; definition: string }): RunSummaryView {
  return {
    runId: r.id,
    job: r.job,
    jobVersion: version.version,
    // A files job counts files: in = done (out) + failed.
    kind: (JSON.parse(version.definition) as { kind?: string }).kind === 'files' ? 'files' : 'records',
    status: r.status,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    counts: { in: r.records_in, out: r.records_out - r.deduped, filtered: r.filtered, deduped: r.deduped, failed: r.failed },
    retries: r.retries,
    bytesTotal: r.bytes_total,
    message: r.message
  }
}

function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null
}

/** A job definition from the app: paths in it are absolute; baseDir only matters for relative ones. */
function loadFromApp(job: unknown, baseDir?: string): LoadedJob {
  return loadJob(job, baseDir ?? homedir(), null)
}

export function createHandlers(engine: Engine): Handlers {
  const store = engine.store

  const jobSummary = (name: string): JobSummary => {
    const j = store.job(name)
    if (!j) throw new JobNotFoundError(name)
    const last = store.lastRun(j.id)
    const finished = store.finishedRuns(j.id, RECENT_RUNS)
    const ok = finished.filter((r) => r.status === 'succeeded' || r.status === 'partial').length
    return {
      name: j.name,
      version: j.version.version,
      definition: JSON.parse(j.version.definition),
      baseDir: j.version.base_dir,
      sourceFile: j.version.source_file,
      lastRun: last ? { runId: last.id, status: last.status, startedAt: last.started_at, finishedAt: last.finished_at } : null,
      successRate: finished.length ? ok / finished.length : null,
      recentDurationsMs: finished
        .filter((r) => r.started_at !== null && r.finished_at !== null)
        .map((r) => (r.finished_at as number) - (r.started_at as number))
        .reverse(),
      ...scheduleSummary(j.id, j.version.definition, j.version.base_dir)
    }
  }

  const scheduleSummary = (jobId: number, definition: string, baseDir: string): Pick<JobSummary, 'scheduled' | 'nextDueAt' | 'missedRecently'> => {
    try {
      const loaded = loadJob(JSON.parse(definition), baseDir, null)
      const v = scheduleView(engine, jobId, loaded.job, Date.now(), { next: 1, recent: 20 })
      const next = v.triggers.flatMap((t) => t.next).sort((a, b) => a - b)[0] ?? null
      return { scheduled: v.enabled && v.triggers.length > 0, nextDueAt: next, missedRecently: v.dueTimes.filter((d) => d.status === 'missed').length }
    } catch {
      return { scheduled: false, nextDueAt: null, missedRecently: 0 }
    }
  }

  const schedule = (name: string): ScheduleView => {
    const j = store.job(name)
    if (!j) throw new JobNotFoundError(name)
    const loaded = loadJob(JSON.parse(j.version.definition), j.version.base_dir, j.version.source_file)
    return scheduleView(engine, j.id, loaded.job, Date.now(), { next: 5, recent: 100 })
  }

  const saveLoaded = (loaded: LoadedJob): JobSummary => {
    const check = checkJob(loaded)
    if (check.problems.length) throw new InvalidJobError(null, check.problems)
    const isNew = store.job(loaded.job.name) === undefined
    store.saveJobVersion(loaded.job.name, loaded.hash, loaded.definition, loaded.baseDir, loaded.sourceFile)
    // A job made in the app is scheduled as soon as it is saved; later saves keep its on/off state.
    if (isNew) setJobEnabled(engine, loaded.job.name, true)
    return jobSummary(loaded.job.name)
  }

  const dryRun = async (loaded: LoadedJob, limit: number): Promise<DryRunResult> => {
    const check = checkJob(loaded)
    if (check.problems.length) throw new InvalidJobError(null, check.problems)
    // A files job's dry run lists the exact command of each file; nothing runs.
    if (isFilesJob(loaded)) return filesDryRun(loaded, check.files, limit)
    const { job } = loaded
    const executor = engine.createExecutor(1)
    const output: Record<string, unknown>[] = []
    const failures: FailedRecordView[] = []
    const counts = { in: 0, out: 0, filtered: 0, deduped: 0, failed: 0 }
    // Duplicates are found within each output: with a route step, one set per route.
    const seenBy = new Map<string, Set<string>>()
    const routes: string[] = []
    const aggregateStep = job.steps.find((s) => 'aggregate' in s)
    const summary = aggregateStep && 'aggregate' in aggregateStep && job.output.layout === 'merged' ? new Aggregator(aggregateStep.aggregate, 'aggregate') : null
    try {
      for (const f of listInputFiles(job, loaded.baseDir)) {
        if (counts.in >= limit) break
        const header = isObjectInput(job.input.format) ? null : readInputHeader(f.path, job)
        if (header && !header.ok) {
          counts.in++
          counts.failed++
          failures.push({ file: f.relPath, line: 1, step: 'read', code: 'FILE_UNREADABLE', message: header.message, raw: '' })
          continue
        }
        const columns = header?.ok ? header.columns : null
        const { dataStart, firstLine } = inputDataStart(f.path, job)
        const result: PartitionResult = await executor.run(
          {
            runId: 'dry-run',
            partitionIdx: 0,
            attempt: 1,
            pipeline: { hash: loaded.hash, steps: job.steps, baseDir: loaded.baseDir },
            input: taskInput(job),
            output: { format: job.output.format, delimiter: outputDelimiter(job), columns: columnsAfter(columns ?? [], job.steps).columns },
            file: f.path,
            start: dataStart,
            end: f.size,
            firstLine,
            lastOfFile: true,
            // The job's own record size limit, as a run would read: a dry run fails the same rows.
            maxRecordBytes: maxRecordBytes(job),
            header: columns,
            stagedPath: '',
            indexPath: null,
            progress: new SharedArrayBuffer(16),
            preview: { limit: limit - counts.in }
          },
          AbortSignal.timeout(60_000)
        )
        counts.in += result.counts.in
        counts.filtered += result.counts.filtered
        counts.failed += result.counts.failed
        for (const r of result.failures) failures.push({ ...r, file: f.relPath })
        const preview = result.preview ?? { records: [], keys: [] }
        if (aggregateStep) {
          // The records reached the summary; the output is its rows, merged over files for a merged output.
          counts.out += result.counts.out
          if (summary) {
            for (const line of (preview.partial ?? '').split('\n')) if (line) summary.mergeLine(line)
          } else {
            output.push(...preview.records)
          }
          continue
        }
        preview.records.forEach((rec, i) => {
          const key = preview.keys[i]
          const route = preview.routes?.[i] ?? null
          let seen = seenBy.get(route ?? '')
          if (!seen) seenBy.set(route ?? '', (seen = new Set()))
          if (key !== null && key !== undefined) {
            if (seen.has(key)) {
              counts.deduped++
              return
            }
            seen.add(key)
          }
          counts.out++
          output.push(rec)
          if (route !== null) routes.push(route)
        })
      }
    } finally {
      await executor.destroy()
    }
    if (summary) output.push(...summary.rows())
    return { counts, output, failures, ...(job.steps.some((s) => 'route' in s) ? { routes } : {}) }
  }

  /**
   * Re-run the failed records of a run with the job as it is now: their raw text (under each
   * file's header) becomes the input of a new run, whose outputs go to a "rerun-<runId>" folder
   * beside the job's outputs so the original outputs stay as they are.
   */
  const rerunFailed = (sourceRunId: string): { runId: string } => {
    const source = engine.requireRun(sourceRunId)
    const name = store.jobVersion(source.job_version_id).name
    const current = engine.savedJob(name)
    if (isFilesJob(current)) {
      // A files job re-runs its failed files themselves, into its own output folder (they left no output).
      const paths = failedItemPaths(store, sourceRunId)
      if (!paths.length) throw new ConflictError('This run has no failed files to re-run.')
      const trigger = { kind: 'backfill' as const, at: Date.now(), label: `the failed files of run ${sourceRunId}` }
      return { runId: engine.startRun(name, undefined, { trigger, selection: { kind: 'files', paths } }) }
    }
    const dir = join(engine.home, 'reruns', sourceRunId)
    mkdirSync(dir, { recursive: true })
    const files = new Map(store.files(sourceRunId).map((f) => [f.rel_path, f]))
    const byFile = new Map<string, string[]>()
    let unusable = 0
    for (const f of store.failedRecords(sourceRunId)) {
      if (f.code === 'FILE_UNREADABLE' || f.raw.includes(' … (')) {
        unusable++
        continue
      }
      const list = byFile.get(f.file) ?? []
      list.push(f.raw)
      byFile.set(f.file, list)
    }
    if (!byFile.size) throw new ConflictError(unusable ? 'None of the failed records can be re-run from the report (whole files, or rows too long to keep).' : 'This run has no failed records to re-run.')
    const { job } = current
    for (const [rel, raws] of byFile) {
      const file = files.get(rel)
      const target = join(dir, 'in', ...rel.split('/'))
      mkdirSync(dirname(target), { recursive: true })
      const header = job.input.format !== 'jsonl' && job.input.header && file?.header ? (JSON.parse(file.header) as string[]) : null
      const d = inputDelimiter(job)
      const head = header ? header.map((h) => (/["\n\r]/.test(h) || h.includes(d) ? `"${h.replaceAll('"', '""')}"` : h)).join(d) + '\n' : ''
      writeFileSync(target, rerunFileText(job, raws) ?? head + raws.join('\n') + '\n', job.input.encoding === 'utf8' ? 'utf8' : 'latin1')
    }
    // Workbooks, JSON arrays and compressed files are re-run from text (rerun-formats.ts).
    const parts = rerunJobParts(job, [...files.values()].map((f) => (f.header ? (JSON.parse(f.header) as string[]) : [])))
    const definition = {
      ...job,
      steps: parts.steps,
      input: { ...parts.input, folder: join(dir, 'in'), include: ['**/*'], exclude: [] },
      output: { ...job.output, folder: join(resolveIn(current.baseDir, job.output.folder), `rerun-${sourceRunId}`) }
    }
    const loaded = loadJob(definition, current.baseDir, current.sourceFile)
    return { runId: engine.startRun(name, loaded, { trigger: { kind: 'rerun', of: sourceRunId } }) }
  }

  const browse = (path?: string): FolderListing => {
    const target = resolve(path && path.trim() ? path : homedir())
    if (!existsSync(target)) throw new InvalidJobError(null, [{ path: 'path', message: `the folder ${target} does not exist` }])
    const dir = statSync(target).isDirectory() ? target : dirname(target)
    const entries: FolderListing['entries'] = []
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue
      try {
        const st = statSync(join(dir, e.name))
        entries.push({ name: e.name, kind: st.isDirectory() ? 'folder' : 'file', size: st.isDirectory() ? 0 : st.size })
      } catch {
        // unreadable entries are left out
      }
    }
    entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'folder' ? -1 : 1))
    const parent = dirname(dir)
    return { path: dir, parent: parent === dir ? null : parent, entries }
  }

  const runDetail = (runId: string): RunDetail => {
    const r = engine.requireRun(runId)
    const name = store.jobVersion(r.job_version_id).name
    const files = new Map(store.files(runId).map((f) => [f.file_index, f.rel_path]))
    const parts = store.partitions(runId)
    const latencies = parts.filter((p) => p.state === 'committed' && p.duration_ms !== null).map((p) => p.duration_ms as number).sort((a, b) => a - b)
    const version = store.jobVersion(r.job_version_id)
    const def = JSON.parse(version.definition) as { output: { folder: string } }
    return {
      ...runView({ ...r, job: name }, version),
      partitions: parts.map((p) => ({
        idx: p.idx,
        file: files.get(p.file_index) ?? '',
        firstLine: p.first_line,
        bytes: p.end - p.start,
        state: p.state,
        attempts: p.attempts,
        durationMs: p.duration_ms,
        records: p.records_in,
        failed: p.failed,
        lastError: p.last_error
      })),
      metrics: store.metrics(runId).map((m) => ({ second: m.second, records: m.records, bytes: m.bytes, busyWorkers: m.busy_workers, queued: m.queued, rssBytes: m.rss })),
      outputs: store.outputs(runId).map((o) => ({ path: o.path, records: o.records, bytes: o.bytes, sha256: o.sha256 })),
      latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) },
      outputFolder: resolveIn(version.base_dir, def.output.folder),
      peakRssBytes: r.peak_rss,
      cpuMs: r.cpu_ms
    }
  }

  return {
    // Listing is when a long-lived engine notices runs whose process died (another CLI, a crash).
    'jobs.list': () => {
      engine.recoverStaleRuns()
      return store.jobs().map((j) => jobSummary(j.name))
    },
    'jobs.get': ({ name }) => jobSummary(name),
    'jobs.validate': ({ job, baseDir }) => {
      let loaded: LoadedJob
      try {
        loaded = loadFromApp(job, baseDir)
      } catch (e) {
        if (e instanceof InvalidJobError) return { problems: e.problems, warnings: [], columns: null }
        throw e
      }
      const check = checkJob(loaded)
      const first = check.files[0]
      const header = first && !isFilesJob(loaded) && !isObjectInput(loaded.job.input.format) ? readInputHeader(first.path, loaded.job) : null
      return { problems: check.problems, warnings: check.warnings, columns: header?.ok ? header.columns : null }
    },
    'jobs.save': ({ job, baseDir }) => saveLoaded(loadFromApp(job, baseDir)),
    'jobs.duplicate': ({ name, newName }) => {
      if (store.job(newName)) throw new ConflictError(`A job named "${newName}" already exists.`)
      const src = engine.savedJob(name)
      return saveLoaded(loadJob({ ...src.job, name: newName }, src.baseDir, null))
    },
    'jobs.delete': ({ name }) => {
      if (!store.deleteJob(name)) throw new JobNotFoundError(name)
      return { deleted: true as const }
    },
    'inputs.preview': (p) => {
      const folder = resolve(p.folder)
      if (!existsSync(folder) || !statSync(folder).isDirectory()) {
        throw new InvalidJobError(null, [{ path: 'folder', message: `the folder ${folder} does not exist` }])
      }
      return previewFolder({ ...p, folder })
    },
    'inputs.browse': ({ path }) => browse(path),
    'runs.dryRun': async ({ job, baseDir, limit }) => {
      const loaded = loadFromApp(job, baseDir)
      try {
        return await dryRun(loaded, limit ?? 200)
      } catch (e) {
        if (e instanceof InvalidJobError || e instanceof ConflictError) throw e
        // A step that cannot even start (a script that does not load) is the job's problem, said plainly.
        throw new ConflictError(`The dry run stopped: ${(e as Error)?.message ?? String(e)}`)
      }
    },
    'jobs.schedule': ({ name }) => schedule(name),
    'jobs.setEnabled': ({ name, enabled }) => {
      if (!store.job(name)) throw new JobNotFoundError(name)
      setJobEnabled(engine, name, enabled)
      return schedule(name)
    },
    'runs.start': ({ job }) => ({ runId: engine.startRun(job) }),
    'runs.startWithFiles': ({ job, paths }) => ({
      runId: engine.startRun(job, undefined, { trigger: { kind: 'drop', at: Date.now() }, selection: { kind: 'files', paths: paths.map((p) => resolve(p)) } })
    }),
    'runs.rerunFailed': ({ runId }) => rerunFailed(runId),
    'runs.pause': ({ runId }) => ({ runId, status: engine.pause(runId) }),
    'runs.resume': ({ runId }) => ({ runId, status: engine.resumeRun(runId) }),
    'runs.cancel': ({ runId }) => ({ runId, status: engine.cancel(runId) }),
    'runs.list': ({ job, limit }) => {
      engine.recoverStaleRuns()
      const rows = job ? (() => {
        const j = store.job(job)
        return j ? store.runsOfJob(j.id, limit ?? 100) : []
      })() : store.runs(limit ?? 100)
      return rows.map((r) => runView(r, store.jobVersion(r.job_version_id)))
    },
    'runs.get': ({ runId }) => {
      engine.recoverStaleRuns()
      return runDetail(runId)
    },
    'runs.failureGroups': ({ runId }) => {
      engine.requireRun(runId)
      return store.failureGroups(runId).map((g) => ({
        code: g.code,
        step: g.step,
        pattern: g.pattern,
        message: g.message,
        count: g.count,
        sampleFile: g.sample_file,
        sampleLine: g.sample_line,
        sampleRaw: g.sample_raw
      }))
    },
    'runs.failures': ({ runId, code, step, pattern, search, offset, limit }) => {
      engine.requireRun(runId)
      const page = store.failedPage(runId, { code, step, pattern, search, offset: offset ?? 0, limit: limit ?? 100 })
      return { total: page.total, rows: page.rows.map((r) => ({ ...r, code: r.code as FailedRecordView['code'] })) }
    },
    'runs.log': ({ runId, tail }) => {
      engine.requireRun(runId)
      const file = runLogPath(engine.home, runId)
      if (!existsSync(file)) return { lines: [] }
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
      return { lines: lines.slice(-(tail ?? 500)).map(readableLogLine) }
    },
    'runs.openOutputFolder': ({ runId }) => {
      throw new ConflictError(`Opening a folder works in the desktop app; the outputs are in ${runDetail(runId).outputFolder}`)
    }
  }
}

/** A pino JSON line as one readable line: time, level, message, the other fields. */
function readableLogLine(line: string): string {
  try {
    const { time, level, msg, runId: _r, scope: _s, pid: _p, hostname: _h, ...rest } = JSON.parse(line) as Record<string, unknown>
    const lvl = level === 30 ? 'info' : level === 40 ? 'warn' : level === 50 ? 'error' : String(level)
    const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : ''
    return `${new Date(time as number).toISOString()} ${lvl} ${String(msg)}${extra}`
  } catch {
    return line
  }
}


