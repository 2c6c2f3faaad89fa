import { useEffect, useMemo, useRef, useState } from 'react'
import type { ApiError, Result, RunStatus } from '../../../../shared/api'
import { call, toApiError } from '../../api/client'
import { desktopApi } from '../../api/window-api'
import { RateChart } from '../../charts/lazy-charts'
import { ConfirmDialog } from '../../components/Dialog'
import { ErrorNotice } from '../../components/ErrorNotice'
import { formatBytes, formatCount, formatDateTime, formatDuration, formatRate } from '../../components/format'
import { PageHeader } from '../../components/PageHeader'
import { StatusBadge } from '../../components/StatusBadge'
import { href, navigate } from '../../routing/routes'
import { type RatePoint, useRunLiveStore } from '../../stores/run-live-store'
import { useRunsStore } from '../../stores/runs-store'
import { PartitionGrid } from './PartitionGrid'
import { accountingLine, balances, canCancel, canPause, canResume, isTerminal, rateSeries, sameSeries } from './run-view'
import './run.css'

/** Desktop-only method (src/main/electron/desktop-methods.ts): show a run's outputs in the file manager. */
/** How often the elapsed time ticks while a run is active. */
const CLOCK_MS = 1000

export function RunScreen(props: { runId: string }): React.JSX.Element {
  const { runId } = props
  const entry = useRunsStore((s) => s.details[runId])
  const loadRun = useRunsStore((s) => s.loadRun)
  const live = useRunLiveStore((s) => s.runs[runId])
  const setStatus = useRunLiveStore((s) => s.setStatus)
  const [actionError, setActionError] = useState<ApiError | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const [confirmCancel, setConfirmCancel] = useState(false)
  const [now, setNow] = useState(() => Date.now())

  useEffect(() => {
    void loadRun(runId)
  }, [runId, loadRun])

  const detail = entry?.value ?? null
  // The newer of two sources: the stored run (fetched) and the state events heard since.
  const liveIsNewer = live?.status != null && (!detail || !isTerminal(detail.status)) && live.statusAt >= (entry?.askedAt ?? 0)
  const status: RunStatus | null = (liveIsNewer ? live?.status : detail?.status) ?? null
  const active = status === 'running' || status === 'queued' || status === 'paused'

  useEffect(() => {
    if (!active) return
    const t = setInterval(() => setNow(Date.now()), CLOCK_MS)
    return () => clearInterval(t)
  }, [active])

  // The run ended while this screen was open: fetch its final counts and outputs once more.
  useEffect(() => {
    if (isTerminal(live?.status) && detail && !isTerminal(detail.status)) void loadRun(runId)
  }, [live?.status, detail, loadRun, runId])

  // Progress arrives about four times a second and the run is fetched again every second; the
  // charts are redrawn only when a point is added or changes, not on every event (each redraw
  // of two charts costs tens of milliseconds of the page's thread while the workers load the CPU).
  const lastSeries = useRef<RatePoint[]>([])
  const series = useMemo(() => {
    const next = rateSeries(detail?.metrics ?? [], live?.series ?? [])
    if (sameSeries(next, lastSeries.current)) return lastSeries.current
    lastSeries.current = next
    return next
  }, [detail?.metrics, live?.series])
  const recordsPoints = useMemo(() => series.map((p) => ({ second: p.second, value: p.recordsPerSec })), [series])
  const mbPoints = useMemo(() => series.map((p) => ({ second: p.second, value: p.mbPerSec })), [series])

  if (!detail) {
    return (
      <section className="page">
        <PageHeader title="Run" subtitle={runId} back={{ href: href.jobs(), label: 'Jobs' }} />
        {entry?.error ? <ErrorNotice error={entry.error} /> : <p className="muted">Loading the run…</p>}
      </section>
    )
  }

  const progress = live?.progress ?? null
  const bytesTotal = progress?.bytesTotal || detail.bytesTotal
  const committedBytes = detail.partitions.filter((p) => p.state === 'committed').reduce((n, p) => n + p.bytes, 0)
  const finishedOk = status === 'succeeded' || status === 'partial'
  const bytesDone = finishedOk ? bytesTotal : Math.max(progress?.bytesDone ?? 0, committedBytes)
  const percent = finishedOk ? 100 : bytesTotal > 0 ? Math.min(100, Math.floor((bytesDone / bytesTotal) * 100)) : 0
  const counts = {
    ...detail.counts,
    in: Math.max(detail.counts.in, active ? (progress?.records ?? 0) : 0),
    failed: Math.max(detail.counts.failed, active ? (progress?.failed ?? 0) : 0)
  }
  const lastMetric = detail.metrics[detail.metrics.length - 1]
  const busyWorkers = active ? (progress?.busyWorkers ?? lastMetric?.busyWorkers ?? 0) : 0
  const queued = active ? (progress?.queued ?? lastMetric?.queued ?? 0) : 0
  const startedAt = detail.startedAt ?? detail.createdAt
  const elapsedMs = (detail.finishedAt ?? now) - startedAt
  const eta = active && status === 'running' ? progress?.etaMs : null
  // A run that finished after a resume can still carry the "resume it to finish" note; it no
  // longer applies once the run succeeded.
  const message = finishedOk ? null : ((isTerminal(detail.status) ? detail.message : (live?.message ?? detail.message)) ?? null)
  const terminal = isTerminal(status)
  // A files job's items are files: its counts read "files, done, failed".
  const files = detail.kind === 'files'

  async function control(action: 'pause' | 'resume' | 'cancel'): Promise<void> {
    setBusy(action)
    setActionError(null)
    try {
      const r =
        action === 'pause'
          ? await call('runs.pause', { runId })
          : action === 'resume'
            ? await call('runs.resume', { runId })
            : await call('runs.cancel', { runId })
      setStatus(runId, r.status)
      void loadRun(runId)
    } catch (e) {
      setActionError(toApiError(e))
    } finally {
      setBusy(null)
      setConfirmCancel(false)
    }
  }

  async function runAgain(): Promise<void> {
    setBusy('again')
    setActionError(null)
    try {
      const r = await call('runs.start', { job: detail?.job ?? '' })
      navigate(href.run(r.runId))
    } catch (e) {
      setActionError(toApiError(e))
    } finally {
      setBusy(null)
    }
  }

  const desktop = desktopApi()
  async function openOutputFolder(): Promise<void> {
    if (!desktop) return
    setActionError(null)
    // A desktop-only request: main shows the run's own output folder, never a path from the page.
    const r = await desktop.call('runs.openOutputFolder', { runId })
    if (!r.ok) setActionError(r.error)
  }
  const phase = progress?.phase && active ? { planning: 'Planning', running: 'Processing', assembling: 'Writing the outputs' }[progress.phase] : null

  return (
    <section className="page run-page">
      <PageHeader
        title={
          <>
            Run of <a href={href.job(detail.job)}>{detail.job}</a>
          </>
        }
        subtitle={
          <>
            <span className="mono">{detail.runId}</span> · job version {detail.jobVersion} · started {formatDateTime(detail.startedAt ?? detail.createdAt)}
          </>
        }
        back={{ href: href.job(detail.job), label: 'History' }}
        actions={
          <>
            <button type="button" className="btn" onClick={() => void control('pause')} disabled={!canPause(status) || busy !== null} data-testid="pause">
              Pause
            </button>
            <button type="button" className="btn" onClick={() => void control('resume')} disabled={!canResume(status) || busy !== null} data-testid="resume">
              Resume
            </button>
            <button type="button" className="btn btn-danger-quiet" onClick={() => setConfirmCancel(true)} disabled={!canCancel(status) || busy !== null} data-testid="cancel">
              Cancel
            </button>
            {terminal && (
              <button type="button" className="btn" onClick={() => void runAgain()} disabled={busy !== null} data-testid="run-again">
                Run again
              </button>
            )}
          </>
        }
      />
      <ErrorNotice error={actionError} onDismiss={() => setActionError(null)} />

      <section className="card run-summary" aria-label="Progress">
        <div className="run-status-row">
          <StatusBadge status={status} testId="run-status" />
          <span className="muted">
            {phase && `${phase} · `}
            {formatDuration(Math.max(0, elapsedMs))} elapsed
            {eta !== null && eta !== undefined && ` · about ${formatDuration(eta)} left`}
          </span>
          <span className="muted push-right">
            {active && (
              <>
                <span data-testid="workers-busy">{formatCount(busyWorkers)}</span> worker{busyWorkers === 1 ? '' : 's'} busy ·{' '}
                <span data-testid="queue-depth">{formatCount(queued)}</span> partition{queued === 1 ? '' : 's'} queued ·{' '}
              </>
            )}
            {formatBytes(bytesDone)} of {formatBytes(bytesTotal)}
          </span>
        </div>
        <div
          className={`progress${status === 'paused' ? ' progress-paused' : ''}${status === 'failed' || status === 'cancelled' ? ' progress-stopped' : ''}`}
          role="progressbar"
          aria-label="Run progress"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent}
          aria-valuetext={`${percent}%`}
          data-testid="progress"
        >
          <div className="progress-fill" style={{ width: `${percent}%` }} />
        </div>
        {message && (
          <div className={`notice ${status === 'failed' ? 'notice-error' : 'notice-info'}`} role={status === 'failed' ? 'alert' : 'status'} data-testid="run-message">
            <p>{message}</p>
          </div>
        )}
        {/* The accounting comes from the committed run, not from the event that announced the end (it can arrive first). */}
        {terminal && finishedOk && isTerminal(detail.status) && (
          <p className={`accounting-line${balances(counts) ? '' : ' unbalanced'}`} data-testid="accounting">
            {accountingLine(counts, formatCount, detail.kind)}
          </p>
        )}
        {files ? (
          <dl className="counters">
            <Counter label="Files" value={counts.in} testId="count-in" />
            <Counter label="Done" value={counts.out} testId="count-out" />
            <Counter label="Failed" value={counts.failed} testId="count-failed" tone={counts.failed > 0 ? 'bad' : undefined} />
            <Counter label="Retried" value={detail.retries} testId="count-retried" />
          </dl>
        ) : (
          <dl className="counters">
            <Counter label="In" value={counts.in} testId="count-in" />
            <Counter label="Out" value={counts.out} testId="count-out" />
            <Counter label="Filtered" value={counts.filtered} testId="count-filtered" />
            <Counter label="Duplicates" value={counts.deduped} testId="count-deduped" />
            <Counter label="Failed" value={counts.failed} testId="count-failed" tone={counts.failed > 0 ? 'bad' : undefined} />
            <Counter label="Retried" value={detail.retries} testId="count-retried" />
          </dl>
        )}
        {counts.failed > 0 && (
          <p>
            <a className="btn" href={href.failures(runId)} data-testid="open-failures">
              See the {formatCount(counts.failed)} failed {files ? 'file' : 'record'}
              {counts.failed === 1 ? '' : 's'}
            </a>
          </p>
        )}
      </section>

      <div className="chart-row">
        <RateChart title={files ? 'Files per second' : 'Records per second'} unit={files ? 'files/s' : 'records/s'} points={recordsPoints} testId="chart-records" emptyText={terminal ? 'The run was too short to measure.' : undefined} />
        <RateChart
          title="MB per second"
          unit="MB/s"
          points={mbPoints}
          color="var(--accent-2)"
          lagMs={500}
          testId="chart-bytes"
          emptyText={terminal ? 'The run was too short to measure.' : undefined}
        />
      </div>

      <section className="card" aria-labelledby="sec-partitions">
        <h2 id="sec-partitions">Partitions</h2>
        {detail.partitions.length === 0 ? <p className="muted">Not planned yet.</p> : <PartitionGrid partitions={detail.partitions} />}
        {detail.latencyMs.p50 !== null && (
          <p className="muted small">
            Partition time: median {formatDuration(detail.latencyMs.p50)}, 95% within {formatDuration(detail.latencyMs.p95)}
          </p>
        )}
      </section>

      <section className="card" aria-labelledby="sec-outputs">
        <h2 id="sec-outputs">Outputs</h2>
        <div className="output-folder">
          <span className="muted">Folder:</span> <code className="path">{detail.outputFolder}</code>
          {desktop ? (
            <button type="button" className="btn btn-small" onClick={() => void openOutputFolder()} data-testid="open-output-folder">
              Open folder
            </button>
          ) : (
            <CopyButton text={detail.outputFolder} />
          )}
        </div>
        {detail.outputs.length === 0 ? (
          <p className="muted">{terminal ? 'No output files were written.' : 'Output files appear here when the run finishes.'}</p>
        ) : (
          <table className="table outputs-table" data-testid="outputs">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col" className="num">
                  Records
                </th>
                <th scope="col" className="num">
                  Size
                </th>
              </tr>
            </thead>
            <tbody>
              {detail.outputs.map((o) => (
                <tr key={o.path}>
                  <td className="path">{relativeTo(detail.outputFolder, o.path)}</td>
                  <td className="num">{formatCount(o.records)}</td>
                  <td className="num">{formatBytes(o.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {terminal && (detail.peakRssBytes !== null || detail.cpuMs !== null) && (
          <p className="muted small">
            {detail.peakRssBytes !== null && `Peak memory ${formatBytes(detail.peakRssBytes)}. `}
            {detail.cpuMs !== null && `CPU time ${formatDuration(detail.cpuMs)}. `}
            {elapsedMs > 0 && counts.in > 0 && `${formatRate((counts.in * 1000) / elapsedMs)} records/s on average.`}
          </p>
        )}
      </section>

      <ConfirmDialog
        open={confirmCancel}
        title="Cancel this run?"
        message={<p>The run stops for good and writes no outputs. To stop for now and continue later, use Pause instead.</p>}
        confirmLabel="Cancel the run"
        danger
        busy={busy === 'cancel'}
        onCancel={() => setConfirmCancel(false)}
        onConfirm={() => void control('cancel')}
      />
    </section>
  )
}

function Counter(props: { label: string; value: number; testId: string; tone?: 'bad' }): React.JSX.Element {
  return (
    <div className={`counter${props.tone ? ` counter-${props.tone}` : ''}`}>
      <dt>{props.label}</dt>
      <dd data-testid={props.testId}>{formatCount(props.value)}</dd>
    </div>
  )
}

function CopyButton(props: { text: string }): React.JSX.Element | null {
  const [copied, setCopied] = useState(false)
  if (!navigator.clipboard) return null
  return (
    <button
      type="button"
      className="btn btn-small"
      onClick={() => {
        void navigator.clipboard.writeText(props.text).then(() => {
          setCopied(true)
          setTimeout(() => setCopied(false), 1500)
        })
      }}
    >
      {copied ? 'Copied' : 'Copy path'}
    </button>
  )
}

function relativeTo(folder: string, path: string): string {
  const f = folder.replace(/[\\/]+$/, '')
  return path.startsWith(f) && (path[f.length] === '/' || path[f.length] === '\\') ? path.slice(f.length + 1) : path
}
