// The composition root (src/main/electron/index.ts) with electron replaced by fakes at the edge:
// no Electron binary can run here, so this drives the wiring instead: start-up order, the window's
// security settings, IPC to the supervised engine, events to the page and the tray, a
// notification that opens its run, close-to-tray, open-output-folder, folders only the user chose
// (saved jobs', dropped, picked in the dialog) and quitting.
import { EventEmitter } from 'node:events'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it, vi } from 'vitest'

type Handler = (...args: unknown[]) => unknown

const fake = vi.hoisted(() => {
  // vitest hoists this above the imports, so node:events is required here.
  const { EventEmitter: Emitter } = require('node:events') as typeof import('node:events')
  const order: string[] = []
  const paths: Record<string, string> = {}
  let resolveReady: () => void = () => {}
  const readyPromise = new Promise<void>((r) => (resolveReady = r))
  let ready = false

  class FakeWebContents extends Emitter {
    static nextId = 1
    id = FakeWebContents.nextId++
    sent: unknown[][] = []
    loading = false
    mainFrame = {}
    openHandler: Handler | null = null
    send(...args: unknown[]): void {
      this.sent.push(args)
    }
    isDestroyed(): boolean {
      return false
    }
    isLoading(): boolean {
      return this.loading
    }
    setWindowOpenHandler(h: Handler): void {
      this.openHandler = h
    }
  }

  class FakeWindow extends Emitter {
    static all: FakeWindow[] = []
    webContents = new FakeWebContents()
    loaded: string[] = []
    visible = false
    constructor(readonly options: Record<string, unknown>) {
      super()
      FakeWindow.all.push(this)
    }
    loadURL(url: string): Promise<void> {
      this.loaded.push(url)
      return Promise.resolve()
    }
    show(): void {
      this.visible = true
    }
    hide(): void {
      this.visible = false
    }
    focus(): void {}
    isVisible(): boolean {
      return this.visible
    }
    isMinimized(): boolean {
      return false
    }
    restore(): void {}
    maximize(): void {}
    isMaximized(): boolean {
      return false
    }
    isDestroyed(): boolean {
      return false
    }
    reload(): void {}
    getNormalBounds() {
      return { x: 10, y: 20, width: 1000, height: 700 }
    }
  }

  class FakeChild extends Emitter {
    sent: Record<string, unknown>[] = []
    postMessage(m: Record<string, unknown>): void {
      this.sent.push(m)
    }
    kill(): boolean {
      return true
    }
  }

  class FakeTray extends Emitter {
    static last: FakeTray | null = null
    menu: { template: Record<string, unknown>[] } | null = null
    tooltip = ''
    destroyed = false
    constructor() {
      super()
      FakeTray.last = this
    }
    setContextMenu(menu: { template: Record<string, unknown>[] }): void {
      this.menu = menu
    }
    setToolTip(t: string): void {
      this.tooltip = t
    }
    isDestroyed(): boolean {
      return this.destroyed
    }
    destroy(): void {
      this.destroyed = true
    }
  }

  class FakeNotification extends Emitter {
    static shown: FakeNotification[] = []
    constructor(readonly options: { title: string; body: string }) {
      super()
    }
    static isSupported(): boolean {
      return true
    }
    show(): void {
      FakeNotification.shown.push(this)
    }
  }

  const app = Object.assign(new Emitter(), {
    isPackaged: false,
    setPath: (name: string, p: string) => {
      order.push(`setPath:${name}`)
      paths[name] = p
    },
    getPath: (name: string) => paths[name] ?? '',
    setAppUserModelId: () => {},
    requestSingleInstanceLock: () => {
      order.push('requestSingleInstanceLock')
      return true
    },
    whenReady: () => readyPromise,
    isReady: () => ready,
    loginSettings: { openAtLogin: false, wasOpenedAsHidden: false },
    getLoginItemSettings: () => app.loginSettings,
    setLoginItemSettings: (s: { openAtLogin: boolean }) => {
      app.loginSettings = { ...app.loginSettings, openAtLogin: s.openAtLogin }
    },
    getAppPath: () => '/repo',
    quitCalls: 0,
    quit: () => {
      app.quitCalls++
    },
    exit: () => {}
  })

  const state = {
    order,
    paths,
    app,
    FakeWindow,
    FakeChild,
    FakeTray,
    FakeNotification,
    forks: [] as { args: unknown[]; child: InstanceType<typeof FakeChild> }[],
    ipcHandlers: new Map<string, Handler>(),
    ipcListeners: new Map<string, Handler>(),
    dialogs: [] as unknown[][],
    dialogAnswer: { canceled: true, filePaths: [] as string[] },
    protocolHandlers: new Map<string, Handler>(),
    privileged: [] as unknown[],
    appMenu: null as unknown,
    session: { request: null as Handler | null, check: null as Handler | null, filter: null as Handler | null },
    shown: [] as string[],
    opened: [] as string[],
    becomeReady: () => {
      ready = true
      resolveReady()
    }
  }
  return state
})

