// What the tray and the notifications know about runs, kept from the engine's events: which runs
// are in progress (for the tray menu), how far along they are, and which finished runs have been
// announced already (a notification once per run, even if an event arrives twice).
import type { Events, RunProgressEvent, RunStatus } from '../../shared/api'

export const ACTIVE_STATUSES: readonly RunStatus[] = ['queued', 'running', 'paused']
export const ANNOUNCED_STATUSES: readonly RunStatus[] = ['succeeded', 'partial', 'failed']

/** Remembering this many announced runs is plenty to drop duplicates; older ones are forgotten. */
const MAX_REMEMBERED_ANNOUNCEMENTS = 1000

export interface ActiveRun {
  runId: string
  job: string
  status: RunStatus
  /** 0..100 from the latest progress event, or null before any. */
  percent: number | null
  /** Failed records so far, from the latest progress event. */
  failed: number | null
}

export class RunTracker {
  private readonly runs = new Map<string, ActiveRun>()
  private readonly announced = new Set<string>()

  /** Applies a state change; says whether the run just reached a state worth a notification. */
  stateChanged(e: Events['run.stateChanged']): { announce: boolean } {
    if (ACTIVE_STATUSES.includes(e.to)) {
      const current = this.runs.get(e.runId)
      this.runs.set(e.runId, { runId: e.runId, job: e.job, status: e.to, percent: current?.percent ?? null, failed: current?.failed ?? null })
      return { announce: false }
    }
    this.runs.delete(e.runId)
    return { announce: ANNOUNCED_STATUSES.includes(e.to) && this.claim(e.runId) }
  }

  progressed(e: RunProgressEvent): void {
    const run = this.runs.get(e.runId)
    const percent = progressPercent(e)
    if (run) {
      run.percent = percent
      run.failed = e.failed
    } else {
      // Progress of a run whose start we missed (the window opened late, the engine restarted).
      this.runs.set(e.runId, { runId: e.runId, job: e.job, status: 'running', percent, failed: e.failed })
    }
  }

  /** Runs in progress, in the order they started. */
  active(): ActiveRun[] {
    return [...this.runs.values()].map((r) => ({ ...r }))
  }

  /** Failed records of a run as last reported, or null. */
  failedSoFar(runId: string): number | null {
    return this.runs.get(runId)?.failed ?? null
  }

  /** Forgets every run in progress (the engine restarted; its events will rebuild the list). */
  clearActive(): void {
    this.runs.clear()
  }

  private claim(runId: string): boolean {
    if (this.announced.has(runId)) return false
    this.announced.add(runId)
    if (this.announced.size > MAX_REMEMBERED_ANNOUNCEMENTS) {
      const oldest = this.announced.values().next().value
      if (oldest !== undefined) this.announced.delete(oldest)
    }
    return true
  }
}

export function progressPercent(e: Pick<RunProgressEvent, 'bytesDone' | 'bytesTotal' | 'partitionsDone' | 'partitionsTotal'>): number | null {
  const [done, total] = e.bytesTotal > 0 ? [e.bytesDone, e.bytesTotal] : [e.partitionsDone, e.partitionsTotal]
  if (!(total > 0)) return null
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)))
}

export interface NotificationContent {
  title: string
  body: string
}

function count(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`
}

/**
 * The notification for a run that ended, or null when its ending is not announced (cancelled by
 * the user, interrupted by a quit). `failed` and `written` come from the run's final counts when
 * they could be read.
 */
export function notificationFor(run: {
  job: string
  status: RunStatus
  message: string | null
  failed: number | null
  written: number | null
}): NotificationContent | null {
  switch (run.status) {
    case 'succeeded':
      return {
        title: `${run.job} finished`,
        body: run.written === null ? 'The run finished with no failed records.' : `${count(run.written, 'record', 'records')} written, none failed.`
      }
    case 'partial':
      return {
        title: `${run.job} finished with failed records`,
        body:
          run.failed === null || run.failed <= 0
            ? 'The run finished, but some records failed. Click to see why.'
            : `The run finished with ${count(run.failed, 'failed record', 'failed records')}. Click to see why.`
      }
    case 'failed':
      return { title: `${run.job} failed`, body: run.message?.trim() ? run.message.trim() : 'The run stopped before it finished. Click to see why.' }
    default:
      return null
  }
}

/** The renderer's hash route of a run's screen. */
export function runHash(runId: string): string {
  return `#/runs/${encodeURIComponent(runId)}`
}
