import { useCallback, useEffect, useRef, useState } from 'react'
import type { ApiError, FolderListing } from '../../../../shared/api'
import { call, toApiError } from '../../api/client'
import { desktopApi, type DesktopApi } from '../../api/window-api'
import { Dialog } from '../../components/Dialog'
import { ErrorNotice } from '../../components/ErrorNotice'
import { formatBytes } from '../../components/format'
import { joinChild } from './paths'

/** The most files listed under the folders, so a huge folder stays quick to show. */
const FILES_SHOWN = 12

type FolderPickerProps = { open: boolean; startPath: string; onChoose: (path: string) => void; onClose: () => void }

/**
 * Choose a folder. In the desktop app: the system's folder dialog, through main, which grants the
 * folder chosen (the desktop app reaches only folders the user chose). In the browser (`batchery
 * serve`, behind the per-launch token, the user at the same machine): a picker walking the
 * engine's listing (inputs.browse), the stand-in for a dropped folder, since a browser page cannot
 * see real paths.
 */
export function FolderPicker(props: FolderPickerProps): React.JSX.Element {
  const pickFolder = desktopApi()?.pickFolder
  return pickFolder ? <SystemFolderPicker {...props} pickFolder={pickFolder} /> : <BrowserFolderPicker {...props} />
}

/** Opens the native dialog each time `open` turns true; shows something only when that fails. */
function SystemFolderPicker(props: FolderPickerProps & { pickFolder: NonNullable<DesktopApi['pickFolder']> }): React.JSX.Element {
  const { open, startPath, pickFolder } = props
  const [error, setError] = useState<ApiError | null>(null)
  // One dialog per opening, even when React runs the effect twice (StrictMode).
  const asking = useRef(false)
  const handlers = useRef({ onChoose: props.onChoose, onClose: props.onClose })
  handlers.current = { onChoose: props.onChoose, onClose: props.onClose }

  useEffect(() => {
    if (!open || asking.current) return
    asking.current = true
    setError(null)
    pickFolder({ purpose: 'input', ...(startPath ? { defaultPath: startPath } : {}) })
      .then((r) => {
        if (!r.ok) setError(r.error)
        else if (r.value.path) handlers.current.onChoose(r.value.path)
        else handlers.current.onClose()
      })
      .catch(() => setError({ code: 'internal', message: 'The folder dialog could not be opened. Try again.' }))
      .finally(() => {
        asking.current = false
      })
  }, [open, startPath, pickFolder])

  return (
    <Dialog
      open={open && error !== null}
      title="Choose the input folder"
      onClose={props.onClose}
      testId="folder-picker"
      footer={
        <button type="button" className="btn" onClick={props.onClose}>
          Close
        </button>
      }
    >
      <ErrorNotice error={error} />
    </Dialog>
  )
}

function BrowserFolderPicker(props: FolderPickerProps): React.JSX.Element {
  const { open, startPath } = props
  const [listing, setListing] = useState<FolderListing | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const [loading, setLoading] = useState(false)
  const [typed, setTyped] = useState('')

  const go = useCallback(async (path: string | undefined) => {
    setLoading(true)
    setError(null)
    try {
      const l = await call('inputs.browse', path ? { path } : {})
      setListing(l)
      setTyped(l.path)
    } catch (e) {
      setError(toApiError(e))
    } finally {
      setLoading(false)
    }
  }, [])

  useEffect(() => {
    if (open) void go(startPath || undefined)
  }, [open, startPath, go])

  const folders = listing?.entries.filter((e) => e.kind === 'folder') ?? []
  const files = listing?.entries.filter((e) => e.kind === 'file') ?? []

  return (
    <Dialog
      open={open}
      title="Choose the input folder"
      onClose={props.onClose}
      wide
      testId="folder-picker"
      footer={
        <>
          <button type="button" className="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" disabled={!listing || loading} onClick={() => listing && props.onChoose(listing.path)} data-testid="use-folder">
            Use this folder
          </button>
        </>
      }
    >
      <form
        className="picker-path"
        onSubmit={(e) => {
          e.preventDefault()
          if (typed.trim()) void go(typed.trim())
        }}
      >
        <label className="field grow">
          <span>Folder</span>
          <input value={typed} onChange={(e) => setTyped(e.target.value)} spellCheck={false} data-testid="picker-path" />
        </label>
        <button type="submit" className="btn">
          Go
        </button>
        <button type="button" className="btn" disabled={!listing?.parent || loading} onClick={() => listing?.parent && void go(listing.parent)} data-testid="folder-up">
          Up one level
        </button>
      </form>
      <ErrorNotice error={error} />
      <div className="picker-list" aria-busy={loading}>
        {listing && folders.length === 0 && <p className="muted">No folders inside.</p>}
        <ul className="folder-entries">
          {folders.map((f) => (
            <li key={f.name}>
              <button type="button" className="folder-entry" onClick={() => void go(joinChild(listing?.path ?? '', f.name))} data-testid={`folder-entry-${f.name}`}>
                <span aria-hidden="true" className="folder-icon">
                  ▸
                </span>
                {f.name}
              </button>
            </li>
          ))}
        </ul>
        {files.length > 0 && (
          <div className="picker-files">
            <p className="muted small">
              {files.length} file{files.length === 1 ? '' : 's'} in this folder:
            </p>
            <ul className="file-entries">
              {files.slice(0, FILES_SHOWN).map((f) => (
                <li key={f.name}>
                  {f.name} <span className="muted small">{formatBytes(f.size)}</span>
                </li>
              ))}
              {files.length > FILES_SHOWN && <li className="muted small">and {files.length - FILES_SHOWN} more</li>}
            </ul>
          </div>
        )}
      </div>
    </Dialog>
  )
}
