// The application menu per platform, and the tray menu built from the runs in progress.
import type { MenuItemConstructorOptions } from 'electron'
import { describe, expect, it } from 'vitest'
import { appMenuTemplate, escapeMenuLabel, MAX_TRAY_RUNS, trayMenuTemplate, trayTooltip } from '../../src/main/electron/menu-template'
import type { ActiveRun } from '../../src/main/electron/run-tracker'

function roles(items: MenuItemConstructorOptions[]): string[] {
  return items.flatMap((i) => [...(i.role ? [i.role] : []), ...(Array.isArray(i.submenu) ? roles(i.submenu) : [])])
}

describe('appMenuTemplate', () => {
  it('on macOS starts with the app menu and offers the standard edit commands', () => {
    const t = appMenuTemplate({ platform: 'darwin', appName: 'Batchery', dev: false })
    expect(t.map((m) => m.label)).toEqual(['Batchery', 'File', 'Edit', 'View', 'Window'])
    expect(roles(t)).toEqual(expect.arrayContaining(['about', 'hide', 'quit', 'undo', 'redo', 'cut', 'copy', 'paste', 'selectAll', 'close', 'front']))
  })

  it('on Windows and Linux has File, Edit, View and Window, and Quit under File', () => {
    for (const platform of ['win32', 'linux'] as const) {
      const t = appMenuTemplate({ platform, appName: 'Batchery', dev: false })
      expect(t.map((m) => m.label)).toEqual(['File', 'Edit', 'View', 'Window'])
      expect(roles([t[0]!])).toEqual(['close', 'quit'])
    }
  })

  it('has Quit exactly once everywhere', () => {
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      expect(roles(appMenuTemplate({ platform, appName: 'Batchery', dev: true })).filter((r) => r === 'quit')).toHaveLength(1)
    }
  })

  it('offers reload and developer tools only in development', () => {
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      const prod = roles(appMenuTemplate({ platform, appName: 'Batchery', dev: false }))
      expect(prod).not.toContain('toggleDevTools')
      expect(prod).not.toContain('reload')
      expect(prod).not.toContain('forceReload')
      expect(roles(appMenuTemplate({ platform, appName: 'Batchery', dev: true }))).toEqual(expect.arrayContaining(['reload', 'forceReload', 'toggleDevTools']))
    }
  })

  it('uses only roles and separators (no click handlers that could do more)', () => {
    const walk = (items: MenuItemConstructorOptions[]): void => {
      for (const i of items) {
        expect(i.click).toBeUndefined()
        if (Array.isArray(i.submenu)) walk(i.submenu)
        else expect(i.role !== undefined || i.type === 'separator', JSON.stringify(i)).toBe(true)
      }
    }
    walk(appMenuTemplate({ platform: 'linux', appName: 'Batchery', dev: true }))
  })
})

describe('trayMenuTemplate', () => {
  const run = (n: number, patch: Partial<ActiveRun> = {}): ActiveRun => ({ runId: `r${n}`, job: `job-${n}`, status: 'running', percent: null, failed: null, ...patch })

  function build(runs: ActiveRun[], platform: NodeJS.Platform = 'linux') {
    const clicks: string[] = []
    const items = trayMenuTemplate({
      runs,
      platform,
      actions: { open: () => clicks.push('open'), openRun: (id) => clicks.push(`run:${id}`), quit: () => clicks.push('quit') }
    })
    const click = (label: string): void => {
      const item = items.find((i) => i.label === label)
      if (!item?.click) throw new Error(`no clickable item "${label}"`)
      ;(item.click as () => void)()
    }
    return { items, labels: items.map((i) => i.label ?? `(${i.type})`), clicks, click }
  }

  it('says when nothing runs, and always offers Open and Quit', () => {
    const t = build([])
    expect(t.labels).toEqual(['No runs in progress', '(separator)', 'Open Batchery', 'Quit Batchery'])
    expect(t.items[0]?.enabled).toBe(false)
    t.click('Open Batchery')
    t.click('Quit Batchery')
    expect(t.clicks).toEqual(['open', 'quit'])
  })

  it('lists runs in progress with their state; clicking one opens it', () => {
    const t = build([run(1, { percent: 42 }), run(2), run(3, { status: 'paused' }), run(4, { status: 'queued' })])
    expect(t.labels.slice(0, 4)).toEqual(['job-1 — 42%', 'job-2 — running', 'job-3 — paused', 'job-4 — waiting'])
    t.click('job-3 — paused')
    expect(t.clicks).toEqual(['run:r3'])
  })

  it(`lists at most ${MAX_TRAY_RUNS} runs and says how many more`, () => {
    const t = build(Array.from({ length: MAX_TRAY_RUNS + 3 }, (_, i) => run(i + 1)))
    expect(t.labels.filter((l) => l.startsWith('job-'))).toHaveLength(MAX_TRAY_RUNS)
    expect(t.labels).toContain('3 more in progress…')
  })

  it('shows "&" in job names on Windows and Linux, and shortens very long names', () => {
    expect(build([run(1, { job: 'R&D exports' })], 'win32').labels[0]).toBe('R&&D exports — running')
    expect(build([run(1, { job: 'R&D exports' })], 'darwin').labels[0]).toBe('R&D exports — running')
    expect(escapeMenuLabel('x'.repeat(100), 'linux')).toHaveLength(60)
    expect(escapeMenuLabel('x'.repeat(100), 'linux').endsWith('…')).toBe(true)
  })

  it('offers "Start Batchery when I log in" as a checkbox where the system supports it, and toggles it', () => {
    let enabled = false
    const items = trayMenuTemplate({
      runs: [],
      platform: 'win32',
      actions: { open: () => {}, openRun: () => {}, quit: () => {}, startAtLogin: { enabled, set: (on) => (enabled = on) } }
    })
    const login = items.find((i) => i.label === 'Start Batchery when I log in')
    expect(login).toMatchObject({ type: 'checkbox', checked: false })
    ;(login?.click as () => void)()
    expect(enabled).toBe(true)
    expect(items.map((i) => i.label ?? `(${i.type})`).slice(-3)).toEqual(['Open Batchery', 'Start Batchery when I log in', 'Quit Batchery'])
    expect(build([]).labels).not.toContain('Start Batchery when I log in')
  })

  it('summarises the runs in the tooltip', () => {
    expect(trayTooltip([])).toBe('Batchery')
    expect(trayTooltip([run(1)])).toBe('Batchery — 1 run in progress')
    expect(trayTooltip([run(1), run(2)])).toBe('Batchery — 2 runs in progress')
  })
})
