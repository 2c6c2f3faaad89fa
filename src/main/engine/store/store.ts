// Repositories over the runs database. Only the engine's main thread writes it. Every run state
// change is one guarded UPDATE (`WHERE id = ? AND status = ?`) that reports whether it applied.
import { hostname } from 'node:os'
import type { FailedRecord } from '../../../shared/failures'
import type BetterSqlite3 from 'better-sqlite3'
import type { Db } from './open-db'
import { canMove, type RunStatus } from '../run-states'

type Statement = BetterSqlite3.Statement<unknown[], unknown>

export interface RunRow {
  id: string
  job_id: number
  job_version_id: number
  status: RunStatus
  created_at: number
  started_at: number | null
  finished_at: number | null
  planned: number
  records_in: number
  records_out: number
  filtered: number
  deduped: number
  failed: number
  bytes_total: number
  retries: number
  message: string | null
  owner_pid: number | null
  owner_host: string | null
  heartbeat_at: number | null
  epoch: number
  peak_rss: number | null
  cpu_ms: number | null
  /** JSON RunTrigger: what started the run; null for runs from before schedules. */
  trigger: string | null
  /** JSON RunSelection: which input files the run takes; null for all of them. */
  selection: string | null
}

/** What started a run. */
export type RunTrigger =
  | { kind: 'manual' }
  | { kind: 'cron' | 'every'; dueAt: number; dueId: number; missed: boolean }
  | { kind: 'watch'; at: number; dueId: number }
  | { kind: 'drop'; at: number }
  | { kind: 'backfill'; at: number; label: string }
  /** Only the failed records of an earlier run, from temporary files: not in the ledger. */
  | { kind: 'rerun'; of: string }

/** Which of the job's input files a run takes, decided when it is planned. */
export type RunSelection =
  /** Only files that are new or changed since a committed run of the job processed them. */
  | { kind: 'incremental' }
  /** These files (absolute paths), whatever the job's include patterns say. */
  | { kind: 'files'; paths: string[] }

export interface RunFileRow {
  run_id: string
  file_index: number
  path: string
  rel_path: string
  size: number
  mtime_ms: number
  sha256: string
  header: string | null
}

export interface PartitionRow {
  run_id: string
  idx: number
  file_index: number
  start: number
  end: number
  first_line: number
  last_of_file: number
  state: 'pending' | 'committed' | 'superseded'
  attempts: number
  staged_bytes: number | null
  keys_bytes: number | null
  records_in: number | null
  records_out: number | null
  filtered: number | null
  failed: number | null
  duration_ms: number | null
  last_error: string | null
  /** An attempt was running (as far as the database knows). */
  in_flight: number
  /** That attempt ran alone, with no other partition in flight. */
  solo: number
  /** It was in flight when the process died: it runs alone next time. */
  suspect: number
  /** How often the process died while it ran alone: then it was the cause. */
  solo_deaths: number
  /** The staged file is its output's whole file (header included), with this sha256; null otherwise. */
  staged_sha256: string | null
}

export interface JobVersionRow {
  id: number
  job_id: number
  version: number
  hash: string
  definition: string
  base_dir: string
  source_file: string | null
  name: string
}

export interface OutputRow {
  run_id: string
  path: string
  records: number
  bytes: number
  sha256: string
}

export interface FailureGroup {
  code: string
  step: string
  /** The group's message, with per-record values shown as "…". */
  pattern: string
  /** The first record's own message. */
  message: string
  count: number
  sample_file: string
  sample_line: number
  sample_raw: string
}

/** What the failure report groups by: the message without the values that differ per record. */
export function messagePattern(message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/(?<![\w.-])-?\d+(?:\.\d+)?(?![\w.])/g, '…')
}

export interface JobRow {
  id: number
  name: string
  created_at: number
  current_version_id: number | null
  deleted_at: number | null
  /** Its triggers are live: the scheduler runs it. */
  enabled: number
}

export class Store {
  /** Told of every run state change, from anywhere: the engine turns these into events. */
  onMove?: (runId: string, from: RunStatus, to: RunStatus, message: string | null) => void
  onJobsChanged?: (name: string) => void

