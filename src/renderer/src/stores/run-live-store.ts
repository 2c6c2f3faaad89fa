// Live progress of runs, from run.progressed and run.stateChanged events: the latest progress,
// the state, and a rolling series of records/s and MB/s computed from the events.
import { create } from 'zustand'
import type { Events, RunProgressEvent, RunStatus } from '../../../shared/api'

export interface RatePoint {
  /** Seconds since the run (or its resumption) started. */
  second: number
  recordsPerSec: number
  mbPerSec: number
}

export interface LiveRun {
  progress: RunProgressEvent | null
  status: RunStatus | null
  /** When `status` was learnt (ms since epoch), to compare with a fetched run's age. */
  statusAt: number
  message: string | null
  series: RatePoint[]
  /** The event the current rate window started from. */
  anchor: { elapsedMs: number; records: number; bytes: number } | null
}

/** One point per second of run time: rates over one-second windows, like the stored metrics. */
const RATE_WINDOW_MS = 1000
/** Ten minutes of one-second points; older ones roll off. */
const MAX_POINTS = 600
const BYTES_PER_MB = 1_000_000

interface LiveState {
  runs: Record<string, LiveRun>
  progressed: (e: RunProgressEvent) => void
  stateChanged: (e: Events['run.stateChanged']) => void
  /** The state a pause, resume or cancel call answered with (its event may come later). */
  setStatus: (runId: string, status: RunStatus) => void
}

const EMPTY: LiveRun = { progress: null, status: null, statusAt: 0, message: null, series: [], anchor: null }

/** The next rolling series after one progress event (pure, for tests and the store). */
export function nextSeries(run: LiveRun, e: RunProgressEvent): Pick<LiveRun, 'series' | 'anchor'> {
  const sample = { elapsedMs: e.elapsedMs, records: e.records, bytes: e.bytesDone }
  const a = run.anchor
  // A resumed run starts counting again from zero: start a new window and a new series.
  if (!a || e.elapsedMs < a.elapsedMs || e.records < a.records) {
    return { series: a && e.elapsedMs < a.elapsedMs ? [] : run.series, anchor: sample }
  }
  const dt = e.elapsedMs - a.elapsedMs
  if (dt < RATE_WINDOW_MS) return { series: run.series, anchor: a }
  const point: RatePoint = {
    second: Math.round(e.elapsedMs / 100) / 10,
    recordsPerSec: ((e.records - a.records) * 1000) / dt,
    mbPerSec: ((Math.max(0, e.bytesDone - a.bytes) / BYTES_PER_MB) * 1000) / dt
  }
  const series = run.series.length >= MAX_POINTS ? [...run.series.slice(run.series.length - MAX_POINTS + 1), point] : [...run.series, point]
  return { series, anchor: sample }
}

export const useRunLiveStore = create<LiveState>()((set) => ({
  runs: {},
  progressed: (e) =>
    set((s) => {
      const run = s.runs[e.runId] ?? EMPTY
      const next = nextSeries(run, e)
      const becomesRunning = run.status === null || run.status === 'queued' || run.status === 'interrupted'
      const status = becomesRunning ? 'running' : run.status
      return { runs: { ...s.runs, [e.runId]: { ...run, ...next, progress: e, status, statusAt: becomesRunning ? Date.now() : run.statusAt } } }
    }),
  stateChanged: (e) =>
    set((s) => {
      const run = s.runs[e.runId] ?? EMPTY
      return { runs: { ...s.runs, [e.runId]: { ...run, status: e.to, statusAt: Date.now(), message: e.message } } }
    }),
  setStatus: (runId, status) =>
    set((s) => {
      const run = s.runs[runId] ?? EMPTY
      return { runs: { ...s.runs, [runId]: { ...run, status, statusAt: Date.now() } } }
    })
}))
