// The archive step: a job may say to move each processed input file to an archive folder. This
// is the only time Batchery changes anything under an input folder, and it happens only after the
// run has committed, only to the exact file version the run read (a file changed since is left
// where it is), and it is recorded in the ledger. A move interrupted by a crash is done at the
// next start.
import { existsSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { AnyJob } from '../../shared/job'
import type { Logger } from './log'
import { copyFileDurably, resolveIn } from './paths'
import type { Db } from './store/open-db'

interface Pending {
  job_id: number
  rel_path: string
  path: string
  size: number
  mtime_ms: number
  sha256: string
  run_id: string
}

/** Move the inputs a committed run processed; returns how many were moved. */
export function archiveRunInputs(db: Db, runId: string, job: AnyJob, baseDir: string, log?: Logger): number {
  if (!job.archive) return 0
  const root = resolveIn(baseDir, job.archive.folder)
  const rows = db.prepare('SELECT * FROM ledger WHERE run_id = ? AND archived_to IS NULL ORDER BY rel_path').all(runId) as Pending[]
  let moved = 0
  for (const r of rows) {
    let st
    try {
      st = statSync(r.path)
    } catch {
      continue // gone already (moved by hand, or by us just before a crash)
    }
    if (st.size !== r.size || Math.trunc(st.mtimeMs) !== r.mtime_ms) {
      log?.warn('input changed after the run read it; not archived', { file: r.rel_path })
      continue
    }
    let target = join(root, ...r.rel_path.split('/'))
    if (existsSync(target)) target = `${target}.${runId}`
    try {
      mkdirSync(dirname(target), { recursive: true })
      moveFile(r.path, target)
      db.prepare('UPDATE ledger SET archived_to = ? WHERE job_id = ? AND rel_path = ? AND sha256 = ?').run(target, r.job_id, r.rel_path, r.sha256)
      moved++
    } catch (e) {
      log?.warn('could not archive an input file', { file: r.rel_path, error: (e as Error).message })
    }
  }
  if (moved) log?.info('archived processed inputs', { files: moved, folder: root })
  return moved
}

function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to)
    return
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e
  }
  // Another drive: copy, flush, then remove the original.
  const tmp = `${to}.partial`
  copyFileDurably(from, tmp)
  renameSync(tmp, to)
  unlinkSync(from)
}
