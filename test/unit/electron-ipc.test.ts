// The IPC edge: who may call (table-driven), what shape a call must have, and the handler driven
// with fake invoke events, so nothing untrusted reaches the engine and nothing throws across.
import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent, WebContents } from 'electron'
import { describe, expect, it } from 'vitest'
import type { Result } from '../../src/shared/api'
import {
  CALL_CHANNEL,
  checkCall,
  createCallHandler,
  createDroppedPathListener,
  DROPPED_PATH_CHANNEL,
  EVENT_CHANNEL,
  isTrustedSender,
  REFUSED_SENDER,
  registerIpc,
  sendEvent,
  type SenderFrame
} from '../../src/main/electron/ipc'
import { APP_ORIGIN } from '../../src/main/electron/security'

const PROD = [APP_ORIGIN]
const DEV = ['http://localhost:5173']

describe('isTrustedSender', () => {
  const cases: [string, SenderFrame | null | undefined, readonly string[], boolean][] = [
    ['our page', { url: 'app://batchery/index.html', isMainFrame: true }, PROD, true],
    ['our page on a route', { url: 'app://batchery/index.html#/runs/20261128-1', isMainFrame: true }, PROD, true],
    ['our origin without a path', { url: 'app://batchery/', isMainFrame: true }, PROD, true],
    ['the dev server in development', { url: 'http://localhost:5173/#/jobs', isMainFrame: true }, DEV, true],
    ['an iframe of our own page', { url: 'app://batchery/index.html', isMainFrame: false }, PROD, false],
    ['a look-alike host (prefix trick)', { url: 'app://batchery.evil/index.html', isMainFrame: true }, PROD, false],
    ['our name as a prefix of the host', { url: 'app://batcheryevil/', isMainFrame: true }, PROD, false],
    ['a subdomain-looking host', { url: 'app://evil.batchery/', isMainFrame: true }, PROD, false],
    ['a trailing dot on the host', { url: 'app://batchery./', isMainFrame: true }, PROD, false],
    ['another port', { url: 'app://batchery:8080/', isMainFrame: true }, PROD, false],
    ['credentials before our host', { url: 'app://user@batchery/', isMainFrame: true }, PROD, false],
    ['our host as credentials', { url: 'app://batchery@evil/', isMainFrame: true }, PROD, false],
    ['about:blank', { url: 'about:blank', isMainFrame: true }, PROD, false],
    ['a file: page', { url: 'file:///opt/batchery/out/renderer/index.html', isMainFrame: true }, PROD, false],
    ['a data: page', { url: 'data:text/html,<script>api.call()</script>', isMainFrame: true }, PROD, false],
    ['a blob: page from our origin', { url: 'blob:app://batchery/6a1c', isMainFrame: true }, PROD, false],
    ['javascript:', { url: 'javascript:alert(1)', isMainFrame: true }, PROD, false],
    ['a web page', { url: 'https://evil.test/', isMainFrame: true }, PROD, false],
    ['the dev server in production', { url: 'http://localhost:5173/', isMainFrame: true }, PROD, false],
    ['the app origin in development', { url: 'app://batchery/index.html', isMainFrame: true }, DEV, false],
    ['another dev port', { url: 'http://localhost:5174/', isMainFrame: true }, DEV, false],
    ['https instead of http', { url: 'https://localhost:5173/', isMainFrame: true }, DEV, false],
    ['127.0.0.1 instead of localhost', { url: 'http://127.0.0.1:5173/', isMainFrame: true }, DEV, false],
    ['a dev-looking host on another domain', { url: 'http://localhost.evil.test:5173/', isMainFrame: true }, DEV, false],
    ['a malformed URL', { url: 'http://[::1', isMainFrame: true }, PROD, false],
    ['an empty URL', { url: '', isMainFrame: true }, PROD, false],
    ['not a URL at all', { url: 'batchery', isMainFrame: true }, PROD, false],
    ['a URL that is not a string', { url: 42 as unknown as string, isMainFrame: true }, PROD, false],
    ['isMainFrame that is merely truthy', { url: 'app://batchery/', isMainFrame: 1 as unknown as boolean }, PROD, false],
    ['no frame (destroyed)', null, PROD, false],
    ['undefined frame', undefined, PROD, false],
    ['no allowed origins', { url: 'app://batchery/', isMainFrame: true }, [], false]
  ]
  for (const [name, frame, origins, expected] of cases) {
    it(`${expected ? 'trusts' : 'refuses'} ${name}`, () => expect(isTrustedSender(frame, origins)).toBe(expected))
  }
})

