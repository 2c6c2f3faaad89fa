// The Electron main process: windows, tray, notifications, menu and forwarding, nothing else.
// The engine runs in its own utilityProcess (engine-process.ts), and every rule lives in a pure
// module beside this one (security, ipc, engine-supervisor, window-state, run-tracker,
// menu-template, desktop-methods, folder-grants); this file only wires them to Electron.
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, Notification, protocol, screen, session, shell, Tray, utilityProcess } from 'electron'
import pino from 'pino'
import type { EventName, Events, RunDetail, RunProgressEvent } from '../../shared/api'
import { createLogger, type Logger } from '../engine/log'
import { createDesktopMethods } from './desktop-methods'
import { FolderGate, FolderGrants, GRANTS_FILE, loadGrantedFolders, nodeFs, saveGrantedFolders } from './folder-grants'
import { createEngineProcess, engineHostPath } from './engine-process'
import type { EngineStatus, EngineSupervisor } from './engine-supervisor'
import { registerIpc, sendEvent } from './ipc'
import { appMenuTemplate, trayMenuTemplate, trayTooltip } from './menu-template'
import { notificationFor, runHash, RunTracker } from './run-tracker'
import { guardSession, hardenWebContents, registerAppScheme, rendererEntry, secureWebPreferences, serveApp } from './security'
import { clampWindowState, loadWindowState, MIN_SIZE, saveWindowState, WINDOW_STATE_FILE, type WindowState } from './window-state'

const PRODUCT_NAME = 'Batchery'
const APP_ID = 'app.batchery.desktop'
/** Window moves and resizes come in bursts; the state is written once they settle. */
const WINDOW_STATE_SAVE_MS = 500
/** Progress arrives up to ten times a second per run; the tray menu is rebuilt at most this often. */
const TRAY_REFRESH_MS = 2_000
/** A page that crashes again within this long is not reloaded again (it would loop). */
const RENDERER_RELOAD_MIN_INTERVAL_MS = 10_000

const here = dirname(fileURLToPath(import.meta.url)) // out/main
const PRELOAD = join(here, '../preload/index.cjs')
const RENDERER_DIR = join(here, '../renderer')

// The same data folder as the CLI's default home (README: ~/.config/Batchery and so on), in
// development too. Set before anything reads userData: the single-instance lock lives there.
app.setPath('userData', join(app.getPath('appData'), PRODUCT_NAME))
if (process.platform === 'win32') app.setAppUserModelId(APP_ID) // Windows shows no notifications without it
registerAppScheme(protocol) // must happen before 'ready'

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  startDesktop()
}

