import { useEffect, useMemo, useRef, useState } from 'react'
import type { ApiError, JobSummary } from '../../../../shared/api'
import { call, toApiError } from '../../api/client'
import { isDesktop } from '../../api/transport'
import { desktopApi } from '../../api/window-api'
import { DurationBars } from '../../charts/lazy-charts'
import { ConfirmDialog, Dialog } from '../../components/Dialog'
import { ErrorNotice } from '../../components/ErrorNotice'
import { formatAgo, formatDateTime, formatDueTime, formatPercent } from '../../components/format'
import { PageHeader } from '../../components/PageHeader'
import { StatusBadge } from '../../components/StatusBadge'
import { href, navigate } from '../../routing/routes'
import { useJobsStore } from '../../stores/jobs-store'
import { useUiStore } from '../../stores/ui-store'
import { readDroppedFiles } from '../schedule/dropped-files'
import { describeTrigger } from '../schedule/schedule-words'
import '../schedule/schedule.css'
import { copyName, exportJob, readJobFile } from './job-file'
import './jobs.css'

type Pending =
  | { kind: 'delete'; name: string }
  | { kind: 'duplicate'; name: string; newName: string }
  | { kind: 'import'; job: Record<string, unknown>; name: string; baseDir: string | undefined }
  | null

export function JobsScreen(): React.JSX.Element {
  const jobs = useJobsStore((s) => s.jobs)
  const listError = useJobsStore((s) => s.error)
  const refresh = useJobsStore((s) => s.refresh)
  const [error, setError] = useState<ApiError | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const [pending, setPending] = useState<Pending>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const fileInput = useRef<HTMLInputElement>(null)
  /** Files dropped on a job in a browser, which cannot say where they are. */
  const [dropRefused, setDropRefused] = useState<{ name: string; message: string } | null>(null)
  const setRunOnFilesFor = useUiStore((s) => s.setRunOnFilesFor)

  useEffect(() => {
    void refresh()
  }, [refresh])

  const names = useMemo(() => new Set((jobs ?? []).map((j) => j.name)), [jobs])

  async function act(key: string, action: () => Promise<void>): Promise<void> {
    setBusy(key)
    setError(null)
    setNotice(null)
    setDropRefused(null)
    try {
      await action()
    } catch (e) {
      setError(toApiError(e))
    } finally {
      setBusy(null)
    }
  }

  const runJob = (name: string): Promise<void> =>
    act(`run:${name}`, async () => {
      const { runId } = await call('runs.start', { job: name })
      navigate(href.run(runId))
    })

  const setScheduleOn = (name: string, enabled: boolean): Promise<void> =>
    act(`schedule:${name}`, async () => {
      await call('jobs.setEnabled', { name, enabled })
      await refresh()
    })

  /** Files dropped on a job's row: in the desktop app a run over exactly those files. */
  const onFilesDropped = (name: string, data: DataTransfer): void => {
    const dropped = readDroppedFiles(data)
    if (!dropped) return
    if (!dropped.ok) {
      setError(null)
      setNotice(null)
      setDropRefused({ name, message: dropped.message })
      return
    }
    void act(`run:${name}`, async () => {
      const { runId } = await call('runs.startWithFiles', { job: name, paths: dropped.paths })
      navigate(href.run(runId))
    })
  }

  async function onImportFile(file: File): Promise<void> {
    setError(null)
    setNotice(null)
    const read = await readJobFile(file)
    if (!read.ok) {
      setError({ code: 'invalid_job', message: read.message })
      return
    }
    // In the desktop app the file's real path tells where relative paths in it point.
    const path = desktopApi()?.pathForFile?.(file)
    const baseDir = path ? path.replace(/[\\/][^\\/]*$/, '') : undefined
    const name = read.name ?? file.name.replace(/\.json$/i, '')
    if (names.has(name)) {
      setPending({ kind: 'import', job: read.job, name, baseDir })
      return
    }
    await importJob(read.job, name, baseDir)
  }

  const importJob = (job: Record<string, unknown>, name: string, baseDir: string | undefined): Promise<void> =>
    act('import', async () => {
      const saved = await call('jobs.save', { job: { ...job, name }, baseDir })
      setPending(null)
      setNotice(`Imported job “${saved.name}”.`)
      await refresh()
    })

  return (
    <section className="page">
      <PageHeader
        title="Jobs"
        subtitle={
          isDesktop()
            ? 'Each job cleans a folder of files the same way every time. Drop files on a job to run it on just those files.'
            : 'Each job cleans a folder of files the same way every time.'
        }
        actions={
          <>
            <button type="button" className="btn" onClick={() => fileInput.current?.click()} disabled={busy === 'import'} data-testid="import-job">
              Import…
            </button>
            <input
              ref={fileInput}
              type="file"
              accept=".json,application/json"
              className="visually-hidden"
              tabIndex={-1}
              aria-label="Import a job file"
              data-testid="import-job-file"
              onChange={(e) => {
                const file = e.target.files?.[0]
                e.target.value = ''
                if (file) void onImportFile(file)
              }}
            />
            <button type="button" className="btn btn-primary" onClick={() => navigate(href.newJob())} data-testid="new-job">
              New job
            </button>
          </>
        }
      />
      <ErrorNotice error={error ?? listError} onDismiss={error ? () => setError(null) : undefined} />
      {notice && (
        <div className="notice notice-ok" role="status">
          <p>{notice}</p>
        </div>
      )}
      {dropRefused && (
        <div className="notice notice-info" role="status" data-testid="drop-notice">
          <div className="notice-body">
            <p>{dropRefused.message}</p>
          </div>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              setRunOnFilesFor(dropRefused.name)
              setDropRefused(null)
              navigate(href.job(dropRefused.name))
            }}
            data-testid="drop-notice-run-on-files"
          >
            Run “{dropRefused.name}” on files…
          </button>
          <button type="button" className="btn btn-quiet btn-small" onClick={() => setDropRefused(null)}>
            Dismiss
          </button>
        </div>
      )}
      {jobs === null ? (
        !listError && <p className="muted">Loading jobs…</p>
      ) : jobs.length === 0 ? (
        <div className="empty-state" data-testid="jobs-empty">
          <p>No jobs yet. Create one from a folder of CSV or JSON-lines files.</p>
          <button type="button" className="btn btn-primary" onClick={() => navigate(href.newJob())}>
            New job
          </button>
        </div>
      ) : (
        <div className="table-scroll">
          <table className="table jobs-table">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Last run</th>
                <th scope="col">Schedule</th>
                <th scope="col">Success rate</th>
                <th scope="col">Recent durations</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <JobRow
                  key={job.name}
                  job={job}
                  busy={busy}
                  onRun={() => void runJob(job.name)}
                  onSchedule={(enabled) => void setScheduleOn(job.name, enabled)}
                  onFilesDropped={(data) => onFilesDropped(job.name, data)}
                  onDuplicate={() => setPending({ kind: 'duplicate', name: job.name, newName: copyName(job.name, names) })}
                  onDelete={() => setPending({ kind: 'delete', name: job.name })}
                  onExport={() => exportJob(job.name, job.definition)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}

      <ConfirmDialog
        open={pending?.kind === 'delete'}
        title="Delete this job?"
        message={
          <p>
            The job “{pending?.kind === 'delete' ? pending.name : ''}” will be removed from the list. Its past runs and their outputs stay.
          </p>
        }
        confirmLabel="Delete job"
        danger
        busy={busy === 'delete'}
        onCancel={() => setPending(null)}
        onConfirm={() => {
          if (pending?.kind !== 'delete') return
          const { name } = pending
          void act('delete', async () => {
            await call('jobs.delete', { name })
            setPending(null)
            setNotice(`Deleted job “${name}”.`)
            await refresh()
          })
        }}
      />

      <ConfirmDialog
        open={pending?.kind === 'import'}
        title="Replace the job?"
        message={
          <p>
            A job named “{pending?.kind === 'import' ? pending.name : ''}” already exists. Importing saves the file as its new version; its runs so
            far stay in its history.
          </p>
        }
        confirmLabel="Replace it"
        busy={busy === 'import'}
        onCancel={() => setPending(null)}
        onConfirm={() => {
          if (pending?.kind === 'import') void importJob(pending.job, pending.name, pending.baseDir)
        }}
      />

      <Dialog
        open={pending?.kind === 'duplicate'}
        title="Duplicate job"
        onClose={() => setPending(null)}
        footer={
          <>
            <button type="button" className="btn" onClick={() => setPending(null)}>
              Cancel
            </button>
            <button type="submit" form="duplicate-form" className="btn btn-primary" disabled={busy === 'duplicate'} data-testid="confirm">
              Duplicate
            </button>
          </>
        }
      >
        {pending?.kind === 'duplicate' && (
          <form
            id="duplicate-form"
            onSubmit={(e) => {
              e.preventDefault()
              const { name, newName } = pending
              const trimmed = newName.trim()
              if (!trimmed) return
              void act('duplicate', async () => {
                await call('jobs.duplicate', { name, newName: trimmed })
                setPending(null)
                setNotice(`Made “${trimmed}” from “${name}”.`)
                await refresh()
              })
            }}
          >
            <label className="field">
              <span>Name of the copy</span>
              <input
                autoFocus
                value={pending.newName}
                onChange={(e) => setPending({ ...pending, newName: e.target.value })}
                data-testid="duplicate-name"
                maxLength={100}
              />
            </label>
            {names.has(pending.newName.trim()) && <p className="field-problem">A job with this name already exists.</p>}
          </form>
        )}
      </Dialog>
    </section>
  )
}

