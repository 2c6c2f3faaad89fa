// Files dropped onto a job: in the desktop app each file's real path (Electron's
// webUtils.getPathForFile, through the preload); a browser never tells the page where a dropped
// file lives, so there the user is sent to "Run on files…" instead.
import { desktopApi } from '../../api/window-api'

export type DroppedFiles = { ok: true; paths: string[] } | { ok: false; message: string }

export const BROWSER_FILES_DROP_MESSAGE =
  'A browser does not tell Batchery where dropped files are, so it cannot run the job on them from here. Open the job and use “Run on files…” to tick the files, or drop them on the job in the Batchery desktop app.'

/** Read a drop on a job; must be called while the drop event is being handled. Null when nothing was dropped. */
export function readDroppedFiles(data: DataTransfer): DroppedFiles | null {
  const files = [...data.files]
  if (files.length === 0) return null
  const pathForFile = desktopApi()?.pathForFile
  if (!pathForFile) return { ok: false, message: BROWSER_FILES_DROP_MESSAGE }
  const items = [...data.items]
  const isFolder = (i: number): boolean => {
    const entry = items[i]?.webkitGetAsEntry?.()
    return entry ? entry.isDirectory : files[i]?.type === '' && (files[i]?.size ?? 0) === 0 && !/\.[^./\\]+$/.test(files[i]?.name ?? '')
  }
  const paths: string[] = []
  let folders = 0
  files.forEach((f, i) => {
    if (isFolder(i)) {
      folders++
      return
    }
    const p = pathForFile(f)
    if (p) paths.push(p)
  })
  if (paths.length === 0) {
    return {
      ok: false,
      message: folders
        ? 'Drop files on a job, not a folder. To run the job on its whole input folder, press Run.'
        : 'Batchery cannot see where those files are. Use “Run on files…” on the job’s page instead.'
    }
  }
  return { ok: true, paths }
}
