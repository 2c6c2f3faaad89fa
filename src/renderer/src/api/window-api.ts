// What the Electron preload puts on `window.api`. The contract's two functions are required; the
// rest are desktop extras the page checks for before using, never assumes.
import type { Transport } from '../../../shared/api'

export interface DesktopApi extends Transport {
  capabilities?: Readonly<Record<string, unknown>>
  /** The real path of a dropped file or folder (Electron's webUtils.getPathForFile); '' when none. */
  pathForFile?: (file: File) => string
}

declare global {
  interface Window {
    api?: DesktopApi
  }
}

/** The preload's API when the page runs in the desktop app and it exposes the contract. */
export function desktopApi(): DesktopApi | null {
  const api = typeof window !== 'undefined' ? window.api : undefined
  return api && typeof api.call === 'function' && typeof api.subscribe === 'function' ? api : null
}
