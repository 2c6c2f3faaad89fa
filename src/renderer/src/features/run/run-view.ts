// Pure helpers for the live run screen: what can be done in a state, the accounting line, and
// the rate series (stored per-second metrics, continued by live events).
import type { Counts, MetricPoint, RunStatus } from '../../../../shared/api'
import type { RatePoint } from '../../stores/run-live-store'

export const TERMINAL: readonly RunStatus[] = ['succeeded', 'partial', 'failed', 'cancelled']

export function isTerminal(status: RunStatus | null | undefined): boolean {
  return status !== null && status !== undefined && TERMINAL.includes(status)
}

export function canPause(s: RunStatus | null): boolean {
  return s === 'running' || s === 'queued'
}

export function canResume(s: RunStatus | null): boolean {
  return s === 'paused' || s === 'interrupted'
}

export function canCancel(s: RunStatus | null): boolean {
  return s === 'running' || s === 'paused' || s === 'queued' || s === 'interrupted'
}

/**
 * "21 in = 10 out + 2 filtered + 2 duplicates + 7 failed"; for a files job, whose items are files:
 * "4 files = 3 done + 1 failed".
 */
export function accountingLine(c: Counts, format: (n: number) => string = String, kind: 'records' | 'files' = 'records'): string {
  if (kind === 'files') return `${format(c.in)} file${c.in === 1 ? '' : 's'} = ${format(c.out)} done + ${format(c.failed)} failed`
  return `${format(c.in)} in = ${format(c.out)} out + ${format(c.filtered)} filtered + ${format(c.deduped)} duplicate${c.deduped === 1 ? '' : 's'} + ${format(c.failed)} failed`
}

export function balances(c: Counts): boolean {
  return c.in === c.out + c.filtered + c.deduped + c.failed
}

const BYTES_PER_MB = 1_000_000

/**
 * Stored one-second metrics from before this screen heard the run, then the live points. (The
 * stored ones cover what happened before the screen opened; once live points arrive they carry
 * the series, so fetching the run again does not redraw the charts with the same seconds.)
 */
export function rateSeries(metrics: MetricPoint[], live: RatePoint[]): RatePoint[] {
  const firstLive = live.length ? (live[0] as RatePoint).second : Infinity
  const stored: RatePoint[] = []
  for (const m of metrics) if (m.second < firstLive) stored.push({ second: m.second, recordsPerSec: m.records, mbPerSec: m.bytes / BYTES_PER_MB })
  return live.length ? [...stored, ...live] : stored
}

/** True when two rate series hold the same points (a refetch of the run returns new arrays). */
export function sameSeries(a: readonly RatePoint[], b: readonly RatePoint[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as RatePoint
    const y = b[i] as RatePoint
    if (x.second !== y.second || x.recordsPerSec !== y.recordsPerSec || x.mbPerSec !== y.mbPerSec) return false
  }
  return true
}
