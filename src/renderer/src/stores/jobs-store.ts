// Every saved job with its last status, success rate and recent durations (jobs.list).
import { create } from 'zustand'
import type { ApiError, JobSummary } from '../../../shared/api'
import { call, toApiError } from '../api/client'

interface JobsState {
  jobs: JobSummary[] | null
  error: ApiError | null
  loading: boolean
  refresh: () => Promise<void>
}

let inFlight: Promise<void> | null = null
let again = false

export const useJobsStore = create<JobsState>()((set) => ({
  jobs: null,
  error: null,
  loading: false,
  refresh: async () => {
    // Events can ask for many refreshes at once; one runs at a time, and one more afterwards
    // picks up whatever changed meanwhile.
    if (inFlight) {
      again = true
      return inFlight
    }
    set({ loading: true })
    inFlight = (async () => {
      do {
        again = false
        try {
          const jobs = await call('jobs.list', {})
          jobs.sort((a, b) => a.name.localeCompare(b.name))
          set({ jobs, error: null })
        } catch (e) {
          set({ error: toApiError(e) })
        }
      } while (again)
      set({ loading: false })
      inFlight = null
    })()
    return inFlight
  }
}))