vi.mock('electron', () => ({
  app: fake.app,
  BrowserWindow: fake.FakeWindow,
  Tray: fake.FakeTray,
  Notification: fake.FakeNotification,
  Menu: {
    buildFromTemplate: (template: unknown) => ({ template }),
    setApplicationMenu: (menu: unknown) => (fake.appMenu = menu)
  },
  nativeImage: { createFromPath: () => ({ isEmpty: () => false, resize: function () { return this } }) },
  protocol: {
    registerSchemesAsPrivileged: (schemes: unknown) => {
      fake.order.push('registerSchemesAsPrivileged')
      fake.privileged.push(schemes)
    },
    handle: (scheme: string, handler: Handler) => fake.protocolHandlers.set(scheme, handler)
  },
  session: {
    defaultSession: {
      setPermissionRequestHandler: (h: Handler) => (fake.session.request = h),
      setPermissionCheckHandler: (h: Handler) => (fake.session.check = h),
      webRequest: { onBeforeRequest: (h: Handler) => (fake.session.filter = h) }
    }
  },
  screen: {
    getPrimaryDisplay: () => ({ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }),
    getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }]
  },
  ipcMain: {
    handle: (channel: string, h: Handler) => fake.ipcHandlers.set(channel, h),
    removeHandler: () => {},
    on: (channel: string, h: Handler) => fake.ipcListeners.set(channel, h),
    removeListener: () => {}
  },
  shell: {
    openExternal: async (url: string) => {
      fake.opened.push(url)
    },
    showItemInFolder: (p: string) => fake.shown.push(p)
  },
  dialog: {
    showMessageBox: async () => ({ response: 1 }),
    showErrorBox: () => {},
    showOpenDialog: async (...args: unknown[]) => {
      fake.dialogs.push(args)
      return fake.dialogAnswer
    }
  },
  utilityProcess: {
    fork: (...args: unknown[]) => {
      const child = new fake.FakeChild()
      fake.forks.push({ args, child })
      return child
    }
  }
}))

const tick = () => new Promise<void>((r) => setImmediate(r))
let appData = ''

function win() {
  const w = fake.FakeWindow.all[fake.FakeWindow.all.length - 1]
  if (!w) throw new Error('no window')
  return w
}
function child() {
  const c = fake.forks[fake.forks.length - 1]?.child
  if (!c) throw new Error('no engine')
  return c
}
function pageCall(method: string, params: unknown): Promise<unknown> {
  const handler = fake.ipcHandlers.get('batchery:call')
  if (!handler) throw new Error('no IPC handler')
  const w = win()
  return handler({ sender: w.webContents, senderFrame: { url: 'app://batchery/index.html#/jobs', parent: null } }, method, params) as Promise<unknown>
}
/** What the preload sends when the page asks for a dropped file's path. */
function pageDrops(path: string): void {
  const listener = fake.ipcListeners.get('batchery:dropped-path')
  if (!listener) throw new Error('no dropped-path listener')
  listener({ sender: win().webContents, senderFrame: { url: 'app://batchery/index.html#/jobs/new', parent: null } }, path)
}
const answered = new Set<unknown>()
/** Answers the engine's latest call of this method not answered yet. */
function answer(method: string, result: unknown): void {
  const call = [...child().sent].reverse().find((m) => m.type === 'call' && m.method === method && !answered.has(m.id))
  if (!call) throw new Error(`no ${method} call sent to the engine`)
  answered.add(call.id)
  child().emit('message', { type: 'result', id: call.id, result })
}
function callsTo(method: string): number {
  return child().sent.filter((m) => m.type === 'call' && m.method === method).length
}
function trayLabels(): string[] {
  return (fake.FakeTray.last?.menu?.template ?? []).map((i) => String(i.label ?? i.type))
}

beforeAll(async () => {
  const { tempDir } = await import('../helpers/cli')
  appData = tempDir('batchery-main-')
  fake.paths.appData = appData
  delete process.env.ELECTRON_RENDERER_URL
  await import('../../src/main/electron/index')
})

