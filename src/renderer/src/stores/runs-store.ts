// Runs as the engine stores them: the list per job (runs.list) and one run in detail (runs.get).
import { create } from 'zustand'
import type { ApiError, RunDetail, RunSummaryView } from '../../../shared/api'
import { call, toApiError } from '../api/client'

/** A run's detail (partitions, counts) is fetched again at most this often while progress arrives. */
export const DETAIL_REFRESH_MS = 1000

interface Loaded<T> {
  value: T | null
  error: ApiError | null
  /** When the request that fetched `value` was sent (ms since epoch). */
  askedAt?: number
}

interface RunsState {
  byJob: Record<string, Loaded<RunSummaryView[]>>
  details: Record<string, Loaded<RunDetail>>
  loadJobRuns: (job: string) => Promise<void>
  loadRun: (runId: string) => Promise<void>
  /** Refresh a run's detail if a screen shows it, at most once per DETAIL_REFRESH_MS. */
  refreshRunSoon: (runId: string) => void
}

const lastFetch = new Map<string, number>()
const pending = new Map<string, ReturnType<typeof setTimeout>>()
const inFlight = new Map<string, Promise<void>>()

export const useRunsStore = create<RunsState>()((set, get) => ({
  byJob: {},
  details: {},

  loadJobRuns: async (job) => {
    try {
      const runs = await call('runs.list', { job, limit: 200 })
      set((s) => ({ byJob: { ...s.byJob, [job]: { value: runs, error: null } } }))
    } catch (e) {
      set((s) => ({ byJob: { ...s.byJob, [job]: { value: s.byJob[job]?.value ?? null, error: toApiError(e) } } }))
    }
  },

  loadRun: async (runId) => {
    const running = inFlight.get(runId)
    if (running) return running
    const askedAt = Date.now()
    lastFetch.set(runId, askedAt)
    const p = (async () => {
      try {
        const detail = await call('runs.get', { runId })
        set((s) => ({ details: { ...s.details, [runId]: { value: detail, error: null, askedAt } } }))
      } catch (e) {
        set((s) => ({ details: { ...s.details, [runId]: { value: s.details[runId]?.value ?? null, error: toApiError(e) } } }))
      } finally {
        inFlight.delete(runId)
      }
    })()
    inFlight.set(runId, p)
    return p
  },

  refreshRunSoon: (runId) => {
    if (!(runId in get().details) || pending.has(runId)) return
    const wait = Math.max(0, (lastFetch.get(runId) ?? 0) + DETAIL_REFRESH_MS - Date.now())
    pending.set(
      runId,
      setTimeout(() => {
        pending.delete(runId)
        void get().loadRun(runId)
      }, wait)
    )
  }
}))
