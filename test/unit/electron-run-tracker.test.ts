// What the tray and notifications know about runs: runs in progress from state changes and
// progress, one notification per finished run, and the wording of each.
import { describe, expect, it } from 'vitest'
import type { Events, RunProgressEvent, RunStatus } from '../../src/shared/api'
import { notificationFor, progressPercent, RunTracker, runHash } from '../../src/main/electron/run-tracker'

const changed = (runId: string, from: RunStatus | null, to: RunStatus, message: string | null = null): Events['run.stateChanged'] => ({ runId, job: 'orders-clean', from, to, message })

function progress(runId: string, patch: Partial<RunProgressEvent> = {}): RunProgressEvent {
  return {
    runId,
    job: 'orders-clean',
    phase: 'running',
    records: 0,
    bytesDone: 0,
    bytesTotal: 1000,
    partitionsDone: 0,
    partitionsTotal: 4,
    failed: 0,
    elapsedMs: 0,
    recordsPerSec: 0,
    bytesPerSec: 0,
    etaMs: null,
    busyWorkers: 0,
    queued: 0,
    ...patch
  }
}

describe('RunTracker', () => {
  it('keeps runs in progress, with progress, until they end', () => {
    const t = new RunTracker()
    t.stateChanged(changed('r1', null, 'queued'))
    t.stateChanged(changed('r1', 'queued', 'running'))
    t.progressed(progress('r1', { bytesDone: 420, failed: 3 }))
    t.stateChanged(changed('r2', null, 'running'))
    t.stateChanged(changed('r2', 'running', 'paused'))
    expect(t.active()).toEqual([
      { runId: 'r1', job: 'orders-clean', status: 'running', percent: 42, failed: 3 },
      { runId: 'r2', job: 'orders-clean', status: 'paused', percent: null, failed: null }
    ])
    expect(t.failedSoFar('r1')).toBe(3)
    expect(t.stateChanged(changed('r1', 'running', 'partial'))).toEqual({ announce: true })
    expect(t.active().map((r) => r.runId)).toEqual(['r2'])
  })

  it('announces succeeded, partial and failed runs once each, and not cancelled or interrupted ones', () => {
    const t = new RunTracker()
    expect(t.stateChanged(changed('a', 'running', 'succeeded'))).toEqual({ announce: true })
    expect(t.stateChanged(changed('a', 'running', 'succeeded'))).toEqual({ announce: false })
    expect(t.stateChanged(changed('b', 'running', 'partial'))).toEqual({ announce: true })
    expect(t.stateChanged(changed('c', 'running', 'failed'))).toEqual({ announce: true })
    expect(t.stateChanged(changed('d', 'running', 'cancelled'))).toEqual({ announce: false })
    expect(t.stateChanged(changed('e', 'running', 'interrupted'))).toEqual({ announce: false })
    // An interrupted run that is resumed and then succeeds is announced when it ends.
    t.stateChanged(changed('e', 'interrupted', 'running'))
    expect(t.stateChanged(changed('e', 'running', 'succeeded'))).toEqual({ announce: true })
  })

  it('picks up a run from its progress when its start was missed, and forgets runs when told', () => {
    const t = new RunTracker()
    t.progressed(progress('late', { bytesDone: 500 }))
    expect(t.active()).toEqual([{ runId: 'late', job: 'orders-clean', status: 'running', percent: 50, failed: 0 }])
    t.clearActive()
    expect(t.active()).toEqual([])
  })

  it('hands out copies, not its own records', () => {
    const t = new RunTracker()
    t.stateChanged(changed('r1', null, 'running'))
    const [copy] = t.active()
    copy!.status = 'failed'
    expect(t.active()[0]?.status).toBe('running')
  })
})

describe('progressPercent', () => {
  it('uses bytes, else partitions, floored and bounded', () => {
    expect(progressPercent({ bytesDone: 999, bytesTotal: 1000, partitionsDone: 0, partitionsTotal: 4 })).toBe(99)
    expect(progressPercent({ bytesDone: 0, bytesTotal: 0, partitionsDone: 1, partitionsTotal: 4 })).toBe(25)
    expect(progressPercent({ bytesDone: 0, bytesTotal: 0, partitionsDone: 0, partitionsTotal: 0 })).toBeNull()
    expect(progressPercent({ bytesDone: 2000, bytesTotal: 1000, partitionsDone: 0, partitionsTotal: 0 })).toBe(100)
  })
})

describe('notificationFor', () => {
  const base = { job: 'orders-clean', message: null, failed: null, written: null }

  it('says a run succeeded, with what it wrote', () => {
    expect(notificationFor({ ...base, status: 'succeeded', written: 12345 })).toEqual({ title: 'orders-clean finished', body: '12,345 records written, none failed.' })
    expect(notificationFor({ ...base, status: 'succeeded', written: 1 })?.body).toBe('1 record written, none failed.')
    expect(notificationFor({ ...base, status: 'succeeded' })?.body).toBe('The run finished with no failed records.')
  })

  it('says a partial run finished with N failed records', () => {
    expect(notificationFor({ ...base, status: 'partial', failed: 7 })).toEqual({
      title: 'orders-clean finished with failed records',
      body: 'The run finished with 7 failed records. Click to see why.'
    })
    expect(notificationFor({ ...base, status: 'partial', failed: 1 })?.body).toBe('The run finished with 1 failed record. Click to see why.')
    expect(notificationFor({ ...base, status: 'partial', failed: 1234567 })?.body).toContain('1,234,567 failed records')
    expect(notificationFor({ ...base, status: 'partial' })?.body).toBe('The run finished, but some records failed. Click to see why.')
  })

  it("says a run failed, in the engine's words when it gave some", () => {
    expect(notificationFor({ ...base, status: 'failed', message: 'Stopped after 1,000 failed records (the halt rule).' })).toEqual({
      title: 'orders-clean failed',
      body: 'Stopped after 1,000 failed records (the halt rule).'
    })
    expect(notificationFor({ ...base, status: 'failed', message: '  ' })?.body).toBe('The run stopped before it finished. Click to see why.')
  })

  it('stays quiet for the other states', () => {
    for (const status of ['queued', 'running', 'paused', 'cancelled', 'interrupted'] as const) {
      expect(notificationFor({ ...base, status }), status).toBeNull()
    }
  })
})

describe('runHash', () => {
  it("is the renderer's route to a run, with the id encoded", () => {
    expect(runHash('20261128-091233-7f3a')).toBe('#/runs/20261128-091233-7f3a')
    expect(runHash('a/b#c')).toBe('#/runs/a%2Fb%23c')
  })
})
