import { useEffect, useMemo, useState } from 'react'
import type { ApiError, JobSummary, RunSummaryView } from '../../../../shared/api'
import { call, toApiError } from '../../api/client'
import { ErrorNotice } from '../../components/ErrorNotice'
import { formatBytes, formatCount, formatDateTime, formatDuration, formatPercent } from '../../components/format'
import { PageHeader } from '../../components/PageHeader'
import { StatusBadge } from '../../components/StatusBadge'
import { href, navigate } from '../../routing/routes'
import { useJobsStore } from '../../stores/jobs-store'
import { useRunsStore } from '../../stores/runs-store'
import { useUiStore } from '../../stores/ui-store'
import { exportJob } from '../jobs/job-file'
import { RunOnFilesDialog } from '../schedule/RunOnFilesDialog'
import { SchedulePanel } from '../schedule/SchedulePanel'
import { parseLogLine } from './log-lines'
import './history.css'

const LOG_TAIL_LINES = 500

export function HistoryScreen(props: { name: string }): React.JSX.Element {
  const { name } = props
  const [job, setJob] = useState<JobSummary | null>(null)
  const [jobError, setJobError] = useState<ApiError | null>(null)
  const runsEntry = useRunsStore((s) => s.byJob[name])
  const loadJobRuns = useRunsStore((s) => s.loadJobRuns)
  const [selected, setSelected] = useState<string | null>(null)
  const [actionError, setActionError] = useState<ApiError | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const [filesOpen, setFilesOpen] = useState(false)
  const runOnFilesFor = useUiStore((s) => s.runOnFilesFor)
  const setRunOnFilesFor = useUiStore((s) => s.setRunOnFilesFor)
  const refreshJobs = useJobsStore((s) => s.refresh)

  // Files were dropped on this job in a browser, which cannot say where they are: offer the list.
  useEffect(() => {
    if (runOnFilesFor === name && job) {
      setFilesOpen(true)
      setRunOnFilesFor(null)
    }
  }, [runOnFilesFor, name, job, setRunOnFilesFor])

  useEffect(() => {
    let live = true
    setJob(null)
    setJobError(null)
    call('jobs.get', { name })
      .then((j) => live && setJob(j))
      .catch((e: unknown) => live && setJobError(toApiError(e)))
    void loadJobRuns(name)
    return () => {
      live = false
    }
  }, [name, loadJobRuns])

  const runs = runsEntry?.value ?? null
  // Until the user picks one, the newest run is shown.
  const shown = selected ?? runs?.[0]?.runId ?? null

  async function act(key: string, action: () => Promise<void>): Promise<void> {
    setBusy(key)
    setActionError(null)
    try {
      await action()
    } catch (e) {
      setActionError(toApiError(e))
    } finally {
      setBusy(null)
    }
  }

  const finished = runs?.filter((r) => r.finishedAt !== null && r.startedAt !== null) ?? []

  return (
    <section className="page history-page">
      <PageHeader
        title={name}
        subtitle={
          job ? (
            <>
              version {job.version} · success rate {formatPercent(job.successRate)}
              {finished.length > 0 && <> over {formatCount(finished.length)} finished run{finished.length === 1 ? '' : 's'}</>}
            </>
          ) : undefined
        }
        back={{ href: href.jobs(), label: 'Jobs' }}
        actions={
          <>
            <a className="btn" href={href.editJob(name)} data-testid="edit-job">
              Edit
            </a>
            {job && (
              <button type="button" className="btn" onClick={() => exportJob(name, job.definition)} data-testid="export-job">
                Export
              </button>
            )}
            <button
              type="button"
              className="btn"
              disabled={!job}
              onClick={() => setFilesOpen(true)}
              data-testid="run-on-files"
              title="Run the job on some of the files in its input folder"
            >
              Run on files…
            </button>
            <button
              type="button"
              className="btn btn-primary"
              disabled={busy !== null || !job}
              onClick={() =>
                void act('run', async () => {
                  const r = await call('runs.start', { job: name })
                  navigate(href.run(r.runId))
                })
              }
              data-testid={`run-job-${name}`}
            >
              Run now
            </button>
          </>
        }
      />
      <ErrorNotice error={jobError} />
      <ErrorNotice error={actionError} onDismiss={() => setActionError(null)} />
      <ErrorNotice error={runsEntry?.error ?? null} />

      {job && <SchedulePanel name={name} definition={job.definition} onChanged={() => void refreshJobs()} />}

      <section className="card" aria-labelledby="sec-runs">
        <h2 id="sec-runs">Runs</h2>
        {runs === null ? (
          !runsEntry?.error && <p className="muted">Loading runs…</p>
        ) : runs.length === 0 ? (
          <p className="muted">This job has not run yet. Press “Run now” to start it.</p>
        ) : (
          <div className="table-scroll">
            <table className="table runs-table">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Duration
                  </th>
                  <th scope="col" className="num">
                    In
                  </th>
                  <th scope="col" className="num">
                    Out
                  </th>
                  <th scope="col" className="num">
                    Filtered
                  </th>
                  <th scope="col" className="num">
                    Duplicates
                  </th>
                  <th scope="col" className="num">
                    Failed
                  </th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {runs.map((r) => (
                  <RunRow
                    key={r.runId}
                    run={r}
                    selected={r.runId === shown}
                    busy={busy}
                    onSelect={() => setSelected(r.runId)}
                    onResume={() =>
                      void act(`resume:${r.runId}`, async () => {
                        await call('runs.resume', { runId: r.runId })
                        navigate(href.run(r.runId))
                      })
                    }
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {shown && <RunDetailPanel runId={shown} />}
      {job && <RunOnFilesDialog open={filesOpen} job={job} onClose={() => setFilesOpen(false)} />}
    </section>
  )
}

function RunRow(props: { run: RunSummaryView; selected: boolean; busy: string | null; onSelect: () => void; onResume: () => void }): React.JSX.Element {
  const { run } = props
  const started = run.startedAt ?? run.createdAt
  const duration = run.startedAt !== null && run.finishedAt !== null ? run.finishedAt - run.startedAt : null
  return (
    <tr className={props.selected ? 'selected' : undefined} data-testid={`run-row-${run.runId}`} aria-selected={props.selected}>
      <td>
        <button type="button" className="link-button nowrap" onClick={props.onSelect} aria-pressed={props.selected} title={run.runId}>
          {formatDateTime(started)}
        </button>
      </td>
      <td>
        <StatusBadge status={run.status} />
      </td>
      <td className="num">{formatDuration(duration)}</td>
      <td className="num">{formatCount(run.counts.in)}</td>
      <td className="num">{formatCount(run.counts.out)}</td>
      <td className="num">{formatCount(run.counts.filtered)}</td>
      <td className="num">{formatCount(run.counts.deduped)}</td>
      <td className="num">{formatCount(run.counts.failed)}</td>
      <td className="row-actions">
        {run.status === 'interrupted' && (
          <button type="button" className="btn btn-primary btn-small" onClick={props.onResume} disabled={props.busy !== null} data-testid={`resume-run-${run.runId}`}>
            Resume
          </button>
        )}
        <a className="btn btn-small" href={href.run(run.runId)} data-testid={`open-run-${run.runId}`}>
          Open
        </a>
      </td>
    </tr>
  )
}

function RunDetailPanel(props: { runId: string }): React.JSX.Element {
  const { runId } = props
  const entry = useRunsStore((s) => s.details[runId])
  const loadRun = useRunsStore((s) => s.loadRun)
  const [log, setLog] = useState<string[] | null>(null)
  const [logError, setLogError] = useState<ApiError | null>(null)
  const status = entry?.value?.status

  useEffect(() => {
    void loadRun(runId)
  }, [runId, loadRun])

  useEffect(() => {
    let live = true
    call('runs.log', { runId, tail: LOG_TAIL_LINES })
      .then((l) => {
        if (!live) return
        setLog(l.lines)
        setLogError(null)
      })
      .catch((e: unknown) => live && setLogError(toApiError(e)))
    return () => {
      live = false
    }
    // Read the log again when the run changes state (it gains lines as it goes).
  }, [runId, status])

  const lines = useMemo(() => (log ?? []).map(parseLogLine), [log])
  const d = entry?.value ?? null

  return (
    <section className="card run-detail" aria-labelledby="sec-run-detail" data-testid="run-detail">
      <h2 id="sec-run-detail">
        Run <span className="mono">{runId}</span>
      </h2>
      <ErrorNotice error={entry?.error ?? null} />
      {d && (
        <>
          {d.message && d.status !== 'succeeded' && d.status !== 'partial' && (
            <div className={`notice ${d.status === 'failed' ? 'notice-error' : 'notice-info'}`}>
              <p>{d.message}</p>
            </div>
          )}
          <dl className="facts">
            <div>
              <dt>Partition time, median (p50)</dt>
              <dd data-testid="latency-p50">{formatDuration(d.latencyMs.p50)}</dd>
            </div>
            <div>
              <dt>Partition time, 95th percentile (p95)</dt>
              <dd data-testid="latency-p95">{formatDuration(d.latencyMs.p95)}</dd>
            </div>
            <div>
              <dt>Partitions</dt>
              <dd>{formatCount(d.partitions.length)}</dd>
            </div>
            <div>
              <dt>Input</dt>
              <dd>{formatBytes(d.bytesTotal)}</dd>
            </div>
            <div>
              <dt>Retries</dt>
              <dd>{formatCount(d.retries)}</dd>
            </div>
            <div>
              <dt>Peak memory</dt>
              <dd>{d.peakRssBytes !== null ? formatBytes(d.peakRssBytes) : '—'}</dd>
            </div>
          </dl>
          <p>
            <a href={href.run(runId)}>Open the run</a>
            {d.counts.failed > 0 && (
              <>
                {' · '}
                <a href={href.failures(runId)}>See the {formatCount(d.counts.failed)} failed records</a>
              </>
            )}
          </p>
        </>
      )}
      <h3>Log</h3>
      <ErrorNotice error={logError} />
      {log !== null && log.length === 0 && <p className="muted">The log is empty.</p>}
      {lines.length > 0 && (
        <div className="log" tabIndex={0} role="log" aria-label="Run log" data-testid="run-log">
          {lines.map((l, i) => (
            <div key={i} className={`log-line log-${l.level}`}>
              {l.time !== null && <span className="log-time">{l.time}</span>}
              {l.level !== 'other' && <span className="log-level">{l.level}</span>}
              <span className="log-msg">{l.message}</span>
              {l.fields && <span className="log-fields">{l.fields}</span>}
            </div>
          ))}
        </div>
      )}
    </section>
  )
}
