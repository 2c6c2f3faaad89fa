// The preload, with electron mocked at the edge: window.api is exactly { call, subscribe,
// pathForFile, pickFolder, capabilities }; calls go over the one invoke channel; listeners get only
// the payload, never the IPC event; nothing hands out ipcRenderer; a dropped path is reported to
// main (which grants it) before the page gets it.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { ROOT } from '../helpers/cli'

type IpcListener = (event: unknown, message: unknown) => void

const fake = vi.hoisted(() => {
  const state = {
    exposed: new Map<string, unknown>(),
    ipcListeners: new Map<string, IpcListener[]>(),
    invoked: [] as unknown[][],
    sent: [] as unknown[][],
    invokeImpl: (..._args: unknown[]): Promise<unknown> => Promise.resolve({ ok: true, value: 'pong' }),
    pathImpl: (_file: unknown): string => '/home/ana/exports/orders.csv'
  }
  return state
})

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, value: unknown) => fake.exposed.set(key, value) },
  ipcRenderer: {
    on: (channel: string, listener: IpcListener) => fake.ipcListeners.set(channel, [...(fake.ipcListeners.get(channel) ?? []), listener]),
    invoke: (...args: unknown[]) => {
      fake.invoked.push(args)
      return fake.invokeImpl(...args)
    },
    send: (...args: unknown[]) => {
      fake.sent.push(args)
    }
  },
  webUtils: { getPathForFile: (file: unknown) => fake.pathImpl(file) }
}))

interface ExposedApi {
  call(method: unknown, params: unknown): Promise<unknown>
  subscribe(event: unknown, listener: unknown): () => void
  pathForFile(file: unknown): string
  pickFolder(options?: unknown): Promise<unknown>
  capabilities: Record<string, unknown>
}

let api: ExposedApi

/** What main sends on the event channel. The IPC event object is a decoy the page must never see. */
function emit(message: unknown): void {
  const ipcEvent = { sender: 'ipcRenderer', ports: [] }
  for (const l of fake.ipcListeners.get('batchery:event') ?? []) l(ipcEvent, message)
}

beforeAll(async () => {
  await import('../../src/preload/index')
  api = fake.exposed.get('api') as ExposedApi
})