function startDesktop(): void {
  const packaged = app.isPackaged
  const entry = rendererEntry({ packaged, devServerUrl: process.env.ELECTRON_RENDERER_URL })
  const userData = app.getPath('userData')
  const resourcesDir = packaged ? process.resourcesPath : join(app.getAppPath(), 'resources')
  const log: Logger = createLogger(pino(pino.destination({ dest: join(userData, 'logs', 'desktop.log'), sync: true, mkdir: true })), 'desktop')
  const stateFile = join(userData, WINDOW_STATE_FILE)
  const tracker = new RunTracker()
  // Notifications are kept referenced until closed: one that is garbage-collected loses its click handler.
  const notifications = new Set<Notification>()

  let mainWindow: BrowserWindow | null = null
  let tray: Tray | null = null
  let trayTimer: ReturnType<typeof setTimeout> | null = null
  let engine: EngineSupervisor | null = null
  let folderGate: FolderGate | null = null
  let quitting = false
  let engineStopped = false
  let toldAboutTray = false

  // --- windows ---------------------------------------------------------------------------------

  function createWindow(hash = ''): BrowserWindow {
    const workAreas = [screen.getPrimaryDisplay().workArea, ...screen.getAllDisplays().map((d) => d.workArea)]
    const state = clampWindowState(loadWindowState(stateFile), workAreas)
    const win = new BrowserWindow({
      ...state.bounds,
      minWidth: MIN_SIZE.width,
      minHeight: MIN_SIZE.height,
      show: false,
      title: PRODUCT_NAME,
      ...(process.platform === 'linux' ? { icon: join(resourcesDir, 'icon.png') } : {}),
      webPreferences: secureWebPreferences(PRELOAD, { devTools: !packaged })
    })
    if (state.maximized) win.maximize()
    win.once('ready-to-show', () => win.show())

    let saveTimer: ReturnType<typeof setTimeout> | null = null
    const saveState = (): void => {
      if (saveTimer) clearTimeout(saveTimer)
      saveTimer = null
      if (win.isDestroyed()) return
      const current: WindowState = { bounds: win.getNormalBounds(), maximized: win.isMaximized() }
      try {
        saveWindowState(stateFile, current)
      } catch (e) {
        log.warn('could not save the window state', { error: (e as Error).message })
      }
    }
    const scheduleSave = (): void => {
      if (saveTimer) clearTimeout(saveTimer)
      saveTimer = setTimeout(saveState, WINDOW_STATE_SAVE_MS)
    }
    win.on('resize', scheduleSave)
    win.on('move', scheduleSave)
    win.on('maximize', scheduleSave)
    win.on('unmaximize', scheduleSave)

    // Closing the window keeps Batchery in the tray: runs and the engine go on.
    win.on('close', (event) => {
      saveState()
      if (quitting) return
      event.preventDefault()
      win.hide()
      tellAboutTrayOnce()
    })
    win.on('closed', () => {
      if (mainWindow === win) mainWindow = null
    })

    let lastReload = 0
    win.webContents.on('render-process-gone', (_event, details) => {
      log.error('page crashed', { reason: details.reason, exitCode: details.exitCode })
      if (details.reason === 'clean-exit' || Date.now() - lastReload < RENDERER_RELOAD_MIN_INTERVAL_MS) return
      lastReload = Date.now()
      win.reload()
    })
    win.webContents.on('did-fail-load', (_event, code, description, url, isMainFrame) => {
      log.error('page failed to load', { code, description, url, isMainFrame })
      // 'ready-to-show' may never come; a window that never appears looks like a hung app.
      if (isMainFrame && !win.isVisible()) win.show()
    })

    load(win, hash)
    return win
  }

  /** Loads the page (at a route); a failure is logged by 'did-fail-load', not left as a rejection. */
  function load(win: BrowserWindow, hash: string): void {
    win.loadURL(entry.url + hash).catch(() => {})
  }

  function showWindow(hash?: string): void {
    if (!app.isReady()) return
    const win = mainWindow
    if (!win || win.isDestroyed()) {
      mainWindow = createWindow(hash)
      return
    }
    if (hash) {
      // A page still loading has not subscribed yet: load the route instead of sending it.
      if (win.webContents.isLoading()) load(win, hash)
      else sendEvent(win.webContents, 'navigate', { hash })
    }
    if (win.isMinimized()) win.restore()
    win.show()
    win.focus()
  }

  function tellAboutTrayOnce(): void {
    if (toldAboutTray || !tray || !Notification.isSupported()) return
    toldAboutTray = true
    notify({ title: 'Batchery is still running', body: 'Runs and schedules go on in the background. Open or quit Batchery from its tray icon.' })
  }

  // --- tray ------------------------------------------------------------------------------------

  function createTray(): void {
    const image = nativeImage.createFromPath(join(resourcesDir, 'tray.png'))
    if (image.isEmpty()) log.warn('tray icon not found', { path: join(resourcesDir, 'tray.png') })
    // The macOS menu bar wants a 16 pt icon; Windows and Linux scale the 32 px one themselves.
    tray = new Tray(process.platform === 'darwin' ? image.resize({ width: 16, height: 16 }) : image)
    if (process.platform === 'win32') tray.on('click', () => showWindow())
    refreshTray()
  }

  function refreshTray(): void {
    if (trayTimer) clearTimeout(trayTimer)
    trayTimer = null
    if (!tray || tray.isDestroyed()) return
    const runs = tracker.active()
    const template = trayMenuTemplate({
      runs,
      platform: process.platform,
      actions: {
        open: () => showWindow(),
        openRun: (runId) => showWindow(runHash(runId)),
        quit: () => app.quit(),
        // Electron supports login items on Windows and macOS only.
        startAtLogin:
          process.platform === 'win32' || process.platform === 'darwin'
            ? {
                enabled: app.getLoginItemSettings().openAtLogin,
                set: (on) => {
                  app.setLoginItemSettings({ openAtLogin: on, openAsHidden: true, args: ['--hidden'] })
                  refreshTray()
                }
              }
            : undefined
      }
    })
    tray.setContextMenu(Menu.buildFromTemplate(template))
    tray.setToolTip(trayTooltip(runs))
  }

  function scheduleTrayRefresh(): void {
    if (!trayTimer) trayTimer = setTimeout(refreshTray, TRAY_REFRESH_MS)
  }

  // --- notifications ---------------------------------------------------------------------------

  function notify(content: { title: string; body: string }, onClick?: () => void): void {
    const n = new Notification({ ...content, ...(process.platform === 'linux' ? { icon: join(resourcesDir, 'icon.png') } : {}) })
    notifications.add(n)
    n.on('click', () => {
      notifications.delete(n)
      onClick?.()
    })
    n.on('close', () => notifications.delete(n))
    n.show()
  }

  async function announceRunEnd(e: Events['run.stateChanged'], failedSoFar: number | null): Promise<void> {
    if (!Notification.isSupported() || !engine) return
    const detail = await engine.call('runs.get', { runId: e.runId })
    const counts = detail.ok ? (detail.value as RunDetail).counts : null
    const content = notificationFor({ job: e.job, status: e.to, message: e.message, failed: counts?.failed ?? failedSoFar, written: counts?.out ?? null })
    if (content) notify(content, () => showWindow(runHash(e.runId)))
  }

  // --- the engine ------------------------------------------------------------------------------

  function onEngineEvent(event: EventName, payload: unknown): void {
    if (event === 'run.stateChanged') {
      const e = payload as Events['run.stateChanged']
      const failedSoFar = tracker.failedSoFar(e.runId)
      const { announce } = tracker.stateChanged(e)
      refreshTray()
      if (announce) announceRunEnd(e, failedSoFar).catch((err: Error) => log.warn('could not show a notification', { error: err.message }))
    } else if (event === 'run.progressed') {
      tracker.progressed(payload as RunProgressEvent)
      scheduleTrayRefresh()
    } else if (event === 'jobs.changed') {
      void folderGate?.refreshJobFolders()
    }
    if (mainWindow && !mainWindow.isDestroyed()) sendEvent(mainWindow.webContents, event, payload)
  }

  function onEngineStatus(status: EngineStatus): void {
    log.info('engine', { state: status.state, message: status.message })
    if (status.state === 'restarting') {
      // Its runs were interrupted; the restarted engine's events rebuild the list.
      tracker.clearActive()
      refreshTray()
    }
    if (status.state === 'failed') void showEngineFailure(status.message ?? "Batchery's engine keeps stopping.")
  }

  async function showEngineFailure(message: string): Promise<void> {
    const options = {
      type: 'error' as const,
      title: PRODUCT_NAME,
      message: "Batchery's engine keeps stopping",
      detail: `${message}\n\nThe details are in ${join(userData, 'logs')}.`,
      buttons: ['Try again', 'Quit Batchery'],
      defaultId: 0,
      cancelId: 1
    }
    const parent = mainWindow && !mainWindow.isDestroyed() && mainWindow.isVisible() ? mainWindow : null
    const { response } = parent ? await dialog.showMessageBox(parent, options) : await dialog.showMessageBox(options)
    if (response === 0) engine?.restart()
    else app.quit()
  }

  // --- app lifecycle ---------------------------------------------------------------------------

  app.on('web-contents-created', (_event, contents) => {
    hardenWebContents(contents, { origins: entry.origins, openExternal: (url) => shell.openExternal(url), log })
  })
  app.on('second-instance', () => showWindow())
  app.on('activate', () => showWindow())
  // Closing every window does not quit: Batchery lives on in the tray until Quit.
  app.on('window-all-closed', () => {})
  app.on('before-quit', () => {
    quitting = true
  })
  app.on('will-quit', (event) => {
    if (engineStopped || !engine) return
    // Let the engine exit first, so its runs are left resumable rather than cut off mid-write.
    event.preventDefault()
    void engine.stop().finally(() => {
      engineStopped = true
      tray?.destroy()
      app.quit()
    })
  })

  app
    .whenReady()
    .then(() => {
      guardSession(session.defaultSession, { origins: entry.origins, dev: !packaged, log })
      serveApp(protocol, RENDERER_DIR)
      Menu.setApplicationMenu(Menu.buildFromTemplate(appMenuTemplate({ platform: process.platform, appName: PRODUCT_NAME, dev: !packaged })))

      const supervisor = createEngineProcess({
        utilityProcess,
        hostPath: engineHostPath(here),
        userData,
        onEvent: onEngineEvent,
        onStatus: onEngineStatus,
        log: log.child('engine')
      })
      engine = supervisor
      supervisor.start()

      // The page reaches only folders the user chose (folder-grants.ts); chosen ones are kept in userData.
      const grantsFile = join(userData, GRANTS_FILE)
      const grantsLog = log.child('grants')
      const grants = new FolderGrants({ platform: process.platform, fs: nodeFs }, loadGrantedFolders(grantsFile), (folders) => {
        try {
          saveGrantedFolders(grantsFile, folders)
        } catch (e) {
          grantsLog.warn('could not save the chosen folders', { error: (e as Error).message })
        }
      })
      const gate = new FolderGate({ grants, platform: process.platform, homedir: homedir(), listJobs: () => supervisor.call('jobs.list', {}), log: grantsLog })
      folderGate = gate
      void gate.refreshJobFolders()

      registerIpc(ipcMain, {
        allowedOrigins: entry.origins,
        isOurWindow: (contents) => mainWindow !== null && !mainWindow.isDestroyed() && contents.id === mainWindow.webContents.id,
        forward: (method, params) => supervisor.call(method, params),
        guard: (method, params) => gate.check(method, params),
        onDroppedPath: (path) => {
          if (grants.grantDropped(path) === null) grantsLog.warn('a dropped path was not granted', { path: typeof path === 'string' ? path.slice(0, 300) : typeof path })
        },
        local: createDesktopMethods({
          callEngine: (method, params) => supervisor.call(method, params),
          showItemInFolder: (path) => shell.showItemInFolder(path),
          exists: existsSync,
          showOpenDialog: (options) => {
            const parent = mainWindow && !mainWindow.isDestroyed() ? mainWindow : null
            return parent ? dialog.showOpenDialog(parent, options) : dialog.showOpenDialog(options)
          },
          grantChosen: (path) => grants.grantChosen(path)
        }),
        log: log.child('ipc')
      })

      createTray()
      // Started at login: only the tray, so schedules run without a window popping up.
      const atLogin = process.argv.includes('--hidden') || app.getLoginItemSettings().wasOpenedAsHidden
      if (!atLogin) showWindow()
    })
    .catch((e: Error) => {
      log.error('start-up failed', { error: e.message, stack: e.stack })
      dialog.showErrorBox(PRODUCT_NAME, `Batchery could not start: ${e.message}`)
      app.exit(1)
    })
}