  /**
   * Prepared statements by their SQL: preparing costs more than running most of these (a run
   * over 2,000 small files runs a few of them per partition). Never for a statement read with
   * .iterate(): one still open would be busy for the next call (failedRecords() prepares its own).
   * The dynamic SQL of failedPage() has at most 16 forms, so the map stays small.
   */
  private readonly stmts = new Map<string, Statement>()

  constructor(readonly db: Db) {}

  private stmt(sql: string): Statement {
    let s = this.stmts.get(sql)
    if (s === undefined) {
      s = this.db.prepare(sql)
      this.stmts.set(sql, s)
    }
    return s
  }

  /** Jobs not deleted, by name, with their current version. */
  jobs(): (JobRow & { version: JobVersionRow })[] {
    const rows = this.stmt('SELECT * FROM jobs WHERE deleted_at IS NULL AND current_version_id IS NOT NULL ORDER BY name').all() as JobRow[]
    return rows.map((j) => ({ ...j, version: this.jobVersion(j.current_version_id as number) }))
  }

  job(name: string): (JobRow & { version: JobVersionRow }) | undefined {
    const j = this.stmt('SELECT * FROM jobs WHERE name = ? AND deleted_at IS NULL AND current_version_id IS NOT NULL').get(name) as JobRow | undefined
    return j ? { ...j, version: this.jobVersion(j.current_version_id as number) } : undefined
  }

  deleteJob(name: string): boolean {
    const r = this.stmt('UPDATE jobs SET deleted_at = ? WHERE name = ? AND deleted_at IS NULL').run(Date.now(), name)
    if (r.changes) this.onJobsChanged?.(name)
    return r.changes === 1
  }

  /** Finished runs of a job, newest first. */
  finishedRuns(jobId: number, limit: number): RunRow[] {
    return this.stmt("SELECT * FROM runs WHERE job_id = ? AND status IN ('succeeded', 'partial', 'failed', 'cancelled') ORDER BY created_at DESC LIMIT ?").all(jobId, limit) as RunRow[]
  }

  lastRun(jobId: number): RunRow | undefined {
    return this.stmt('SELECT * FROM runs WHERE job_id = ? ORDER BY created_at DESC, id DESC LIMIT 1').get(jobId) as RunRow | undefined
  }

  runsOfJob(jobId: number, limit: number): (RunRow & { job: string })[] {
    return this.stmt('SELECT r.*, j.name AS job FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.job_id = ? ORDER BY r.created_at DESC, r.id DESC LIMIT ?').all(jobId, limit) as (RunRow & { job: string })[]
  }

  metrics(runId: string): { second: number; records: number; bytes: number; busy_workers: number; queued: number; rss: number }[] {
    return this.stmt('SELECT * FROM run_metrics WHERE run_id = ? ORDER BY second').all(runId) as never
  }

  /** A page of failed records in file and line order, optionally by code and searched in message and raw text. */
  failedPage(runId: string, opts: { code?: string; step?: string; pattern?: string; search?: string; offset: number; limit: number }): { total: number; rows: { file: string; line: number; step: string; code: string; message: string; raw: string }[] } {
    const where = ['f.run_id = ?']
    const args: unknown[] = [runId]
    for (const [column, value] of [['code', opts.code], ['step', opts.step], ['pattern', opts.pattern]] as const) {
      if (value) {
        where.push(`f.${column} = ?`)
        args.push(value)
      }
    }
    if (opts.search) {
      where.push("(f.message LIKE ? ESCAPE '\\' OR f.raw LIKE ? ESCAPE '\\')")
      const like = `%${opts.search.replace(/[\\%_]/g, (c) => '\\' + c)}%`
      args.push(like, like)
    }
    const w = where.join(' AND ')
    const total = (this.stmt(`SELECT COUNT(*) AS n FROM failed_records f WHERE ${w}`).get(...args) as { n: number }).n
    const rows = this.stmt(
      `SELECT rf.rel_path AS file, f.line, f.step, f.code, f.message, f.raw
         FROM failed_records f JOIN run_files rf ON rf.run_id = f.run_id AND rf.file_index = f.file_index
         WHERE ${w} ORDER BY f.file_index, f.line, f.id LIMIT ? OFFSET ?`
    ).all(...args, opts.limit, opts.offset) as { file: string; line: number; step: string; code: string; message: string; raw: string }[]
    return { total, rows }
  }

