// Requests that only the desktop app can answer, because they need the OS shell. Main answers
// them itself. To open an output folder the page names a run, never a path: main asks the engine
// where the run's outputs are and shows that place, so a page can never make the shell open a path
// of its choosing. To choose a folder the page asks for the native dialog; what the user picks
// there is granted (folder-grants.ts) and its path returned.
import { isAbsolute } from 'node:path'
import type { ApiError, Result, RunDetail } from '../../shared/api'
import type { LocalMethod } from './ipc'

export const OPEN_OUTPUT_FOLDER = 'runs.openOutputFolder'
/** Params { purpose?: 'input' | 'output' | 'archive', defaultPath?: string }; value { path: string | null } (null: cancelled). */
export const PICK_FOLDER = 'dialogs.pickFolder'

/** The dialog's title for each purpose: fixed here, so a page cannot put words of its own in a native dialog. */
export const PICK_FOLDER_TITLES = {
  input: 'Choose the input folder',
  output: 'Choose the output folder',
  archive: 'Choose the archive folder'
} as const
export type PickFolderPurpose = keyof typeof PICK_FOLDER_TITLES

/** What dialog.showOpenDialog takes and gives, as far as PICK_FOLDER uses it. */
export interface FolderDialogOptions {
  title: string
  buttonLabel: string
  defaultPath?: string
  properties: ('openDirectory' | 'createDirectory')[]
}

export interface DesktopMethodDeps {
  callEngine: (method: string, params: unknown) => Promise<Result<unknown>>
  /** shell.showItemInFolder */
  showItemInFolder: (path: string) => void
  exists: (path: string) => boolean
  /** dialog.showOpenDialog, attached to the main window when there is one. */
  showOpenDialog: (options: FolderDialogOptions) => Promise<{ canceled: boolean; filePaths: string[] }>
  /** Grants a folder the user picked; the folder granted, or null if it cannot be. */
  grantChosen: (path: string) => string | null
}

function fail(code: ApiError['code'], message: string): Result<never> {
  return { ok: false, error: { code, message } }
}

/**
 * What to show for a run: its first output file that still exists (the file manager opens its
 * folder with the file selected), else the output folder itself, else null.
 */
export function pathToShow(detail: Pick<RunDetail, 'outputs' | 'outputFolder'>, exists: (path: string) => boolean): string | null {
  for (const output of detail.outputs) {
    if (typeof output.path === 'string' && isAbsolute(output.path) && exists(output.path)) return output.path
  }
  if (typeof detail.outputFolder === 'string' && isAbsolute(detail.outputFolder) && exists(detail.outputFolder)) return detail.outputFolder
  return null
}

function malformed(method: string, path: string, message: string): Result<never> {
  return { ok: false, error: { code: 'invalid_params', message: `The request ${method} is malformed.`, problems: [{ path, message }] } }
}

export function createDesktopMethods(deps: DesktopMethodDeps): Record<string, LocalMethod> {
  let dialogOpen = false
  return {
    /** The native folder dialog; the folder picked is granted. */
    [PICK_FOLDER]: async (params) => {
      const purpose = params.purpose ?? 'input'
      if (typeof purpose !== 'string' || !Object.hasOwn(PICK_FOLDER_TITLES, purpose)) return malformed(PICK_FOLDER, 'purpose', 'must be input, output or archive')
      const start = params.defaultPath
      if (start !== undefined && (typeof start !== 'string' || start.length > 4096)) return malformed(PICK_FOLDER, 'defaultPath', 'must be a path')
      if (dialogOpen) return fail('conflict', 'A folder dialog is open already; choose the folder there.')
      dialogOpen = true
      try {
        const options: FolderDialogOptions = {
          title: PICK_FOLDER_TITLES[purpose as PickFolderPurpose],
          buttonLabel: 'Use this folder',
          properties: ['openDirectory', 'createDirectory'],
          // Only where the dialog opens: the user still chooses. A path that is not plainly absolute is not passed on.
          ...(start && isAbsolute(start) && !start.includes('\0') ? { defaultPath: start } : {})
        }
        const picked = await deps.showOpenDialog(options)
        const path = picked.filePaths[0]
        if (picked.canceled || path === undefined) return { ok: true, value: { path: null } }
        const granted = deps.grantChosen(path)
        if (granted === null) return fail('forbidden', `Batchery cannot use the folder ${path}. Choose another one.`)
        return { ok: true, value: { path: granted } }
      } finally {
        dialogOpen = false
      }
    },

    /** Show a run's output folder in the system file manager. Params: { runId }. */
    [OPEN_OUTPUT_FOLDER]: async (params) => {
      const runId = params.runId
      if (typeof runId !== 'string' || runId.length === 0 || runId.length > 100) {
        return { ok: false, error: { code: 'invalid_params', message: `The request ${OPEN_OUTPUT_FOLDER} is malformed.`, problems: [{ path: 'runId', message: 'a run id is required' }] } }
      }
      const run = await deps.callEngine('runs.get', { runId })
      if (!run.ok) return run
      const detail = run.value as RunDetail
      const target = pathToShow(detail, deps.exists)
      if (target === null) {
        return fail('not_found', `The output folder ${detail.outputFolder} does not exist any more; it was moved or deleted.`)
      }
      deps.showItemInFolder(target)
      return { ok: true, value: { shown: target } }
    }
  }
}