function JobRow(props: {
  job: JobSummary
  busy: string | null
  onRun: () => void
  onSchedule: (enabled: boolean) => void
  onFilesDropped: (data: DataTransfer) => void
  onDuplicate: () => void
  onDelete: () => void
  onExport: () => void
}): React.JSX.Element {
  const { job } = props
  const last = job.lastRun
  const lastTime = last ? (last.finishedAt ?? last.startedAt) : null
  const [dragOver, setDragOver] = useState(false)
  const hasFiles = (e: React.DragEvent): boolean => e.dataTransfer.types.includes('Files')
  return (
    <tr
      data-testid={`job-row-${job.name}`}
      className={dragOver ? 'drop-target' : undefined}
      title={dragOver ? `Drop to run “${job.name}” on these files` : undefined}
      onDragOver={(e) => {
        if (!hasFiles(e)) return
        // The window's own drop handler would start a new job from them.
        e.preventDefault()
        e.stopPropagation()
        e.dataTransfer.dropEffect = 'copy'
        setDragOver(true)
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragOver(false)
      }}
      onDrop={(e) => {
        if (!hasFiles(e)) return
        e.preventDefault()
        e.stopPropagation()
        setDragOver(false)
        props.onFilesDropped(e.dataTransfer)
      }}
    >
      <th scope="row">
        <a href={href.job(job.name)} className="job-name">
          {job.name}
        </a>
        <div className="muted small">version {job.version}</div>
      </th>
      <td>
        {last ? (
          <a href={href.run(last.runId)} className="plain-link" aria-label={`Last run of ${job.name}`}>
            <StatusBadge status={last.status} testId={`job-status-${job.name}`} />
          </a>
        ) : (
          <StatusBadge status={null} testId={`job-status-${job.name}`} />
        )}
        <div className="muted small" title={formatDateTime(lastTime)}>
          {lastTime ? formatAgo(lastTime) : ''}
        </div>
      </td>
      <td>
        <ScheduleCell job={job} busy={props.busy === `schedule:${job.name}`} onSchedule={props.onSchedule} />
      </td>
      <td>{formatPercent(job.successRate)}</td>
      <td>
        <DurationBars durationsMs={job.recentDurationsMs} />
      </td>
      <td className="row-actions">
        <button type="button" className="btn btn-primary btn-small" onClick={props.onRun} disabled={props.busy === `run:${job.name}`} data-testid={`run-job-${job.name}`}>
          Run
        </button>
        <a className="btn btn-small" href={href.editJob(job.name)} data-testid={`edit-job-${job.name}`}>
          Edit
        </a>
        <button type="button" className="btn btn-small" onClick={props.onDuplicate} data-testid={`duplicate-job-${job.name}`}>
          Duplicate
        </button>
        <button type="button" className="btn btn-small" onClick={props.onExport} data-testid={`export-job-${job.name}`}>
          Export
        </button>
        <button type="button" className="btn btn-small btn-danger-quiet" onClick={props.onDelete} data-testid={`delete-job-${job.name}`}>
          Delete
        </button>
      </td>
    </tr>
  )
}

