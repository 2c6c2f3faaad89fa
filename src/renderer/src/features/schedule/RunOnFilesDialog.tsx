import { useCallback, useEffect, useMemo, useState } from 'react'
import type { ApiError, FolderListing, JobSummary } from '../../../../shared/api'
import { call, toApiError } from '../../api/client'
import { Dialog } from '../../components/Dialog'
import { ErrorNotice } from '../../components/ErrorNotice'
import { formatBytes, formatCount } from '../../components/format'
import { isAbsolutePath, joinChild, resolvePath, trimTrailingSeparators } from '../job-editor/paths'
import { href, navigate } from '../../routing/routes'
import { isJobFile } from './file-patterns'
import './schedule.css'

interface JobInputs {
  folder: string
  include: string[]
  exclude: string[]
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
}

/** The job's input folder (absolute) and its file patterns, from its saved definition. */
export function jobInputs(job: Pick<JobSummary, 'definition' | 'baseDir'>): JobInputs | null {
  const def = typeof job.definition === 'object' && job.definition !== null ? (job.definition as Record<string, unknown>) : {}
  const input = typeof def.input === 'object' && def.input !== null ? (def.input as Record<string, unknown>) : {}
  if (typeof input.folder !== 'string' || !input.folder) return null
  const folder = isAbsolutePath(input.folder) ? input.folder : resolvePath(job.baseDir, input.folder)
  return { folder, include: strings(input.include), exclude: strings(input.exclude) }
}

/** `path` relative to `root` with "/" separators; null when it is not inside it. */
function relativeTo(root: string, path: string): string | null {
  const r = trimTrailingSeparators(root)
  const p = trimTrailingSeparators(path)
  if (p === r) return ''
  const prefix = r.endsWith('/') || r.endsWith('\\') ? r : r + (r.includes('\\') && !r.includes('/') ? '\\' : '/')
  return p.startsWith(prefix) ? p.slice(prefix.length).replaceAll('\\', '/') : null
}

/**
 * "Run on files…": the files of the job's input folder with a box to tick each, and a run of the
 * saved job over exactly the ticked ones (runs.startWithFiles). The browser's stand-in for
 * dropping files onto a job, since a page cannot see where dropped files are.
 */
