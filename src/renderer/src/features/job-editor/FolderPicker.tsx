import { useCallback, useEffect, useState } from 'react'
import type { ApiError, FolderListing } from '../../../../shared/api'
import { call, toApiError } from '../../api/client'
import { Dialog } from '../../components/Dialog'
import { ErrorNotice } from '../../components/ErrorNotice'
import { formatBytes } from '../../components/format'

/** The most files listed under the folders, so a huge folder stays quick to show. */
const FILES_SHOWN = 12

/**
 * Choose a folder on this machine by walking the engine's listing (inputs.browse): the browser
 * stands-in for a dropped folder, since the page cannot see real paths.
 */
export function FolderPicker(props: { open: boolean; startPath: string; onChoose: (path: string) => void; onClose: () => void }): React.JSX.Element {
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

function joinChild(parent: string, name: string): string {
  const sep = parent.includes('\\') && !parent.includes('/') ? '\\' : '/'
  return parent.endsWith('/') || parent.endsWith('\\') ? parent + name : parent + sep + name
}