function triggersOf(definition: unknown): unknown[] {
  const def = typeof definition === 'object' && definition !== null ? (definition as Record<string, unknown>) : {}
  return Array.isArray(def.triggers) ? def.triggers : []
}

/** Manual, or the schedule's state with its next time, missed times, and a switch to turn it on or off. */
function ScheduleCell(props: { job: JobSummary; busy: boolean; onSchedule: (enabled: boolean) => void }): React.JSX.Element {
  const { job } = props
  const triggers = triggersOf(job.definition)
  if (triggers.length === 0) {
    return (
      <span className="muted" data-testid={`schedule-${job.name}`} title="Runs only when you start it">
        Manual
      </span>
    )
  }
  const words = triggers.map(describeTrigger)
  const onlyWatch = triggers.every((t) => typeof t === 'object' && t !== null && (t as { watch?: unknown }).watch === true)
  return (
    <div className="schedule-cell">
      <div className="schedule-cell-line">
        <button
          type="button"
          role="switch"
          aria-checked={job.scheduled}
          aria-label={job.scheduled ? `Turn off the schedule of ${job.name}` : `Turn on the schedule of ${job.name}`}
          className={`switch switch-small${job.scheduled ? ' switch-on' : ''}`}
          onClick={() => props.onSchedule(!job.scheduled)}
          disabled={props.busy}
          data-testid={`schedule-toggle-${job.name}`}
          title={job.scheduled ? 'Turn the schedule off: the job then runs only when you start it' : 'Turn the schedule on'}
        >
          <span className="switch-track" aria-hidden="true">
            <span className="switch-thumb" />
          </span>
        </button>
        <span data-testid={`schedule-${job.name}`} title={formatDateTime(job.nextDueAt)}>
          {job.scheduled
            ? job.nextDueAt !== null
              ? `On · next ${formatDueTime(job.nextDueAt)}`
              : onlyWatch
                ? 'On · watching the folder'
                : 'On'
            : 'Off'}
        </span>
      </div>
      <div className="muted small" title={words.join('\n')}>
        {words[0]}
        {words.length > 1 && ` (+${words.length - 1} more)`}
      </div>
      {job.missedRecently > 0 && (
        <a
          href={href.job(job.name)}
          className="badge badge-missed"
          data-testid={`schedule-missed-${job.name}`}
          title="Times the job was due but did not run (Batchery was closed or the computer asleep). See them on the job's page."
        >
          ⚠ {job.missedRecently} missed
        </a>
      )}
    </div>
  )
}
