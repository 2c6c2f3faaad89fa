// The application menu and the tray menu, as plain templates (Menu.buildFromTemplate turns them
// into menus in index.ts). Pure, so what an analyst sees in each menu is unit-tested.
import type { MenuItemConstructorOptions } from 'electron'
import type { ActiveRun } from './run-tracker'

/** A minimal application menu: the standard edit shortcuts (which macOS only honours when an Edit menu exists), zoom, and quit. */
export function appMenuTemplate(opts: { platform: NodeJS.Platform; appName: string; dev: boolean }): MenuItemConstructorOptions[] {
  const mac = opts.platform === 'darwin'
  const template: MenuItemConstructorOptions[] = []
  if (mac) {
    template.push({
      label: opts.appName,
      submenu: [
        { role: 'about' },
        { type: 'separator' },
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        { type: 'separator' },
        { role: 'quit' }
      ]
    })
  }
  template.push({
    label: 'File',
    submenu: mac ? [{ role: 'close', label: 'Close Window' }] : [{ role: 'close', label: 'Close Window' }, { type: 'separator' }, { role: 'quit' }]
  })
  template.push({
    label: 'Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      { type: 'separator' },
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      { role: 'delete' },
      { type: 'separator' },
      { role: 'selectAll' }
    ]
  })
  template.push({
    label: 'View',
    submenu: [
      // Reloading and developer tools are for development: a reload mid-run only confuses.
      ...(opts.dev ? ([{ role: 'reload' }, { role: 'forceReload' }, { role: 'toggleDevTools' }, { type: 'separator' }] as MenuItemConstructorOptions[]) : []),
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' }
    ]
  })
  template.push({
    label: 'Window',
    submenu: mac ? [{ role: 'minimize' }, { role: 'zoom' }, { type: 'separator' }, { role: 'front' }] : [{ role: 'minimize' }]
  })
  return template
}

/** The tray menu lists at most this many runs; more would push Open and Quit off small screens. */
export const MAX_TRAY_RUNS = 10
/** Job names are cut to this many characters in the tray menu. */
const MAX_TRAY_LABEL_CHARS = 60

/** On Windows and Linux "&" marks a mnemonic in a menu label; a job named "R&D" must show its "&". */
export function escapeMenuLabel(label: string, platform: NodeJS.Platform): string {
  const short = label.length > MAX_TRAY_LABEL_CHARS ? `${label.slice(0, MAX_TRAY_LABEL_CHARS - 1)}…` : label
  return platform === 'darwin' ? short : short.replace(/&/g, '&&')
}

function runLabel(run: ActiveRun): string {
  if (run.status === 'paused') return 'paused'
  if (run.status === 'queued') return 'waiting'
  return run.percent === null ? 'running' : `${run.percent}%`
}

export interface TrayActions {
  open(): void
  openRun(runId: string): void
  quit(): void
  /** Start at login: absent where the system does not support it (Linux). */
  startAtLogin?: { enabled: boolean; set(on: boolean): void }
}

/** The tray menu: the runs in progress (each opens its live view), then Open and Quit. */
export function trayMenuTemplate(opts: { runs: readonly ActiveRun[]; platform: NodeJS.Platform; actions: TrayActions }): MenuItemConstructorOptions[] {
  const { runs, platform, actions } = opts
  const items: MenuItemConstructorOptions[] = []
  if (runs.length === 0) {
    items.push({ label: 'No runs in progress', enabled: false })
  } else {
    for (const run of runs.slice(0, MAX_TRAY_RUNS)) {
      items.push({ label: `${escapeMenuLabel(run.job, platform)} — ${runLabel(run)}`, click: () => actions.openRun(run.runId) })
    }
    if (runs.length > MAX_TRAY_RUNS) {
      items.push({ label: `${runs.length - MAX_TRAY_RUNS} more in progress…`, click: () => actions.open() })
    }
  }
  items.push({ type: 'separator' }, { label: 'Open Batchery', click: () => actions.open() })
  const login = actions.startAtLogin
  if (login) {
    // Schedules only run while Batchery runs: starting it at login keeps them honest after a reboot.
    items.push({ label: 'Start Batchery when I log in', type: 'checkbox', checked: login.enabled, click: () => login.set(!login.enabled) })
  }
  items.push({ label: 'Quit Batchery', click: () => actions.quit() })
  return items
}

/** The tray icon's tooltip. */
export function trayTooltip(runs: readonly ActiveRun[]): string {
  if (runs.length === 0) return 'Batchery'
  return `Batchery — ${runs.length} ${runs.length === 1 ? 'run' : 'runs'} in progress`
}
