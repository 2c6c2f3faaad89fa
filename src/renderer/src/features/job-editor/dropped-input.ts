// What a drop on the window means for a new job: a folder becomes the input folder; files become
// their folder with only those files included. Only the desktop app can see real paths.
import { desktopApi } from '../../api/window-api'
import { parentPath } from './paths'

export type DroppedInput = { ok: true; folder: string; include: string[] | null } | { ok: false; message: string }

export const BROWSER_DROP_MESSAGE =
  'A browser does not tell Batchery where a dropped folder is. Use “Choose folder…” to pick it instead.'

/** Read a drop event's items; must be called while the drop event is being handled. */
export function readDrop(data: DataTransfer): DroppedInput | null {
  const files = [...data.files]
  if (files.length === 0) return null
  const pathForFile = desktopApi()?.pathForFile
  if (!pathForFile) return { ok: false, message: BROWSER_DROP_MESSAGE }
  const items = [...data.items]
  const isFolder = (i: number): boolean => {
    const entry = items[i]?.webkitGetAsEntry?.()
    return entry ? entry.isDirectory : files[i]?.type === '' && (files[i]?.size ?? 0) === 0
  }
  const paths = files.map((f) => pathForFile(f))
  const folderIndex = files.findIndex((_, i) => isFolder(i))
  if (folderIndex >= 0) {
    const folder = paths[folderIndex]
    return folder ? { ok: true, folder, include: null } : { ok: false, message: 'That folder cannot be read.' }
  }
  const first = paths[0]
  if (!first) return { ok: false, message: 'Those files cannot be read.' }
  const folder = parentPath(first)
  const names = paths.filter((p) => parentPath(p) === folder).map((p) => p.slice(folder.length + 1))
  return { ok: true, folder, include: names }
}
