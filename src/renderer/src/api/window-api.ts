// What the Electron preload puts on `window.api`. The contract's two functions are required; the
// rest are desktop extras the page checks for before using, never assumes.
import type { Result, Transport } from '../../../shared/api'

/** What the folder is for; main picks the native dialog's title from it. */
export type PickFolderPurpose = 'input' | 'output' | 'archive'

export interface DesktopApi extends Transport {
  capabilities?: Readonly<Record<string, unknown>>
  /**
   * The real path of a dropped file or folder (Electron's webUtils.getPathForFile); '' when none.
   * The desktop app reaches only folders the user chose: a path given here is granted (a folder,
   * or the folder a file is in).
   */
  pathForFile?: (file: File) => string
  /**
   * The native folder dialog (main's dialogs.pickFolder). The folder chosen is granted and its
   * path returned; null when the user cancelled. defaultPath is only where the dialog opens.
   */
  pickFolder?: (options?: { purpose?: PickFolderPurpose; defaultPath?: string }) => Promise<Result<{ path: string | null }>>
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
