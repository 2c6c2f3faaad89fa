// "Open output folder": the page names a run; main asks the engine where its outputs are and
// shows that place, never a path the page chose. "Choose folder…": the native dialog, with a title
// main picks, and the folder chosen granted.
import { describe, expect, it } from 'vitest'
import type { Result, RunDetail } from '../../src/shared/api'
import { createDesktopMethods, type FolderDialogOptions, OPEN_OUTPUT_FOLDER, PICK_FOLDER, pathToShow } from '../../src/main/electron/desktop-methods'

function detail(patch: Partial<RunDetail>): RunDetail {
  return {
    runId: 'r1',
    job: 'orders-clean',
    jobVersion: 1,
    kind: 'records',
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
    exists: (p) => existing.includes(p),
    showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
    grantChosen: () => null
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

describe(PICK_FOLDER, () => {
  function setup(answer: (o: FolderDialogOptions) => Promise<{ canceled: boolean; filePaths: string[] }>, grant: (p: string) => string | null = (p) => p) {
    const asked: FolderDialogOptions[] = []
    const granted: string[] = []
    const methods = createDesktopMethods({
      callEngine: async () => ({ ok: true, value: null }),
      showItemInFolder: () => {},
      exists: () => true,
      showOpenDialog: (o) => {
        asked.push(o)
        return answer(o)
      },
      grantChosen: (p) => {
        granted.push(p)
        return grant(p)
      }
    })
    const pick = methods[PICK_FOLDER]
    if (!pick) throw new Error('method missing')
    return { pick, asked, granted }
  }

  it('opens the folder dialog (folders only, may make one) and grants and returns the folder chosen', async () => {
    const { pick, asked, granted } = setup(async () => ({ canceled: false, filePaths: ['/data/in'] }))
    expect(await pick({})).toEqual({ ok: true, value: { path: '/data/in' } })
    expect(asked).toEqual([{ title: 'Choose the input folder', buttonLabel: 'Use this folder', properties: ['openDirectory', 'createDirectory'] }])
    expect(granted).toEqual(['/data/in'])
  })

  it('answers null and grants nothing when the user cancels', async () => {
    const { pick, granted } = setup(async () => ({ canceled: true, filePaths: [] }))
    expect(await pick({ purpose: 'output' })).toEqual({ ok: true, value: { path: null } })
    expect(granted).toEqual([])
  })

  it('takes its title from a fixed list, never from the page; defaultPath only when absolute', async () => {
    const { pick, asked } = setup(async () => ({ canceled: true, filePaths: [] }))
    await pick({ purpose: 'archive', defaultPath: '/data/in' })
    await pick({ purpose: 'output', defaultPath: 'relative/in' })
    expect(asked.map((o) => [o.title, o.defaultPath])).toEqual([
      ['Choose the archive folder', '/data/in'],
      ['Choose the output folder', undefined]
    ])
    for (const params of [{ purpose: 'Select your home folder to continue' }, { purpose: 'toString' }, { purpose: 3 }, { defaultPath: 7 }, { defaultPath: 'x'.repeat(5000) }]) {
      const r = await pick(params)
      expect(r.ok, JSON.stringify(params).slice(0, 80)).toBe(false)
      if (!r.ok) expect(r.error.code).toBe('invalid_params')
    }
    expect(asked).toHaveLength(2)
  })

  it('one dialog at a time', async () => {
    let finish: (v: { canceled: boolean; filePaths: string[] }) => void = () => {}
    const { pick, asked } = setup(() => new Promise((r) => (finish = r)))
    const first = pick({})
    const second = await pick({})
    expect(second).toMatchObject({ ok: false, error: { code: 'conflict' } })
    finish({ canceled: false, filePaths: ['/data/in'] })
    expect(await first).toEqual({ ok: true, value: { path: '/data/in' } })
    expect(asked).toHaveLength(1)
    // Closed: the next one opens.
    const third = pick({})
    finish({ canceled: true, filePaths: [] })
    expect(await third).toEqual({ ok: true, value: { path: null } })
  })

  it('refuses a folder that cannot be granted, and frees the dialog when it fails', async () => {
    const refused = setup(async () => ({ canceled: false, filePaths: ['\\\\?\\C:\\x'] }), () => null)
    const r = await refused.pick({})
    expect(r).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    const failing = setup(async () => {
      throw new Error('no window')
    })
    await expect(failing.pick({})).rejects.toThrow('no window')
    await expect(failing.pick({})).rejects.toThrow('no window')
    expect(failing.asked).toHaveLength(2)
  })
})
