// Engine events feed the stores once, for the whole app: progress goes to the live store and
// refreshes a shown run's detail (at most once a second); state changes refresh the lists.
import type { RunStatus } from '../../../shared/api'
import { subscribe } from '../api/client'
import { onConnectionState } from '../api/transport'
import { useJobsStore } from './jobs-store'
import { useRunLiveStore } from './run-live-store'
import { useRunsStore } from './runs-store'

/** Several state changes in a burst (a run ending) cause one jobs.list, not several. */
const JOBS_REFRESH_DEBOUNCE_MS = 300

let started = false

function refreshEverythingShown(): void {
  const runs = useRunsStore.getState()
  if (useJobsStore.getState().jobs !== null) void useJobsStore.getState().refresh()
  for (const job of Object.keys(runs.byJob)) void runs.loadJobRuns(job)
  for (const runId of Object.keys(runs.details)) void runs.loadRun(runId)
}

export function startEventWiring(): void {
  if (started) return
  started = true
  let jobsTimer: ReturnType<typeof setTimeout> | null = null
  const refreshJobsSoon = (): void => {
    if (jobsTimer) clearTimeout(jobsTimer)
    jobsTimer = setTimeout(() => {
      jobsTimer = null
      if (useJobsStore.getState().jobs !== null) void useJobsStore.getState().refresh()
    }, JOBS_REFRESH_DEBOUNCE_MS)
  }

  subscribe('run.progressed', (e) => {
    useRunLiveStore.getState().progressed(e)
    useRunsStore.getState().refreshRunSoon(e.runId)
  })

  subscribe('run.stateChanged', (e) => {
    useRunLiveStore.getState().stateChanged(e)
    const runs = useRunsStore.getState()
    if (e.runId in runs.details) void runs.loadRun(e.runId)
    if (e.job in runs.byJob) void runs.loadJobRuns(e.job)
    refreshJobsSoon()
  })

  subscribe('jobs.changed', () => refreshJobsSoon())

  // After the event connection drops and comes back, events may have been missed: fetch again.
  let wasOpen = false
  onConnectionState((state) => {
    if (state === 'open') {
      if (wasOpen) refreshEverythingShown()
      wasOpen = true
    }
  })
}

export const ACTIVE_STATUSES: readonly RunStatus[] = ['queued', 'running', 'paused']