describe('the main process', () => {
  it('before ready: sets the data folder, then takes the single-instance lock; registers app:// as privileged', () => {
    expect(fake.order).toEqual(['setPath:userData', 'registerSchemesAsPrivileged', 'requestSingleInstanceLock'])
    expect(fake.paths.userData).toBe(join(appData, 'Batchery'))
    expect(fake.privileged).toEqual([[{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]])
    expect(fake.FakeWindow.all).toHaveLength(0)
    expect(fake.forks).toHaveLength(0)
  })

  it('when ready: guards the session, serves app://, starts the engine, opens one secure window and the tray', async () => {
    fake.becomeReady()
    await tick()
    expect(fake.session.request && fake.session.check && fake.session.filter).toBeTruthy()
    expect(fake.protocolHandlers.has('app')).toBe(true)
    expect(fake.appMenu).toBeTruthy()
    expect(fake.forks).toHaveLength(1)
    const [hostPath, args, options] = fake.forks[0]!.args as [string, string[], { serviceName: string; env: Record<string, string> }]
    expect(hostPath.endsWith('engine-host.js')).toBe(true)
    expect(args).toEqual([])
    expect(options.serviceName).toBe('Batchery engine')
    expect(options.env.BATCHERY_HOME).toBe(join(appData, 'Batchery'))
    expect([...fake.ipcHandlers.keys()]).toEqual(['batchery:call'])
    expect(fake.FakeWindow.all).toHaveLength(1)
    expect(win().options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false })
    expect(win().loaded).toEqual(['app://batchery/index.html'])
    expect(trayLabels()).toEqual(['No runs in progress', 'separator', 'Open Batchery', 'Quit Batchery'])
  })

  it('hardens every web contents as it is created', () => {
    const contents = new EventEmitter() as EventEmitter & { setWindowOpenHandler(h: Handler): void; openHandler?: Handler }
    contents.setWindowOpenHandler = (h) => (contents.openHandler = h)
    fake.app.emit('web-contents-created', {}, contents)
    let prevented = false
    contents.emit('will-navigate', { url: 'https://evil.test/', preventDefault: () => (prevented = true) })
    expect(prevented).toBe(true)
    expect(contents.openHandler?.({ url: 'https://example.com/docs' })).toEqual({ action: 'deny' })
    expect(fake.opened).toEqual(['https://example.com/docs'])
  })

  it('forwards page calls to the engine once it is ready, and refuses other frames', async () => {
    const pending = pageCall('jobs.list', {})
    await tick()
    expect(child().sent).toEqual([])
    child().emit('message', { type: 'ready' })
    answer('jobs.list', { ok: true, value: [] })
    expect(await pending).toEqual({ ok: true, value: [] })
    const handler = fake.ipcHandlers.get('batchery:call')!
    const fromIframe = await handler({ sender: win().webContents, senderFrame: { url: 'app://batchery/index.html', parent: {} } }, 'jobs.list', {})
    expect(fromIframe).toMatchObject({ ok: false, error: { code: 'forbidden' } })
  })

  it("sends engine events to the page, lists running runs in the tray, and announces a run's end", async () => {
    const change = (from: string | null, to: string) => child().emit('message', { type: 'event', event: 'run.stateChanged', payload: { runId: 'r1', job: 'orders-clean', from, to, message: null } })
    change(null, 'running')
    expect(win().webContents.sent.at(-1)).toEqual(['batchery:event', { event: 'run.stateChanged', payload: { runId: 'r1', job: 'orders-clean', from: null, to: 'running', message: null } }])
    expect(trayLabels()[0]).toBe('orders-clean — running')
    expect(fake.FakeTray.last?.tooltip).toBe('Batchery — 1 run in progress')

    change('running', 'partial')
    expect(trayLabels()[0]).toBe('No runs in progress')
    await tick()
    answer('runs.get', { ok: true, value: { counts: { in: 21, out: 10, filtered: 2, deduped: 2, failed: 7 } } })
    await tick()
    const n = fake.FakeNotification.shown.at(-1)
    expect(n?.options).toMatchObject({ title: 'orders-clean finished with failed records', body: 'The run finished with 7 failed records. Click to see why.' })
    // The same end reported twice is announced once.
    change('running', 'partial')
    await tick()
    expect(fake.FakeNotification.shown).toHaveLength(1)

    // Clicking it brings the window to the run.
    win().hide()
    n?.emit('click')
    expect(win().isVisible()).toBe(true)
    expect(win().webContents.sent.at(-1)).toEqual(['batchery:event', { event: 'navigate', payload: { hash: '#/runs/r1' } }])
  })

  it('keeps running in the tray when the window is closed, saying so once', () => {
    const shownBefore = fake.FakeNotification.shown.length
    for (let i = 0; i < 2; i++) {
      win().show()
      let prevented = false
      win().emit('close', { preventDefault: () => (prevented = true) })
      expect(prevented).toBe(true)
      expect(win().isVisible()).toBe(false)
    }
    expect(fake.FakeNotification.shown.length).toBe(shownBefore + 1)
    expect(fake.FakeNotification.shown.at(-1)?.options.title).toBe('Batchery is still running')
    fake.app.emit('second-instance')
    expect(win().isVisible()).toBe(true)
    expect(fake.FakeWindow.all).toHaveLength(1)
  })

  it("opens a run's output folder that main looked up itself", async () => {
    const outputFolder = join(appData, 'out')
    mkdirSync(outputFolder, { recursive: true })
    const pending = pageCall('runs.openOutputFolder', { runId: 'r1', path: '/etc' })
    await tick()
    answer('runs.get', { ok: true, value: { outputs: [], outputFolder } })
    expect(await pending).toEqual({ ok: true, value: { shown: outputFolder } })
    expect(fake.shown).toEqual([outputFolder])
  })

  it('reaches only folders the user chose: saved jobs\', dropped and picked ones', async () => {
    const folder = (name: string) => {
      const p = join(appData, name)
      mkdirSync(p, { recursive: true })
      return p
    }
    const jobIn = folder('job-in')
    const dropped = folder('dropped')
    const picked = folder('picked')
    const elsewhere = folder('elsewhere')
    // Main read the saved jobs at start (queued until the engine was ready).
    answer('jobs.list', { ok: true, value: [{ name: 'orders', definition: { input: { folder: 'job-in' }, output: { folder: 'job-out' } }, baseDir: appData }] })

    const preview = async (path: string) => {
      const before = callsTo('inputs.preview')
      const pending = pageCall('inputs.preview', { folder: path })
      await tick()
      if (callsTo('inputs.preview') > before) answer('inputs.preview', { ok: true, value: { folder: path } })
      return pending
    }
    expect(await preview(join(jobIn, 'sub'))).toEqual({ ok: true, value: { folder: join(jobIn, 'sub') } })
    const refused = (await preview(elsewhere)) as { ok: boolean; error: { code: string; message: string } }
    expect(refused.ok).toBe(false)
    expect(refused.error.code).toBe('forbidden')
    expect(refused.error.message).toContain('Batchery can only use folders you chose')
    expect(await preview(`${jobIn}/../elsewhere`)).toMatchObject({ ok: false, error: { code: 'forbidden' } })

    // A drop: the preload reports the path, then the page uses it.
    expect(await preview(dropped)).toMatchObject({ ok: false })
    pageDrops(dropped)
    expect(await preview(dropped)).toEqual({ ok: true, value: { folder: dropped } })
    pageDrops('relative/path')
    pageDrops(join(appData, 'does-not-exist'))

    // The dialog: attached to the window, folders only; what is chosen is granted.
    fake.dialogAnswer = { canceled: false, filePaths: [picked] }
    expect(await pageCall('dialogs.pickFolder', { purpose: 'input', defaultPath: dropped })).toEqual({ ok: true, value: { path: picked } })
    expect(fake.dialogs).toHaveLength(1)
    expect(fake.dialogs[0]?.[0]).toBe(win())
    expect(fake.dialogs[0]?.[1]).toEqual({ title: 'Choose the input folder', buttonLabel: 'Use this folder', properties: ['openDirectory', 'createDirectory'], defaultPath: dropped })
    expect(await preview(picked)).toEqual({ ok: true, value: { folder: picked } })
    expect(await preview(`${picked}-clean`)).toEqual({ ok: true, value: { folder: `${picked}-clean` } })

    // Kept for the next start.
    const saved = JSON.parse(readFileSync(join(appData, 'Batchery', 'granted-folders.json'), 'utf8')) as { folders: string[] }
    expect(saved.folders).toEqual([dropped, `${dropped}-clean`, picked, `${picked}-clean`])

    // When jobs change, main reads them again.
    const lists = callsTo('jobs.list')
    child().emit('message', { type: 'event', event: 'jobs.changed', payload: { name: 'orders' } })
    expect(callsTo('jobs.list')).toBe(lists + 1)
    answer('jobs.list', { ok: true, value: [] })
    await tick()
    expect(await preview(jobIn)).toMatchObject({ ok: false, error: { code: 'forbidden' } })
  })

  it('on quit, stops the engine before letting the app exit', async () => {
    fake.app.emit('before-quit')
    let prevented = false
    fake.app.emit('will-quit', { preventDefault: () => (prevented = true) })
    expect(prevented).toBe(true)
    expect(child().sent.at(-1)).toEqual({ type: 'shutdown' })
    expect(fake.app.quitCalls).toBe(0)
    child().emit('exit', 0)
    await tick()
    expect(fake.app.quitCalls).toBe(1)
    expect(fake.FakeTray.last?.destroyed).toBe(true)
    // The second will-quit goes through, and closing the window now really closes it.
    let preventedAgain = false
    fake.app.emit('will-quit', { preventDefault: () => (preventedAgain = true) })
    expect(preventedAgain).toBe(false)
    let closePrevented = false
    win().emit('close', { preventDefault: () => (closePrevented = true) })
    expect(closePrevented).toBe(false)
  })
})