  /** The job's version for this definition: an existing one if the definition is unchanged, else a new one. */
  saveJobVersion(name: string, hash: string, definition: string, baseDir: string, sourceFile: string | null, makeCurrent = true): JobVersionRow {
    const now = Date.now()
    return this.db.transaction(() => {
      this.stmt('INSERT INTO jobs (name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING').run(name, now)
      const job = this.stmt('SELECT id FROM jobs WHERE name = ?').get(name) as { id: number }
      const existing = this.stmt('SELECT id FROM job_versions WHERE job_id = ? AND hash = ?').get(job.id, hash) as { id: number } | undefined
      if (!existing) {
        const next = (this.stmt('SELECT COALESCE(MAX(version), 0) + 1 AS v FROM job_versions WHERE job_id = ?').get(job.id) as { v: number }).v
        this.stmt('INSERT INTO job_versions (job_id, version, hash, definition, base_dir, source_file, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(job.id, next, hash, definition, baseDir, sourceFile, now)
      }
      const version = this.stmt('SELECT v.*, j.name FROM job_versions v JOIN jobs j ON j.id = v.job_id WHERE v.job_id = ? AND v.hash = ?').get(job.id, hash) as JobVersionRow
      // The version a run (or a save) used becomes the job's current one; saving undeletes.
      if (makeCurrent) {
        this.stmt('UPDATE jobs SET current_version_id = ?, deleted_at = NULL WHERE id = ?').run(version.id, job.id)
        this.onJobsChanged?.(name)
      }
      return version
    })()
  }

  jobVersion(id: number): JobVersionRow {
    return this.stmt('SELECT v.*, j.name FROM job_versions v JOIN jobs j ON j.id = v.job_id WHERE v.id = ?').get(id) as JobVersionRow
  }

  /**
   * A queued run, owned by this process until it starts (so a run queued by a process that died
   * is found interrupted at the next start, not left queued forever).
   */
  createRun(id: string, version: JobVersionRow, opts: { trigger?: RunTrigger; selection?: RunSelection | null } = {}): void {
    const now = Date.now()
    this.stmt(
      'INSERT INTO runs (id, job_id, job_version_id, status, created_at, owner_pid, owner_host, heartbeat_at, trigger, selection) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
    ).run(id, version.job_id, version.id, 'queued', now, process.pid, hostname(), now, JSON.stringify(opts.trigger ?? { kind: 'manual' }), opts.selection ? JSON.stringify(opts.selection) : null)
  }

  run(id: string): RunRow | undefined {
    return this.stmt('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined
  }

  runs(limit = 100): (RunRow & { job: string })[] {
    return this.stmt('SELECT r.*, j.name AS job FROM runs r JOIN jobs j ON j.id = r.job_id ORDER BY r.created_at DESC, r.id DESC LIMIT ?').all(limit) as (RunRow & { job: string })[]
  }

  /** Guarded state change; false if the run was not in `from` (someone else moved it). */
  move(id: string, from: RunStatus, to: RunStatus, fields: { message?: string | null } = {}): boolean {
    if (!canMove(from, to)) throw new Error(`a run cannot go from ${from} to ${to}`)
    const terminal = to === 'succeeded' || to === 'partial' || to === 'failed' || to === 'cancelled'
    const r = this.stmt(
      `UPDATE runs SET status = ?, message = CASE WHEN ? = 'running' THEN ? ELSE COALESCE(?, message) END,
           started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) ELSE started_at END,
           finished_at = CASE WHEN ? THEN ? ELSE finished_at END
         WHERE id = ? AND status = ?`
    ).run(to, to, fields.message ?? null, fields.message ?? null, to, Date.now(), terminal ? 1 : 0, Date.now(), id, from)
    if (r.changes === 1) this.onMove?.(id, from, to, fields.message ?? null)
    return r.changes === 1
  }

  /** Take ownership of a run: a new epoch fences off any older owner. */
  claim(id: string, pid: number, host: string): number {
    this.stmt('UPDATE runs SET owner_pid = ?, owner_host = ?, heartbeat_at = ?, epoch = epoch + 1 WHERE id = ?').run(pid, host, Date.now(), id)
    return (this.stmt('SELECT epoch FROM runs WHERE id = ?').get(id) as { epoch: number }).epoch
  }

  ownsRun(id: string, epoch: number): boolean {
    const row = this.stmt('SELECT epoch FROM runs WHERE id = ?').get(id) as { epoch: number } | undefined
    return row?.epoch === epoch
  }

  heartbeat(id: string, epoch: number): void {
    this.stmt('UPDATE runs SET heartbeat_at = ? WHERE id = ? AND epoch = ?').run(Date.now(), id, epoch)
  }

  /** Runs that claim to be active; the engine checks whether their owner still lives. */
  activeRuns(): RunRow[] {
    return this.stmt("SELECT * FROM runs WHERE status IN ('queued', 'running', 'paused')").all() as RunRow[]
  }

  /**
   * The frozen manifest and the partitions, in one transaction. Files that cannot be read at all
   * (a broken header, say) are recorded as one failed record each, so the run accounts for them.
   */
  savePlan(
    runId: string,
    files: Omit<RunFileRow, 'run_id'>[],
    parts: Pick<PartitionRow, 'idx' | 'file_index' | 'start' | 'end' | 'first_line' | 'last_of_file'>[],
    fileFailures: { fileIndex: number; failure: FailedRecord }[]
  ): void {
    this.db.transaction(() => {
      this.stmt('DELETE FROM partitions WHERE run_id = ?').run(runId)
      this.stmt('DELETE FROM failed_records WHERE run_id = ?').run(runId)
      this.stmt('DELETE FROM run_files WHERE run_id = ?').run(runId)
      this.stmt('UPDATE runs SET records_in = 0, records_out = 0, filtered = 0, deduped = 0, failed = 0 WHERE id = ?').run(runId)
      const f = this.stmt('INSERT INTO run_files (run_id, file_index, path, rel_path, size, mtime_ms, sha256, header) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      for (const x of files) f.run(runId, x.file_index, x.path, x.rel_path, x.size, x.mtime_ms, x.sha256, x.header)
      const p = this.stmt('INSERT INTO partitions (run_id, idx, file_index, start, end, first_line, last_of_file) VALUES (?, ?, ?, ?, ?, ?, ?)')
      for (const x of parts) p.run(runId, x.idx, x.file_index, x.start, x.end, x.first_line, x.last_of_file)
      const ff = this.stmt(
        'INSERT INTO failed_records (run_id, partition_idx, file_index, line, step, code, message, pattern, raw) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?)'
      )
      for (const { fileIndex, failure: f } of fileFailures) ff.run(runId, fileIndex, f.line, f.step, f.code, f.message, messagePattern(f.message), f.raw)
      this.stmt('UPDATE runs SET records_in = ?, failed = ? WHERE id = ?').run(fileFailures.length, fileFailures.length, runId)
      const total = files.reduce((s, x) => s + x.size, 0)
      this.stmt('UPDATE runs SET planned = 1, bytes_total = ? WHERE id = ?').run(total, runId)
    })()
  }

  // A run over many files holds a row per file and per partition for the whole run. Rows come
  // back as arrays and are built into objects of one fixed shape, sharing the run's id and
  // repeated strings: better-sqlite3's own row objects of 20 columns are dictionaries of about
  // 1.6 KB each, and at 40,000 files they kept the engine's heap four times larger.
  files(runId: string): RunFileRow[] {
    const rows = this.stmt('SELECT file_index, path, rel_path, size, mtime_ms, sha256, header FROM run_files WHERE run_id = ? ORDER BY file_index')
      .raw(true)
      .all(runId) as [number, string, string, number, number, string, string | null][]
    const headers = new Map<string, string>()
    return rows.map(([file_index, path, rel_path, size, mtime_ms, sha256, header]) => {
      const shared = header === null ? null : (headers.get(header) ?? (headers.set(header, header), header))
      return { run_id: runId, file_index, path, rel_path, size, mtime_ms, sha256, header: shared }
    })
  }

  /** Live partitions in output order: by file, then by position in the file. */
  partitions(runId: string): PartitionRow[] {
    const rows = this.stmt(
      `SELECT idx, file_index, start, end, first_line, last_of_file, state, attempts, staged_bytes, keys_bytes, records_in, records_out, filtered,
              failed, duration_ms, last_error, in_flight, solo, suspect, solo_deaths, staged_sha256
         FROM partitions WHERE run_id = ? AND state != 'superseded' ORDER BY file_index, start`
    )
      .raw(true)
      .all(runId) as unknown[][]
    return rows.map((r) => partitionRow(runId, r))
  }

  /** How many live partitions a run has, committed and pending: counted in SQL, for frequent progress. */
  partitionProgress(runId: string): { total: number; done: number; pending: number } {
    const r = this.stmt(
      `SELECT COUNT(*) AS total, COALESCE(SUM(state = 'committed'), 0) AS done, COALESCE(SUM(state = 'pending'), 0) AS pending
         FROM partitions WHERE run_id = ? AND state != 'superseded'`
    ).get(runId) as { total: number; done: number; pending: number }
    return r
  }

  partition(runId: string, idx: number): PartitionRow | undefined {
    return this.stmt('SELECT * FROM partitions WHERE run_id = ? AND idx = ?').get(runId, idx) as PartitionRow | undefined
  }

  /**
   * Record a finished partition: its counts, its failed records and the run's running totals, in
   * one transaction guarded by the owner's epoch. False if the partition is no longer pending
   * (superseded by a re-plan) or the run has another owner.
   */
  commitPartition(
    runId: string,
    epoch: number,
    idx: number,
    fileIndex: number,
    r: {
      counts: { in: number; out: number; filtered: number; failed: number }
      failures: FailedRecord[]
      stagedBytes: number
      keysBytes: number
      durationMs: number
      wholeSha256?: string | undefined
    }
  ): boolean {
    if (!this.ownsRun(runId, epoch)) return false
    const changed = this.stmt(
      `UPDATE partitions SET state = 'committed', staged_bytes = ?, keys_bytes = ?, records_in = ?, records_out = ?,
           filtered = ?, failed = ?, duration_ms = ?, committed_at = ?, in_flight = 0, staged_sha256 = ?
         WHERE run_id = ? AND idx = ? AND state = 'pending'`
    ).run(r.stagedBytes, r.keysBytes, r.counts.in, r.counts.out, r.counts.filtered, r.counts.failed, r.durationMs, Date.now(), r.wholeSha256 ?? null, runId, idx)
    if (changed.changes !== 1) return false
    const ins = this.stmt(
      'INSERT INTO failed_records (run_id, partition_idx, file_index, line, step, code, message, pattern, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'
    )
    for (const f of r.failures) ins.run(runId, idx, fileIndex, f.line, f.step, f.code, f.message, messagePattern(f.message), f.raw)
    this.stmt('UPDATE runs SET records_in = records_in + ?, records_out = records_out + ?, filtered = filtered + ?, failed = failed + ? WHERE id = ?')
      .run(r.counts.in, r.counts.out, r.counts.filtered, r.counts.failed, runId)
    return true
  }

  /**
   * Count an attempt before it starts, durably: an attempt that takes the whole process down
   * (an abort in a worker) is still counted, so the partition can be set aside after a few.
   */
  startAttempt(runId: string, idx: number, solo: boolean): number {
    this.stmt('UPDATE partitions SET attempts = attempts + 1, in_flight = 1, solo = ? WHERE run_id = ? AND idx = ?').run(solo ? 1 : 0, runId, idx)
    return (this.stmt('SELECT attempts FROM partitions WHERE run_id = ? AND idx = ?').get(runId, idx) as { attempts: number }).attempts
  }

  /** The attempt ended inside this process (with a result or an error it caught). */
  endAttempt(runId: string, idx: number): void {
    this.stmt('UPDATE partitions SET in_flight = 0 WHERE run_id = ? AND idx = ?').run(runId, idx)
  }

  /**
   * After the process died: partitions that were in flight become suspects (they run alone
   * next), and one that was running alone when it died is charged with the death. A kill from
   * outside (power cut, kill -9) hits whatever was running; only a partition that keeps taking
   * the process down while alone is set aside.
   */
  chargeProcessDeath(runId: string): number {
    return this.stmt("UPDATE partitions SET solo_deaths = solo_deaths + solo, suspect = 1, in_flight = 0, solo = 0 WHERE run_id = ? AND in_flight = 1 AND state = 'pending'").run(runId).changes
  }

  recordAttemptFailure(runId: string, idx: number, error: string): void {
    this.stmt('UPDATE partitions SET last_error = ? WHERE run_id = ? AND idx = ?').run(error, runId, idx)
    this.stmt('UPDATE runs SET retries = retries + 1 WHERE id = ?').run(runId)
  }

  /**
   * A boundary in file `fileIndex` fell inside a quoted field: drop every partition of the file
   * from `start` on (and whatever they committed) and replace them with one partition to the end.
   */
  replanTail(runId: string, epoch: number, fileIndex: number, start: number): PartitionRow | undefined {
    return this.db.transaction(() => {
      if (!this.ownsRun(runId, epoch)) return undefined
      const tail = this.stmt("SELECT * FROM partitions WHERE run_id = ? AND file_index = ? AND start >= ? AND state != 'superseded' ORDER BY start").all(runId, fileIndex, start) as PartitionRow[]
      const first = tail[0]
      const last = tail[tail.length - 1]
      if (!first || !last || first.start !== start) return undefined
      for (const p of tail) {
        if (p.state === 'committed') {
          this.stmt('UPDATE runs SET records_in = records_in - ?, records_out = records_out - ?, filtered = filtered - ?, failed = failed - ? WHERE id = ?')
            .run(p.records_in ?? 0, p.records_out ?? 0, p.filtered ?? 0, p.failed ?? 0, runId)
          this.stmt('DELETE FROM failed_records WHERE run_id = ? AND partition_idx = ?').run(runId, p.idx)
        }
        this.stmt("UPDATE partitions SET state = 'superseded' WHERE run_id = ? AND idx = ?").run(runId, p.idx)
      }
      const next = (this.stmt('SELECT MAX(idx) + 1 AS n FROM partitions WHERE run_id = ?').get(runId) as { n: number }).n
      this.stmt('INSERT INTO partitions (run_id, idx, file_index, start, end, first_line, last_of_file) VALUES (?, ?, ?, ?, ?, ?, 1)').run(runId, next, fileIndex, start, last.end, first.first_line)
      return this.partition(runId, next)
    })()
  }

  /** Forget a committed partition whose staged output went missing, so that it is redone. */
  resetPartition(runId: string, p: PartitionRow): void {
    this.db.transaction(() => {
      if (p.state !== 'committed') return
      this.stmt('UPDATE runs SET records_in = records_in - ?, records_out = records_out - ?, filtered = filtered - ?, failed = failed - ? WHERE id = ?')
        .run(p.records_in ?? 0, p.records_out ?? 0, p.filtered ?? 0, p.failed ?? 0, runId)
      this.stmt('DELETE FROM failed_records WHERE run_id = ? AND partition_idx = ?').run(runId, p.idx)
      this.stmt("UPDATE partitions SET state = 'pending' WHERE run_id = ? AND idx = ?").run(runId, p.idx)
    })()
  }

  /** The run's commit: outputs recorded and the final status set, guarded by owner and status. */
  commitRun(
    runId: string,
    epoch: number,
    deduped: number,
    outputs: Omit<OutputRow, 'run_id'>[],
    status: 'succeeded' | 'partial',
    stats: { peakRss: number; cpuMs: number },
    /** Files of the run that are not in the job's input folder (dropped from elsewhere): not ledger entries. */
    notInLedger: readonly number[] = []
  ): boolean {
    return this.db.transaction(() => {
      if (!this.ownsRun(runId, epoch)) return false
      this.stmt('DELETE FROM outputs WHERE run_id = ?').run(runId)
      const ins = this.stmt('INSERT INTO outputs (run_id, path, records, bytes, sha256) VALUES (?, ?, ?, ?, ?)')
      for (const o of outputs) ins.run(runId, o.path, o.records, o.bytes, o.sha256)
      this.stmt('UPDATE runs SET deduped = ?, peak_rss = ?, cpu_ms = ? WHERE id = ?').run(deduped, stats.peakRss, stats.cpuMs, runId)
      if (!this.move(runId, 'running', status)) throw new Error(`run ${runId} is no longer running`)
      // The ledger: every version of a file of the input folder this run processed (files refused
      // whole are not, so the next incremental run tries them again; nor files dropped onto the job
      // from another folder, whose bare names could stand for an input file of the same name).
      this.stmt(
        `INSERT OR REPLACE INTO ledger (job_id, rel_path, path, size, mtime_ms, sha256, run_id, processed_at)
           SELECT r.job_id, f.rel_path, f.path, f.size, f.mtime_ms, f.sha256, r.id, ?
           FROM run_files f JOIN runs r ON r.id = f.run_id
           WHERE f.run_id = ? AND f.sha256 <> '' AND COALESCE(json_extract(r.trigger, '$.kind'), '') <> 'rerun'
             AND f.file_index NOT IN (SELECT value FROM json_each(?)) AND NOT EXISTS (
             SELECT 1 FROM failed_records x WHERE x.run_id = f.run_id AND x.file_index = f.file_index AND x.partition_idx IS NULL)`
      ).run(Date.now(), runId, JSON.stringify(notInLedger))
      return true
    })()
  }

  outputs(runId: string): OutputRow[] {
    return this.stmt('SELECT * FROM outputs WHERE run_id = ? ORDER BY rowid').all(runId) as OutputRow[]
  }

  recordMetrics(runId: string, second: number, m: { records: number; bytes: number; busy: number; queued: number; rss: number }): void {
    this.stmt('INSERT OR REPLACE INTO run_metrics (run_id, second, records, bytes, busy_workers, queued, rss) VALUES (?, ?, ?, ?, ?, ?, ?)').run(runId, second, m.records, m.bytes, m.busy, m.queued, m.rss)
  }

  /** Failed records grouped by step, code and message pattern, each with its count and its first record in input order. */
  failureGroups(runId: string): FailureGroup[] {
    return this.stmt(
        `WITH ranked AS (
           SELECT f.*, COUNT(*) OVER g AS count,
                  ROW_NUMBER() OVER (PARTITION BY f.code, f.step, f.pattern ORDER BY f.file_index, f.line, f.id) AS rn
           FROM failed_records f WHERE f.run_id = ?
           WINDOW g AS (PARTITION BY f.code, f.step, f.pattern)
         )
         SELECT r.code, r.step, r.pattern, r.message, r.count, rf.rel_path AS sample_file, r.line AS sample_line, r.raw AS sample_raw
         FROM ranked r JOIN run_files rf ON rf.run_id = r.run_id AND rf.file_index = r.file_index
         WHERE r.rn = 1 ORDER BY r.count DESC, r.code, r.pattern`
      )
      .all(runId) as FailureGroup[]
  }

  /** Every failed record of a run in file and line order, streamed so that millions fit. */
  *failedRecords(runId: string): Generator<{ file: string; line: number; step: string; code: string; message: string; raw: string }> {
    yield* this.db
      .prepare(
        `SELECT rf.rel_path AS file, f.line, f.step, f.code, f.message, f.raw
         FROM failed_records f JOIN run_files rf ON rf.run_id = f.run_id AND rf.file_index = f.file_index
         WHERE f.run_id = ? ORDER BY f.file_index, f.line, f.id`
      )
      .iterate(runId) as Iterable<{ file: string; line: number; step: string; code: string; message: string; raw: string }>
  }
}

const PARTITION_STATES: readonly PartitionRow['state'][] = ['pending', 'committed', 'superseded']

/** One partition row from the column list of Store.partitions, in one object shape. */
function partitionRow(runId: string, r: unknown[]): PartitionRow {
  const state = PARTITION_STATES.find((x) => x === r[6]) ?? (r[6] as PartitionRow['state'])
  return {
    run_id: runId,
    idx: r[0] as number,
    file_index: r[1] as number,
    start: r[2] as number,
    end: r[3] as number,
    first_line: r[4] as number,
    last_of_file: r[5] as number,
    state,
    attempts: r[7] as number,
    staged_bytes: r[8] as number | null,
    keys_bytes: r[9] as number | null,
    records_in: r[10] as number | null,
    records_out: r[11] as number | null,
    filtered: r[12] as number | null,
    failed: r[13] as number | null,
    duration_ms: r[14] as number | null,
    last_error: r[15] as string | null,
    in_flight: r[16] as number,
    solo: r[17] as number,
    suspect: r[18] as number,
    solo_deaths: r[19] as number,
    staged_sha256: r[20] as string | null
  }
}
