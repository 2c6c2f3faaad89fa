// Which input files a run takes: all of the job's files, only those that are new or changed since
// a committed run processed them (the ledger), or a given set (files dropped onto a job, a
// backfill). Decided once, when the run is planned; the frozen manifest then holds.
import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { basename, isAbsolute, relative, resolve, sep } from 'node:path'
import type { AnyJob } from '../../shared/job'
import { listInputFiles, type InputFile } from './inputs'
import { resolveIn } from './paths'
import type { Db } from './store/open-db'
import type { RunSelection } from './store/store'

export interface LedgerEntry {
  rel_path: string
  size: number
  mtime_ms: number
  sha256: string
  run_id: string
  processed_at: number
  archived_to: string | null
}

export function selectInputs(db: Db, jobId: number, job: AnyJob, baseDir: string, selection: RunSelection | null): InputFile[] {
  if (selection?.kind === 'files') return givenFiles(job, baseDir, selection.paths)
  const all = listInputFiles(job, baseDir)
  if (selection?.kind !== 'incremental') return all
  return newOrChanged(db, jobId, all)
}

/** The files among `files` that no committed run of the job processed in this version. */
export function newOrChanged(db: Db, jobId: number, files: InputFile[]): InputFile[] {
  const versions = db.prepare('SELECT size, mtime_ms, sha256 FROM ledger WHERE job_id = ? AND rel_path = ?')
  return files.filter((f) => {
    const seen = versions.all(jobId, f.relPath) as { size: number; mtime_ms: number; sha256: string }[]
    if (!seen.length) return true
    if (seen.some((v) => v.size === f.size && v.mtime_ms === f.mtimeMs)) return false
    // Touched (a new modified time) but maybe not changed: the contents decide.
    const sameSize = seen.filter((v) => v.size === f.size)
    if (!sameSize.length) return true
    let hash: string
    try {
      hash = sha256Of(f.path)
    } catch {
      return true // unreadable now: the run will say so
    }
    return !sameSize.some((v) => v.sha256 === hash)
  })
}

/**
 * Files given by path (dropped onto the job). Inside the job's input folder they keep their
 * relative path; outside it, their name. Missing ones are left for the run to report.
 */
export function givenFiles(job: AnyJob, baseDir: string, paths: string[]): InputFile[] {
  const root = resolveIn(baseDir, job.input.folder)
  const files: InputFile[] = []
  const seen = new Set<string>()
  for (const p of paths) {
    const abs = resolve(p)
    if (seen.has(abs)) continue
    seen.add(abs)
    const rel = relative(root, abs)
    const relPath = rel && !rel.startsWith('..') && !rel.startsWith(sep) ? rel.split(sep).join('/') : basename(abs)
    let size = 0
    let mtimeMs = 0
    try {
      const st = statSync(abs)
      size = st.size
      mtimeMs = Math.trunc(st.mtimeMs)
    } catch {
      // planned as unreadable, with its reason
    }
    files.push({ path: abs, relPath, size, mtimeMs })
  }
  files.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0))
  return files
}

/** Whether `path` lies outside the folder `root` (a file dropped onto the job from elsewhere). */
export function isOutside(root: string, path: string): boolean {
  const rel = relative(root, resolve(path))
  return rel === '' || rel.startsWith('..') || isAbsolute(rel)
}

export function sha256Of(path: string): string {
  const h = createHash('sha256')
  const fd = openSync(path, 'r')
  const buf = Buffer.allocUnsafe(1 << 20)
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null)
      if (n === 0) break
      h.update(buf.subarray(0, n))
    }
  } finally {
    closeSync(fd)
  }
  return h.digest('hex')
}