describe('checkCall', () => {
  it('accepts a contract method with object params', () => {
    expect(checkCall('jobs.list', {})).toEqual({ ok: true, method: 'jobs.list', params: {} })
    expect(checkCall('runs.get', { runId: 'r1' })).toEqual({ ok: true, method: 'runs.get', params: { runId: 'r1' } })
  })

  it('refuses names that are not methods, including inherited properties', () => {
    for (const name of ['jobs.drop', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'JOBS.LIST']) {
      const r = checkCall(name, {})
      expect(r.ok, name).toBe(false)
      if (!r.ok) expect(r.error.code).toBe('unknown_method')
    }
    for (const name of [undefined, null, 42, { method: 'jobs.list' }]) {
      const r = checkCall(name, {})
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error).toEqual({ code: 'unknown_method', message: 'Unknown request without a name.' })
    }
  })

  it('refuses params that are not an object', () => {
    for (const params of [undefined, null, 'x', 3, true, [], [{ runId: 'r1' }]]) {
      const r = checkCall('runs.get', params)
      expect(r.ok, JSON.stringify(params)).toBe(false)
      if (!r.ok) expect(r.error.code).toBe('invalid_params')
    }
  })

  it('accepts a method main answers itself', () => {
    const local = { 'desktop.only': async () => ({ ok: true as const, value: null }) }
    expect(checkCall('desktop.only', { runId: 'r1' }, local).ok).toBe(true)
    expect(checkCall('desktop.only', { runId: 'r1' }).ok).toBe(false)
  })
})

