// The main window's size, position and maximized state, remembered between starts in
// <userData>/window-state.json. Saved bounds are clamped to the displays there are now: a window
// saved on a monitor that was unplugged must not reopen off-screen.
import { readFileSync, renameSync, writeFileSync } from 'node:fs'

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

export interface WindowState {
  bounds: Rect
  maximized: boolean
}

export const WINDOW_STATE_FILE = 'window-state.json'
export const DEFAULT_SIZE = { width: 1200, height: 800 }
/** Below this the screens stop being usable (the run grid and charts need the room). */
export const MIN_SIZE = { width: 800, height: 560 }

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v)
}

/** A saved state read back from JSON, or null if it is anything other than what we wrote. */
export function parseWindowState(value: unknown): WindowState | null {
  if (typeof value !== 'object' || value === null) return null
  const v = value as { bounds?: unknown; maximized?: unknown }
  if (typeof v.bounds !== 'object' || v.bounds === null) return null
  const b = v.bounds as Record<string, unknown>
  if (!finite(b.x) || !finite(b.y) || !finite(b.width) || !finite(b.height) || b.width <= 0 || b.height <= 0) return null
  return {
    bounds: { x: Math.round(b.x), y: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height) },
    maximized: v.maximized === true
  }
}

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y)
  return w > 0 && h > 0 ? w * h : 0
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), Math.max(lo, hi))
}

function centered(area: Rect, width: number, height: number): Rect {
  return {
    x: Math.round(area.x + (area.width - width) / 2),
    y: Math.round(area.y + (area.height - height) / 2),
    width,
    height
  }
}

/**
 * Where to open the window. `workAreas` are the displays' work areas (without taskbar or menu
 * bar), the primary display first. The window goes on the display it overlaps most, shrunk to
 * fit it and moved fully inside it; with no saved state, or none of it on any display, it opens
 * centred on the primary display at the default size.
 */
export function clampWindowState(saved: WindowState | null, workAreas: readonly Rect[]): WindowState {
  const primary = workAreas[0] ?? { x: 0, y: 0, ...DEFAULT_SIZE }
  const fit = (area: Rect, width: number, height: number) => ({
    width: Math.min(Math.max(width, MIN_SIZE.width), area.width),
    height: Math.min(Math.max(height, MIN_SIZE.height), area.height)
  })
  if (!saved) {
    const size = fit(primary, DEFAULT_SIZE.width, DEFAULT_SIZE.height)
    return { bounds: centered(primary, size.width, size.height), maximized: false }
  }
  let best: Rect | null = null
  let bestOverlap = 0
  for (const area of workAreas) {
    const o = overlap(saved.bounds, area)
    if (o > bestOverlap) {
      best = area
      bestOverlap = o
    }
  }
  const size = fit(best ?? primary, saved.bounds.width, saved.bounds.height)
  if (!best) return { bounds: centered(primary, size.width, size.height), maximized: saved.maximized }
  return {
    bounds: {
      x: clamp(saved.bounds.x, best.x, best.x + best.width - size.width),
      y: clamp(saved.bounds.y, best.y, best.y + best.height - size.height),
      width: size.width,
      height: size.height
    },
    maximized: saved.maximized
  }
}

/** The saved state, or null when there is none or it cannot be read. */
export function loadWindowState(file: string): WindowState | null {
  try {
    return parseWindowState(JSON.parse(readFileSync(file, 'utf8')))
  } catch {
    return null
  }
}

/** Written to a temporary file and renamed, so a crash mid-write leaves the old state, not half of one. */
export function saveWindowState(file: string, state: WindowState): void {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(state)}\n`)
  renameSync(tmp, file)
}
