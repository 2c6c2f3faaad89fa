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

/** Stored one-second metrics, then the live points that come after them. */
export function rateSeries(metrics: MetricPoint[], live: RatePoint[]): RatePoint[] {
  const stored: RatePoint[] = metrics.map((m) => ({ second: m.second, recordsPerSec: m.records, mbPerSec: m.bytes / BYTES_PER_MB }))
  const lastStored = stored.length ? (stored[stored.length - 1] as RatePoint).second : -Infinity
  return [...stored, ...live.filter((p) => p.second > lastStored)]
}