describe('the call handler', () => {
  const ours = { id: 1 } as WebContents
  const stranger = { id: 2 } as WebContents

  function invokeEvent(url: string, opts: { parent?: unknown; sender?: WebContents; noFrame?: boolean } = {}): IpcMainInvokeEvent {
    const senderFrame = opts.noFrame ? null : { url, parent: opts.parent ?? null }
    return { sender: opts.sender ?? ours, senderFrame } as unknown as IpcMainInvokeEvent
  }

  function setup(forwardImpl?: (m: string, p: Record<string, unknown>) => Promise<Result<unknown>>) {
    const forwarded: [string, unknown][] = []
    const warnings: string[] = []
    const handler = createCallHandler({
      allowedOrigins: PROD,
      isOurWindow: (c) => c.id === ours.id,
      forward: async (method, params) => {
        forwarded.push([method, params])
        return forwardImpl ? forwardImpl(method, params) : { ok: true, value: { echoed: method } }
      },
      local: { 'runs.openOutputFolder': async (params) => ({ ok: true, value: { local: params.runId } }) },
      log: { warn: (msg) => warnings.push(msg), error: (msg) => warnings.push(msg) }
    })
    return { handler, forwarded, warnings }
  }

  it('forwards a valid call from our page and returns the engine result', async () => {
    const { handler, forwarded } = setup()
    expect(await handler(invokeEvent('app://batchery/index.html'), 'runs.get', { runId: 'r1' })).toEqual({ ok: true, value: { echoed: 'runs.get' } })
    expect(forwarded).toEqual([['runs.get', { runId: 'r1' }]])
  })

  it('answers desktop methods in main without the engine', async () => {
    const { handler, forwarded } = setup()
    expect(await handler(invokeEvent('app://batchery/'), 'runs.openOutputFolder', { runId: 'r9' })).toEqual({ ok: true, value: { local: 'r9' } })
    expect(forwarded).toEqual([])
  })

  it('refuses untrusted senders before looking at the call, and logs them', async () => {
    const { handler, forwarded, warnings } = setup()
    const refused = [
      invokeEvent('app://batchery.evil/'),
      invokeEvent('app://batchery/index.html', { parent: {} }),
      invokeEvent('app://batchery/index.html', { sender: stranger }),
      invokeEvent('about:blank'),
      invokeEvent('file:///index.html'),
      invokeEvent('', { noFrame: true })
    ]
    for (const event of refused) {
      expect(await handler(event, 'jobs.list', {})).toEqual({ ok: false, error: REFUSED_SENDER })
    }
    expect(forwarded).toEqual([])
    expect(warnings).toHaveLength(refused.length)
  })

  it('refuses unknown methods and non-object params without forwarding', async () => {
    const { handler, forwarded } = setup()
    const unknown = await handler(invokeEvent('app://batchery/'), 'db.exec', { sql: 'DROP TABLE runs' })
    expect(unknown.ok).toBe(false)
    if (!unknown.ok) expect(unknown.error.code).toBe('unknown_method')
    const bad = await handler(invokeEvent('app://batchery/'), 'jobs.list', 'all')
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.error.code).toBe('invalid_params')
    expect(forwarded).toEqual([])
  })

  it('never throws across: a failing engine or a frame that throws becomes a Result error', async () => {
    const { handler } = setup(async () => {
      throw new Error('boom')
    })
    const r = await handler(invokeEvent('app://batchery/'), 'jobs.list', {})
    expect(r).toEqual({ ok: false, error: { code: 'internal', message: 'Something went wrong inside Batchery; try again.' } })
    const disposed = {
      sender: ours,
      get senderFrame(): never {
        throw new Error('Render frame was disposed before WebFrameMain could be accessed')
      }
    } as unknown as IpcMainInvokeEvent
    const r2 = await handler(disposed, 'jobs.list', {})
    expect(r2.ok).toBe(false)
  })

  it('registers exactly one channel and can remove it', () => {
    const handled: string[] = []
    const removed: string[] = []
    const listened: string[] = []
    const fakeIpc = {
      handle: (channel: string) => handled.push(channel),
      removeHandler: (channel: string) => removed.push(channel),
      on: (channel: string) => listened.push(channel),
      removeListener: (channel: string) => removed.push(channel)
    }
    const dispose = registerIpc(fakeIpc as unknown as Pick<IpcMain, 'handle' | 'removeHandler' | 'on' | 'removeListener'>, {
      allowedOrigins: PROD,
      isOurWindow: () => true,
      forward: async () => ({ ok: true, value: null })
    })
    expect(handled).toEqual([CALL_CHANNEL])
    expect(listened).toEqual([])
    dispose()
    expect(removed).toEqual([CALL_CHANNEL])
  })

  it('with onDroppedPath, also listens on the dropped-path channel, and removes both', () => {
    const listened: [string, unknown][] = []
    const removed: [string, unknown][] = []
    const fakeIpc = {
      handle: () => {},
      removeHandler: (channel: string) => removed.push([channel, null]),
      on: (channel: string, l: unknown) => listened.push([channel, l]),
      removeListener: (channel: string, l: unknown) => removed.push([channel, l])
    }
    const dispose = registerIpc(fakeIpc as unknown as Pick<IpcMain, 'handle' | 'removeHandler' | 'on' | 'removeListener'>, {
      allowedOrigins: PROD,
      isOurWindow: () => true,
      forward: async () => ({ ok: true, value: null }),
      onDroppedPath: () => {}
    })
    expect(listened.map(([c]) => c)).toEqual([DROPPED_PATH_CHANNEL])
    dispose()
    expect(removed).toEqual([
      [CALL_CHANNEL, null],
      [DROPPED_PATH_CHANNEL, listened[0]?.[1]]
    ])
  })
})

