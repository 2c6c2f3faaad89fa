// A watched input folder. chokidar tells us that something changed; what counts is what we check
// ourselves: the job's input files that are new or changed since a committed run processed them
// (the ledger), ignoring temporary and partial names, and only once each has kept the same size
// and modified time for the settle time. A burst of files that settle together is one run. While
// the job runs, new files wait for the next one; nothing is dropped.
import { statSync } from 'node:fs'
import chokidar, { type FSWatcher } from 'chokidar'
import { parseDurationMs } from '../../shared/job'
import { listInputFiles, type InputFile } from './inputs'
import type { LoadedJob } from './job-check'
import type { Logger } from './log'
import { resolveIn } from './paths'
import { isTempName } from './schedule'
import { newOrChanged } from './selection'
import type { Db } from './store/open-db'

export interface FolderWatchOptions {
  db: Db
  jobId: number
  loaded: LoadedJob
  settle: string
  /** The job has a run going or a due time waiting: new files wait. */
  isBusy: () => boolean
  fire: (paths: string[]) => void
  log?: Logger
}

/** Look again at least this often even without events (events can be lost, e.g. on network drives). */
const RESCAN_MS = 60_000
/** A version whose run failed is tried again after this long, or as soon as it changes. */
const RETRY_FAILED_MS = 10 * 60_000

interface Candidate {
  size: number
  mtimeMs: number
  /** When this size and modified time were first seen. */
  since: number
}

export class FolderWatch {
  private watcher: FSWatcher | null = null
  private timer: NodeJS.Timeout | null = null
  private readonly settleMs: number
  private readonly candidates = new Map<string, Candidate>()
  /** Versions handed to a run (path|size|mtime → when): not fired again unless they change or the retry time passes. */
  private readonly handed = new Map<string, number>()
  private lastEventAt = 0
  private closed = false

  constructor(private readonly o: FolderWatchOptions) {
    this.settleMs = parseDurationMs(o.settle)
  }

  get folder(): string {
    return resolveIn(this.o.loaded.baseDir, this.o.loaded.job.input.folder)
  }

  start(): void {
    const outDir = resolveIn(this.o.loaded.baseDir, this.o.loaded.job.output.folder)
    this.watcher = chokidar.watch(this.folder, {
      ignoreInitial: true,
      // The job's own output folder may sit inside its input folder.
      ignored: (p: string) => p === outDir || p.startsWith(outDir + '/') || p.startsWith(outDir + '\\'),
      persistent: false
    })
    const poke = (): void => {
      this.lastEventAt = Date.now()
      this.schedule(Math.min(this.settleMs, 250))
    }
    this.watcher.on('add', poke).on('change', poke).on('unlink', poke).on('addDir', poke)
    this.watcher.on('error', (e) => this.o.log?.warn('watching the input folder failed', { folder: this.folder, error: (e as Error).message }))
    // Files that landed while Batchery was closed count too.
    this.schedule(0)
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    await this.watcher?.close()
  }

  private schedule(ms: number): void {
    if (this.closed) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => this.check(), ms)
    this.timer.unref?.()
  }

  /** Look at the folder: update candidates, fire once everything new has settled. */
  check(): void {
    if (this.closed) return
    const now = Date.now()
    let fresh: InputFile[]
    try {
      const all = listInputFiles(this.o.loaded.job, this.o.loaded.baseDir).filter((f) => !isTempName(f.relPath))
      fresh = newOrChanged(this.o.db, this.o.jobId, all)
    } catch (e) {
      this.o.log?.warn('cannot list the watched folder', { folder: this.folder, error: (e as Error).message })
      this.schedule(Math.max(this.settleMs, 5_000))
      return
    }
    for (const [k, at] of this.handed) if (now - at >= RETRY_FAILED_MS) this.handed.delete(k)
    const present = new Set<string>()
    for (const f of fresh) {
      const key = versionKey(f)
      const handedAt = this.handed.get(key)
      if (handedAt !== undefined && now - handedAt < RETRY_FAILED_MS) continue
      present.add(f.path)
      const c = this.candidates.get(f.path)
      if (!c || c.size !== f.size || c.mtimeMs !== f.mtimeMs) this.candidates.set(f.path, { size: f.size, mtimeMs: f.mtimeMs, since: now })
    }
    for (const p of this.candidates.keys()) if (!present.has(p)) this.candidates.delete(p)
    if (!this.candidates.size) {
      this.schedule(RESCAN_MS)
      return
    }
    const settledAt = Math.max(this.lastEventAt, ...[...this.candidates.values()].map((c) => c.since)) + this.settleMs
    if (now < settledAt) {
      this.schedule(Math.max(50, settledAt - now))
      return
    }
    if (this.o.isBusy()) {
      this.schedule(Math.max(500, Math.min(this.settleMs, 5_000)))
      return
    }
    // One last look: a file that changed since our last check is not settled after all.
    for (const [p, c] of this.candidates) {
      try {
        const st = statSync(p)
        if (st.size !== c.size || Math.trunc(st.mtimeMs) !== c.mtimeMs) {
          this.candidates.set(p, { size: st.size, mtimeMs: Math.trunc(st.mtimeMs), since: now })
          this.schedule(this.settleMs)
          return
        }
      } catch {
        this.candidates.delete(p)
      }
    }
    const paths = [...this.candidates.keys()].sort()
    for (const [p, c] of this.candidates) this.handed.set(`${p}|${c.size}|${c.mtimeMs}`, now)
    this.candidates.clear()
    this.o.fire(paths)
    this.schedule(this.settleMs)
  }
}

function versionKey(f: InputFile): string {
  return `${f.path}|${f.size}|${f.mtimeMs}`
}