describe('the preload', () => {
  it('exposes window.api and nothing else', () => {
    expect([...fake.exposed.keys()]).toEqual(['api'])
    expect(Object.keys(api).sort()).toEqual(['call', 'capabilities', 'pathForFile', 'pickFolder', 'subscribe'])
    expect(api.capabilities).toEqual({ desktop: true })
    expect(Object.isFrozen(api.capabilities)).toBe(true)
  })

  it('listens on the event channel only', () => {
    expect([...fake.ipcListeners.keys()]).toEqual(['batchery:event'])
  })

  it('calls over the one invoke channel and returns the Result', async () => {
    expect(await api.call('runs.get', { runId: 'r1' })).toEqual({ ok: true, value: 'pong' })
    expect(fake.invoked.at(-1)).toEqual(['batchery:call', 'runs.get', { runId: 'r1' }])
  })

  it('never rejects: a failed invoke or uncloneable params become Result errors', async () => {
    fake.invokeImpl = () => Promise.reject(new Error('reply was never sent'))
    expect(await api.call('jobs.list', {})).toEqual({ ok: false, error: { code: 'internal', message: 'Batchery could not be reached. Try again in a moment.' } })
    fake.invokeImpl = () => {
      throw new Error('An object could not be cloned.')
    }
    const r = (await api.call('jobs.save', { job: () => 1 })) as { ok: boolean; error: { code: string } }
    expect(r.ok).toBe(false)
    expect(r.error.code).toBe('invalid_params')
    const before = fake.invoked.length
    expect(await api.call(42, {})).toEqual({ ok: false, error: { code: 'unknown_method', message: 'Unknown request without a name.' } })
    expect(fake.invoked.length).toBe(before)
    fake.invokeImpl = () => Promise.resolve({ ok: true, value: 'pong' })
  })

  it('gives listeners the payload only, per event name, until they unsubscribe', () => {
    const got: unknown[][] = []
    const offA = api.subscribe('run.stateChanged', (...args: unknown[]) => got.push(['a', ...args]))
    const offB = api.subscribe('run.progressed', (...args: unknown[]) => got.push(['b', ...args]))
    emit({ event: 'run.stateChanged', payload: { runId: 'r1', to: 'running' } })
    emit({ event: 'run.progressed', payload: { runId: 'r1', records: 10 } })
    emit({ event: 'jobs.changed', payload: { name: 'x' } })
    expect(got).toEqual([
      ['a', { runId: 'r1', to: 'running' }],
      ['b', { runId: 'r1', records: 10 }]
    ])
    offA()
    offA() // twice is harmless
    emit({ event: 'run.stateChanged', payload: { runId: 'r1', to: 'succeeded' } })
    expect(got).toHaveLength(2)
    offB()
  })

  it('keeps delivering when one listener throws, and ignores malformed messages', () => {
    const got: unknown[] = []
    const off1 = api.subscribe('navigate', () => {
      throw new Error('page bug')
    })
    const off2 = api.subscribe('navigate', (payload: unknown) => got.push(payload))
    emit({ event: 'navigate', payload: { hash: '#/runs/r1' } })
    emit(null)
    emit('navigate')
    emit({ event: 7, payload: {} })
    expect(got).toEqual([{ hash: '#/runs/r1' }])
    off1()
    off2()
  })

  it('refuses odd subscriptions without failing', () => {
    const off = api.subscribe(42, () => {})
    expect(typeof off).toBe('function')
    off()
    api.subscribe('run.progressed', 'not a function')
    emit({ event: 'run.progressed', payload: {} })
  })

  it('hands out nothing of Electron: no function returns ipcRenderer or an object with methods', async () => {
    const results = [await api.call('jobs.list', {}), api.subscribe('jobs.changed', () => {}), api.pathForFile({})]
    for (const r of results) {
      if (typeof r === 'function') continue // the unsubscribe function
      expect(JSON.parse(JSON.stringify(r))).toEqual(r)
    }
  })

  it("gives a dropped file's real path, having told main about it first; '' when it has none", () => {
    fake.sent.length = 0
    expect(api.pathForFile({ name: 'orders.csv' })).toBe('/home/ana/exports/orders.csv')
    expect(fake.sent).toEqual([['batchery:dropped-path', '/home/ana/exports/orders.csv']])
    fake.pathImpl = () => ''
    expect(api.pathForFile({ name: 'made-in-page.csv' })).toBe('')
    fake.pathImpl = () => {
      throw new TypeError('Expected a File')
    }
    expect(api.pathForFile('nope')).toBe('')
    expect(fake.sent).toHaveLength(1)
  })

  it('opens the folder dialog through main, passing only a purpose and a start folder', async () => {
    fake.invoked.length = 0
    fake.invokeImpl = () => Promise.resolve({ ok: true, value: { path: '/data/in' } })
    expect(await api.pickFolder({ purpose: 'input', defaultPath: '/data', title: 'Pick your home folder', properties: ['openFile'] })).toEqual({ ok: true, value: { path: '/data/in' } })
    await api.pickFolder()
    await api.pickFolder({ purpose: 7, defaultPath: {} })
    expect(fake.invoked).toEqual([
      ['batchery:call', 'dialogs.pickFolder', { purpose: 'input', defaultPath: '/data' }],
      ['batchery:call', 'dialogs.pickFolder', {}],
      ['batchery:call', 'dialogs.pickFolder', {}]
    ])
    fake.invokeImpl = () => Promise.resolve({ ok: true, value: 'pong' })
  })
})

describe('what the preload may import', () => {
  it("imports only 'electron' at run time (it runs sandboxed, as CommonJS)", () => {
    const source = readFileSync(join(ROOT, 'src/preload/index.ts'), 'utf8')
    const runtime = [...source.matchAll(/^\s*import\s(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|\brequire\(\s*['"]([^'"]+)['"]\s*\)|import\(\s*['"]([^'"]+)['"]\s*\)/gm)].map(
      (m) => m[1] ?? m[2] ?? m[3] ?? m[4]
    )
    expect(runtime).toEqual(['electron'])
  })

  it("the built bundle requires nothing but 'electron'", () => {
    const bundle = join(ROOT, 'out/preload/index.cjs')
    expect(existsSync(bundle), `${bundle} is missing: run "npm run build"`).toBe(true)
    const required = [...readFileSync(bundle, 'utf8').matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1])
    expect(new Set(required)).toEqual(new Set(['electron']))
  })
})
