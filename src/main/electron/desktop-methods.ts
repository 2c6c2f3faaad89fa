// Requests that only the desktop app can answer, because they need the OS shell. Main answers
// them itself; the page names a run, never a path: main asks the engine where the run's outputs
// are and shows that place, so a page can never make the shell open a path of its choosing.
import { isAbsolute } from 'node:path'
import type { ApiError, Result, RunDetail } from '../../shared/api'
import type { LocalMethod } from './ipc'

export const OPEN_OUTPUT_FOLDER = 'runs.openOutputFolder'

export interface DesktopMethodDeps {
  callEngine: (method: string, params: unknown) => Promise<Result<unknown>>
  /** shell.showItemInFolder */
  showItemInFolder: (path: string) => void
  exists: (path: string) => boolean
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

export function createDesktopMethods(deps: DesktopMethodDeps): Record<string, LocalMethod> {
  return {
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