describe('the folder guard', () => {
  const ours = { id: 1 } as WebContents
  const event = { sender: ours, senderFrame: { url: 'app://batchery/index.html', parent: null } } as unknown as IpcMainInvokeEvent
  const refusal = { code: 'forbidden' as const, message: 'Batchery can only use folders you chose.' }

  function setup(guard: (m: string, p: Record<string, unknown>) => Promise<typeof refusal | null>) {
    const forwarded: string[] = []
    const guarded: string[] = []
    const handler = createCallHandler({
      allowedOrigins: PROD,
      isOurWindow: (c) => c.id === ours.id,
      forward: async (method) => {
        forwarded.push(method)
        return { ok: true, value: null }
      },
      local: { 'dialogs.pickFolder': async () => ({ ok: true, value: { path: null } }) },
      guard: async (method, params) => {
        guarded.push(method)
        return guard(method, params)
      }
    })
    return { handler, forwarded, guarded }
  }

  it('is asked before forwarding: a refusal is the answer and the engine never sees the call', async () => {
    const { handler, forwarded } = setup(async (_m, p) => (p.folder === '/etc' ? refusal : null))
    expect(await handler(event, 'inputs.preview', { folder: '/etc' })).toEqual({ ok: false, error: refusal })
    expect(forwarded).toEqual([])
    expect(await handler(event, 'inputs.preview', { folder: '/data/in' })).toEqual({ ok: true, value: null })
    expect(forwarded).toEqual(['inputs.preview'])
  })

  it('is not asked for untrusted senders, unknown methods or methods main answers itself', async () => {
    const { handler, guarded } = setup(async () => null)
    await handler({ ...event, senderFrame: { url: 'https://evil.test/', parent: null } } as unknown as IpcMainInvokeEvent, 'inputs.preview', { folder: '/data' })
    await handler(event, 'fs.read', { path: '/etc' })
    expect(await handler(event, 'dialogs.pickFolder', {})).toEqual({ ok: true, value: { path: null } })
    expect(guarded).toEqual([])
  })

  it('fails closed: a guard that throws refuses the call', async () => {
    const { handler, forwarded } = setup(async () => {
      throw new Error('realpath exploded')
    })
    const r = await handler(event, 'inputs.preview', { folder: '/data/in' })
    expect(r.ok).toBe(false)
    expect(forwarded).toEqual([])
  })
})

describe('the dropped-path listener', () => {
  const ours = { id: 1 } as WebContents
  const stranger = { id: 2 } as WebContents
  const message = (url: string, opts: { parent?: unknown; sender?: WebContents } = {}) =>
    ({ sender: opts.sender ?? ours, senderFrame: { url, parent: opts.parent ?? null } }) as unknown as IpcMainEvent

  it('passes the path on from our page only', () => {
    const got: unknown[] = []
    const warnings: string[] = []
    const listener = createDroppedPathListener({
      allowedOrigins: PROD,
      isOurWindow: (c) => c.id === ours.id,
      forward: async () => ({ ok: true, value: null }),
      onDroppedPath: (p) => got.push(p),
      log: { warn: (msg) => warnings.push(msg), error: (msg) => warnings.push(msg) }
    })
    listener(message('app://batchery/index.html#/jobs/new'), '/data/in')
    listener(message('app://batchery/index.html', { parent: {} }), '/etc')
    listener(message('app://batchery/index.html', { sender: stranger }), '/etc')
    listener(message('https://evil.test/'), '/etc')
    const disposed = {
      sender: ours,
      get senderFrame(): never {
        throw new Error('Render frame was disposed')
      }
    } as unknown as IpcMainEvent
    expect(() => listener(disposed, '/etc')).not.toThrow()
    expect(got).toEqual(['/data/in'])
    expect(warnings).toHaveLength(4)
  })
})

describe('sendEvent', () => {
  it('sends { event, payload } on the event channel, and nothing to a destroyed page', () => {
    const sent: unknown[][] = []
    let destroyed = false
    const contents = { isDestroyed: () => destroyed, send: (...args: unknown[]) => sent.push(args) }
    sendEvent(contents, 'run.stateChanged', { runId: 'r1', to: 'running' })
    destroyed = true
    sendEvent(contents, 'run.stateChanged', { runId: 'r1', to: 'succeeded' })
    expect(sent).toEqual([[EVENT_CHANNEL, { event: 'run.stateChanged', payload: { runId: 'r1', to: 'running' } }]])
  })
})
