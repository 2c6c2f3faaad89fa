// Window state: saved bounds clamped to the displays there are now, parsing what was saved, and
// the atomic save/load round trip.
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  clampWindowState,
  DEFAULT_SIZE,
  loadWindowState,
  MIN_SIZE,
  parseWindowState,
  type Rect,
  saveWindowState,
  WINDOW_STATE_FILE,
  type WindowState
} from '../../src/main/electron/window-state'
import { tempDir } from '../helpers/cli'

// A laptop (primary, with a 25 px menu bar) and an external monitor to its right.
const LAPTOP: Rect = { x: 0, y: 25, width: 1440, height: 875 }
const MONITOR: Rect = { x: 1440, y: 0, width: 2560, height: 1400 }
const saved = (x: number, y: number, width: number, height: number, maximized = false): WindowState => ({ bounds: { x, y, width, height }, maximized })

describe('clampWindowState', () => {
  it('opens centred at the default size when nothing was saved', () => {
    expect(clampWindowState(null, [LAPTOP, MONITOR])).toEqual({
      // (1440 - 1200) / 2 = 120; 25 + (875 - 800) / 2 = 62.5, rounded.
      bounds: { x: 120, y: 63, ...DEFAULT_SIZE },
      maximized: false
    })
  })

  it('keeps a window that fits where it was', () => {
    expect(clampWindowState(saved(100, 80, 1000, 700), [LAPTOP, MONITOR])).toEqual(saved(100, 80, 1000, 700))
    expect(clampWindowState(saved(2000, 200, 1600, 1000, true), [LAPTOP, MONITOR])).toEqual(saved(2000, 200, 1600, 1000, true))
  })

  it('moves a window hanging off an edge back inside its display', () => {
    expect(clampWindowState(saved(-300, -50, 1000, 700), [LAPTOP, MONITOR]).bounds).toEqual({ x: 0, y: 25, width: 1000, height: 700 })
    expect(clampWindowState(saved(3500, 1000, 1000, 700), [LAPTOP, MONITOR]).bounds).toEqual({ x: 4000 - 1000, y: 1400 - 700, width: 1000, height: 700 })
  })

  it('puts a window straddling two displays on the one it overlaps most', () => {
    // 1240..2440: 200 px on the laptop, 1000 px on the monitor.
    expect(clampWindowState(saved(1240, 100, 1200, 800), [LAPTOP, MONITOR]).bounds).toEqual({ x: 1440, y: 100, width: 1200, height: 800 })
  })

  it('shrinks a window larger than its display to fit it', () => {
    expect(clampWindowState(saved(10, 30, 3000, 2000), [LAPTOP]).bounds).toEqual({ x: 0, y: 25, width: 1440, height: 875 })
  })

  it('brings a window saved on a monitor that is gone back to the primary display, centred', () => {
    const r = clampWindowState(saved(1600, 100, 1200, 800, true), [LAPTOP])
    expect(r).toEqual({ bounds: { x: 120, y: 63, width: 1200, height: 800 }, maximized: true })
  })

  it('never makes the window smaller than the minimum, unless the display is', () => {
    expect(clampWindowState(saved(100, 100, 200, 100), [LAPTOP]).bounds).toMatchObject({ width: MIN_SIZE.width, height: MIN_SIZE.height })
    const tiny: Rect = { x: 0, y: 0, width: 640, height: 480 }
    expect(clampWindowState(saved(0, 0, 1200, 800), [tiny]).bounds).toEqual({ x: 0, y: 0, width: 640, height: 480 })
  })

  it('copes with displays at negative coordinates (a monitor left of the primary)', () => {
    const left: Rect = { x: -1920, y: 0, width: 1920, height: 1080 }
    expect(clampWindowState(saved(-1800, 50, 1000, 700), [LAPTOP, left]).bounds).toEqual({ x: -1800, y: 50, width: 1000, height: 700 })
    expect(clampWindowState(saved(-2500, 50, 1000, 700), [LAPTOP, left]).bounds).toEqual({ x: -1920, y: 50, width: 1000, height: 700 })
  })

  it('still answers with no displays reported', () => {
    const r = clampWindowState(saved(5000, 5000, 1000, 700), [])
    expect(r.bounds.width).toBe(1000)
    expect(Number.isFinite(r.bounds.x) && Number.isFinite(r.bounds.y)).toBe(true)
  })
})

describe('parseWindowState', () => {
  it('accepts what we write and rounds it', () => {
    expect(parseWindowState({ bounds: { x: 1.4, y: 2.6, width: 900, height: 700 }, maximized: true })).toEqual(saved(1, 3, 900, 700, true))
    expect(parseWindowState({ bounds: { x: 0, y: 0, width: 900, height: 700 } })).toEqual(saved(0, 0, 900, 700, false))
  })

  it('refuses anything else', () => {
    for (const v of [
      null,
      'x',
      [],
      {},
      { bounds: null },
      { bounds: { x: 0, y: 0, width: 900 } },
      { bounds: { x: '0', y: 0, width: 900, height: 700 } },
      { bounds: { x: 0, y: 0, width: 0, height: 700 } },
      { bounds: { x: 0, y: 0, width: -5, height: 700 } },
      { bounds: { x: Number.NaN, y: 0, width: 900, height: 700 } },
      { bounds: { x: 0, y: 0, width: Number.POSITIVE_INFINITY, height: 700 } }
    ]) {
      expect(parseWindowState(v), JSON.stringify(v)).toBeNull()
    }
  })
})

describe('saving and loading', () => {
  it('round-trips through the file, leaving no temporary file', () => {
    const dir = tempDir('batchery-window-state-')
    const file = join(dir, WINDOW_STATE_FILE)
    expect(loadWindowState(file)).toBeNull()
    saveWindowState(file, saved(10, 20, 1000, 700, true))
    expect(loadWindowState(file)).toEqual(saved(10, 20, 1000, 700, true))
    saveWindowState(file, saved(30, 40, 900, 600))
    expect(loadWindowState(file)).toEqual(saved(30, 40, 900, 600))
    expect(readdirSync(dir)).toEqual([WINDOW_STATE_FILE])
  })

  it('treats a corrupt file as no saved state', () => {
    const dir = tempDir('batchery-window-state-')
    const file = join(dir, WINDOW_STATE_FILE)
    writeFileSync(file, '{"bounds": {"x": 1, ')
    expect(existsSync(file)).toBe(true)
    expect(loadWindowState(file)).toBeNull()
  })
})