export function RunOnFilesDialog(props: { open: boolean; job: JobSummary; onClose: () => void }): React.JSX.Element {
  const { open, job, onClose } = props
  const inputs = useMemo(() => jobInputs(job), [job])
  const [root, setRoot] = useState<string | null>(null)
  const [listing, setListing] = useState<FolderListing | null>(null)
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const [selected, setSelected] = useState<Map<string, { rel: string; size: number }>>(new Map())
  const [starting, setStarting] = useState(false)

  const go = useCallback(async (path: string, isRoot: boolean) => {
    setLoading(true)
    setError(null)
    try {
      const l = await call('inputs.browse', { path })
      setListing(l)
      if (isRoot) setRoot(l.path)
    } catch (e) {
      setError(toApiError(e))
    } finally {
      setLoading(false)
    }
  }, [])

  useEffect(() => {
    if (!open) return
    setSelected(new Map())
    setListing(null)
    setRoot(null)
    if (inputs) void go(inputs.folder, true)
  }, [open, inputs, go])

  const here = listing && root !== null ? relativeTo(root, listing.path) : null
  const folders = listing?.entries.filter((e) => e.kind === 'folder') ?? []
  const files = (listing?.entries.filter((e) => e.kind === 'file') ?? []).map((f) => {
    const path = joinChild(listing?.path ?? '', f.name)
    const rel = here ? `${here}/${f.name}` : f.name
    return { ...f, path, rel, read: inputs ? isJobFile(rel, inputs.include, inputs.exclude) : true }
  })
  const selectedSize = [...selected.values()].reduce((n, f) => n + f.size, 0)

  const toggle = (path: string, rel: string, size: number, on: boolean): void =>
    setSelected((s) => {
      const next = new Map(s)
      if (on) next.set(path, { rel, size })
      else next.delete(path)
      return next
    })

  async function start(): Promise<void> {
    setStarting(true)
    setError(null)
    try {
      const { runId } = await call('runs.startWithFiles', { job: job.name, paths: [...selected.keys()] })
      onClose()
      navigate(href.run(runId))
    } catch (e) {
      setError(toApiError(e))
    } finally {
      setStarting(false)
    }
  }

  const count = selected.size
  return (
    <Dialog
      open={open}
      title={`Run “${job.name}” on chosen files`}
      onClose={onClose}
      wide
      testId="run-on-files-dialog"
      footer={
        <>
          <span className="muted small grow" aria-live="polite" data-testid="files-chosen">
            {count === 0 ? 'No files ticked yet.' : `${formatCount(count)} file${count === 1 ? '' : 's'} ticked (${formatBytes(selectedSize)}).`}
          </span>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" disabled={count === 0 || starting} onClick={() => void start()} data-testid="start-with-files">
            {starting ? 'Starting…' : count <= 1 ? 'Run on this file' : `Run on these ${formatCount(count)} files`}
          </button>
        </>
      }
    >
      <p>
        Tick the files to process. The job runs with its saved steps and output, on these files only; the rest of the folder is left alone
        {job.definition && (job.definition as { incremental?: unknown }).incremental === true ? ', and files it processed before are run again if you tick them' : ''}.
      </p>
      {!inputs && <p className="field-problem">This job has no input folder to list. Edit the job to choose one.</p>}
      {listing && root !== null && (
        <div className="file-choice-path">
          <span className="path" title={listing.path}>
            {listing.path}
          </span>
          {here !== null && here !== '' && listing.parent && (
            <button type="button" className="btn btn-small" onClick={() => listing.parent && void go(listing.parent, false)} data-testid="files-up">
              Up one level
            </button>
          )}
        </div>
      )}
      <ErrorNotice error={error} />
      <div className="file-choices" aria-busy={loading}>
        {listing && folders.length === 0 && files.length === 0 && <p className="muted">This folder is empty.</p>}
        {folders.length > 0 && (
          <ul className="file-folders">
            {folders.map((f) => (
              <li key={f.name}>
                <button type="button" className="file-folder" onClick={() => void go(joinChild(listing?.path ?? '', f.name), false)} data-testid={`files-folder-${f.name}`}>
                  <span aria-hidden="true" className="file-folder-icon">
                    ▸
                  </span>
                  {f.name}
                </button>
              </li>
            ))}
          </ul>
        )}
        {files.length > 0 && (
          <ul className="file-choice-list">
            {files.map((f) => (
              <li key={f.name}>
                <label className={`file-choice${f.read ? '' : ' not-read'}`}>
                  <input
                    type="checkbox"
                    checked={selected.has(f.path)}
                    onChange={(e) => toggle(f.path, f.rel, f.size, e.target.checked)}
                    value={f.path}
                    data-testid="file-choice"
                  />
                  <span className="file-choice-name">{f.name}</span>
                  <span className="muted small">{formatBytes(f.size)}</span>
                  {!f.read && <span className="muted small">· not one of the files this job reads by itself</span>}
                </label>
              </li>
            ))}
          </ul>
        )}
      </div>
      {files.length > 1 && (
        <p className="file-choice-actions">
          <button
            type="button"
            className="link-button"
            onClick={() =>
              setSelected((s) => {
                const next = new Map(s)
                for (const f of files) if (f.read) next.set(f.path, { rel: f.rel, size: f.size })
                return next
              })
            }
          >
            Tick all the job’s files here
          </button>
          {count > 0 && (
            <>
              {' · '}
              <button type="button" className="link-button" onClick={() => setSelected(new Map())}>
                Untick all
              </button>
            </>
          )}
        </p>
      )}
    </Dialog>
  )
}
