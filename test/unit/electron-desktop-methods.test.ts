// "Open output folder": the page names a run; main asks the engine where its outputs are and
// shows that place, never a path the page chose.
import { describe, expect, it } from 'vitest'
import type { Result, RunDetail } from '../../src/shared/api'
import { createDesktopMethods, OPEN_OUTPUT_FOLDER, pathToShow } from '../../src/main/electron/desktop-methods'

function detail(patch: Partial<RunDetail>): RunDetail {
  return {
    runId: 'r1',
    job: 'orders-clean',
    jobVersion: 1,
    status: 'succeeded',
    createdAt: 0,
    startedAt: 0,
    finishedAt: 1,
    counts: { in: 2, out: 2, filtered: 0, deduped: 0, failed: 0 },
    retries: 0,
    bytesTotal: 10,
    message: null,
    partitions: [],
    metrics: [],
    outputs: [],
    latencyMs: { p50: null, p95: null, p99: null },
    outputFolder: '/data/out',
    peakRssBytes: null,
    cpuMs: null,
    ...patch
  }
}

const output = (path: string) => ({ path, records: 1, bytes: 1, sha256: 'x' })

function setup(engineAnswer: Result<unknown>, existing: string[]) {
  const engineCalls: [string, unknown][] = []
  const shown: string[] = []
  const methods = createDesktopMethods({
    callEngine: async (method, params) => {
      engineCalls.push([method, params])
      return engineAnswer
    },
    showItemInFolder: (p) => shown.push(p),
    exists: (p) => existing.includes(p)
  })
  const open = methods[OPEN_OUTPUT_FOLDER]
  if (!open) throw new Error('method missing')
  return { open, engineCalls, shown }
}

describe('pathToShow', () => {
  it('prefers the first existing output file, then the folder', () => {
    const d = detail({ outputs: [output('/data/out/a.jsonl'), output('/data/out/b.jsonl')] })
    expect(pathToShow(d, (p) => p === '/data/out/b.jsonl' || p === '/data/out')).toBe('/data/out/b.jsonl')
    expect(pathToShow(d, (p) => p === '/data/out')).toBe('/data/out')
    expect(pathToShow(d, () => false)).toBeNull()
  })

  it('ignores relative paths', () => {
    expect(pathToShow(detail({ outputs: [output('out/a.jsonl')], outputFolder: 'out' }), () => true)).toBeNull()
  })
})

describe(OPEN_OUTPUT_FOLDER, () => {
  it("asks the engine for the run and shows the run's output in the file manager", async () => {
    const { open, engineCalls, shown } = setup({ ok: true, value: detail({ outputs: [output('/data/out/a.jsonl')] }) }, ['/data/out/a.jsonl', '/data/out'])
    expect(await open({ runId: 'r1' })).toEqual({ ok: true, value: { shown: '/data/out/a.jsonl' } })
    expect(engineCalls).toEqual([['runs.get', { runId: 'r1' }]])
    expect(shown).toEqual(['/data/out/a.jsonl'])
  })

  it('ignores any path the page sends along', async () => {
    const { open, shown } = setup({ ok: true, value: detail({}) }, ['/data/out'])
    await open({ runId: 'r1', path: '/etc', outputFolder: 'C:\\Windows\\System32' })
    expect(shown).toEqual(['/data/out'])
  })

  it('says plainly when the folder is gone, and passes engine errors through', async () => {
    const gone = setup({ ok: true, value: detail({}) }, [])
    const r = await gone.open({ runId: 'r1' })
    expect(r).toEqual({ ok: false, error: { code: 'not_found', message: 'The output folder /data/out does not exist any more; it was moved or deleted.' } })
    expect(gone.shown).toEqual([])
    const missing = setup({ ok: false, error: { code: 'not_found', message: 'There is no run r9.' } }, [])
    expect(await missing.open({ runId: 'r9' })).toEqual({ ok: false, error: { code: 'not_found', message: 'There is no run r9.' } })
  })

  it('refuses a missing or odd run id without asking the engine', async () => {
    const { open, engineCalls } = setup({ ok: true, value: detail({}) }, ['/data/out'])
    for (const params of [{}, { runId: '' }, { runId: 7 }, { runId: 'x'.repeat(101) }]) {
      const r = await open(params)
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error.code).toBe('invalid_params')
    }
    expect(engineCalls).toEqual([])
  })
})
