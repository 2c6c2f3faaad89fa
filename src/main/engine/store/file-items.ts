// The files-job side of the runs database: one row per finished item (table file_items,
// migration 5), written in the same transaction as the item's partition commit. An item is a
// partition holding one whole input file (idx = file_index), so the run's counters, progress,
// ledger and failure report work as they do for records jobs.
//
// A failed item's failed record is stored with partition_idx NULL, as an unreadable file's is: the
// ledger then leaves the file out, so the next incremental run tries it again.
import type { FailedRecord } from '../../../shared/failures'
import type { Db } from './open-db'
import { messagePattern, type Store } from './store'

/** An output as staged: [name relative to the item's {out} folder (with /), bytes, sha256]. */
export type StagedOutput = [name: string, bytes: number, sha256: string]

export interface ItemRow {
  run_id: string
  idx: number
  seq: number
  command: string
  ok: number
  started_at: number
  runtime_ms: number
  exit_code: number | null
  signal: string | null
  attempts: number
  stdout_tail: string
  stderr_tail: string
  staged: string | null
  outputs: string
  promoted: number
}

export interface FinishedItem {
  idx: number
  seq: number
  command: string
  ok: boolean
  startedAt: number
  runtimeMs: number
  exitCode: number | null
  signal: string | null
  attempts: number
  stdout: string
  stderr: string
  staged: string | null
  outputs: StagedOutput[]
  inputBytes: number
  failure: FailedRecord | null
}

/**
 * Commit finished items in one transaction: each item's partition (counts), its row and its failed
 * record. False if the run has another owner now (nothing is written then).
 */
export function commitItems(store: Store, runId: string, epoch: number, items: FinishedItem[], retries: number): boolean {
  const db = store.db
  const insertItem = db.prepare(
    `INSERT OR REPLACE INTO file_items (run_id, idx, seq, command, ok, started_at, runtime_ms, exit_code, signal, attempts, stdout_tail, stderr_tail, staged, outputs, promoted)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`
  )
  return db.transaction(() => {
    if (!store.ownsRun(runId, epoch)) return false
    for (const it of items) {
      const committed = store.commitPartition(runId, epoch, it.idx, it.idx, {
        counts: { in: 1, out: it.ok ? 1 : 0, filtered: 0, failed: it.ok ? 0 : 1 },
        failures: [],
        stagedBytes: it.outputs.reduce((s, o) => s + o[1], 0),
        keysBytes: 0,
        durationMs: it.runtimeMs
      })
      if (!committed) continue
      insertItem.run(
        runId, it.idx, it.seq, it.command, it.ok ? 1 : 0, it.startedAt, it.runtimeMs, it.exitCode, it.signal, it.attempts,
        it.stdout, it.stderr, it.staged, JSON.stringify(it.outputs)
      )
      if (it.failure) insertFailure(db, runId, it.idx, it.failure)
    }
    if (retries) db.prepare('UPDATE runs SET retries = retries + ? WHERE id = ?').run(retries, runId)
    return true
  })()
}

function insertFailure(db: Db, runId: string, idx: number, f: FailedRecord): void {
  db.prepare('INSERT INTO failed_records (run_id, partition_idx, file_index, line, step, code, message, pattern, raw) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?)').run(
    runId, idx, f.line, f.step, f.code, f.message, messagePattern(f.message), f.raw
  )
}

export function itemRows(db: Db, runId: string): ItemRow[] {
  return db.prepare('SELECT * FROM file_items WHERE run_id = ? ORDER BY seq').all(runId) as ItemRow[]
}

/**
 * Items whose outputs were moved into place, and items that lost their output name to an earlier
 * item (they become failed items, in the same transaction).
 */
export function markPromoted(store: Store, runId: string, epoch: number, promoted: number[], conflicts: { idx: number; failure: FailedRecord }[]): boolean {
  const db = store.db
  return db.transaction(() => {
    if (!store.ownsRun(runId, epoch)) return false
    const mark = db.prepare('UPDATE file_items SET promoted = 1 WHERE run_id = ? AND idx = ?')
    for (const idx of promoted) mark.run(runId, idx)
    for (const c of conflicts) {
      db.prepare('UPDATE file_items SET ok = 0, promoted = 1 WHERE run_id = ? AND idx = ?').run(runId, c.idx)
      db.prepare('UPDATE partitions SET records_out = 0, failed = 1 WHERE run_id = ? AND idx = ?').run(runId, c.idx)
      db.prepare('UPDATE runs SET records_out = records_out - 1, failed = failed + 1 WHERE id = ?').run(runId)
      insertFailure(db, runId, c.idx, c.failure)
    }
    return true
  })()
}

/** Forget a finished item whose staged outputs went missing before they were moved: it is done again. */
export function resetItem(store: Store, runId: string, idx: number): void {
  store.db.transaction(() => {
    const p = store.partition(runId, idx)
    if (p) store.resetPartition(runId, p)
    store.db.prepare('DELETE FROM file_items WHERE run_id = ? AND idx = ?').run(runId, idx)
  })()
}

/** The input files of a run's failed items and of the files it could not read, for a re-run. */
export function failedItemPaths(store: Store, runId: string): string[] {
  return (
    store.db
      .prepare(
        `SELECT DISTINCT rf.path FROM failed_records f JOIN run_files rf ON rf.run_id = f.run_id AND rf.file_index = f.file_index
         WHERE f.run_id = ? ORDER BY rf.file_index`
      )
      .all(runId) as { path: string }[]
  ).map((r) => r.path)
}
