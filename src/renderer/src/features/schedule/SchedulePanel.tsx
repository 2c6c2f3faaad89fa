import { useCallback, useEffect, useRef, useState } from 'react'
import type { ApiError, ScheduleView } from '../../../../shared/api'
import { call, subscribe, toApiError } from '../../api/client'
import { ErrorNotice } from '../../components/ErrorNotice'
import { formatBytes, formatCount, formatDateTime, formatDateTimeExact, formatDueTime } from '../../components/format'
import { StatusBadge } from '../../components/StatusBadge'
import { href } from '../../routing/routes'
import { catchUpWords, describeTriggerKey, incrementalWords, overlapWords, plainTriggerLabel } from './schedule-words'
import './schedule.css'

/** Due times and ledger rows shown before "Show all". */
const DUE_ROWS_SHOWN = 10
const LEDGER_ROWS_SHOWN = 20
/** Events in a burst (a run ending) cause one reload. */
const RELOAD_DEBOUNCE_MS = 300
/** Reload now and then anyway: due times pass and are recorded without an event. */
const IDLE_RELOAD_MS = 60_000

type DueTime = ScheduleView['dueTimes'][number]

/**
 * A job's schedule on its page: each trigger with its next times, the on/off switch, the
 * catch-up, overlap and incremental settings in words, the due times with what happened to each,
 * and the ledger of input files processed.
 */
export function SchedulePanel(props: { name: string; definition: unknown; onChanged?: () => void }): React.JSX.Element {
  const { name, definition, onChanged } = props
  const [view, setView] = useState<ScheduleView | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const [toggling, setToggling] = useState(false)
  const [allDue, setAllDue] = useState(false)
  const [allLedger, setAllLedger] = useState(false)
  const live = useRef(true)

  const load = useCallback(async () => {
    try {
      const v = await call('jobs.schedule', { name })
      if (!live.current) return
      setView(v)
      setError(null)
    } catch (e) {
      if (live.current) setError(toApiError(e))
    }
  }, [name])

  useEffect(() => {
    live.current = true
    void load()
    let timer: ReturnType<typeof setTimeout> | null = null
    const soon = (): void => {
      if (timer) clearTimeout(timer)
      timer = setTimeout(() => {
        timer = null
        void load()
      }, RELOAD_DEBOUNCE_MS)
    }
    const offRun = subscribe('run.stateChanged', (e) => {
      if (e.job === name) soon()
    })
    const offJobs = subscribe('jobs.changed', (e) => {
      if (e.name === name) soon()
    })
    return () => {
      live.current = false
      if (timer) clearTimeout(timer)
      offRun()
      offJobs()
    }
  }, [name, load])

  // Reload when the soonest due time has passed (it is then recorded) and every minute anyway.
  const soonest = view?.triggers.flatMap((t) => t.next).sort((a, b) => a - b)[0] ?? null
  useEffect(() => {
    const wait = soonest !== null ? Math.min(IDLE_RELOAD_MS, Math.max(1000, soonest - Date.now() + 1500)) : IDLE_RELOAD_MS
    const t = setTimeout(() => void load(), wait)
    return () => clearTimeout(t)
  }, [soonest, view, load])

  async function toggle(): Promise<void> {
    if (!view) return
    setToggling(true)
    setError(null)
    try {
      const v = await call('jobs.setEnabled', { name, enabled: !view.enabled })
      setView(v)
      onChanged?.()
    } catch (e) {
      setError(toApiError(e))
    } finally {
      setToggling(false)
    }
  }

  // The engine's trigger names hold everything but a watch's settle time, which the definition has.
  const watchDef = triggersOf(definition).find((t) => typeof t === 'object' && t !== null && (t as { watch?: unknown }).watch === true)
  const catchUpLimit = numberField(definition, 'catchUpLimit')
  const hasTriggers = (view?.triggers.length ?? 0) > 0

  return (
    <section className="card schedule-panel" aria-labelledby="sec-schedule" data-testid="schedule-panel">
      <div className="schedule-head">
        <h2 id="sec-schedule">Schedule</h2>
        {view && hasTriggers && (
          <button
            type="button"
            role="switch"
            aria-checked={view.enabled}
            className={`switch${view.enabled ? ' switch-on' : ''}`}
            onClick={() => void toggle()}
            disabled={toggling}
            data-testid="schedule-enabled"
            title={view.enabled ? 'The job runs by itself. Click to stop that.' : 'The job does not run by itself now. Click to turn its schedule on.'}
          >
            <span className="switch-track" aria-hidden="true">
              <span className="switch-thumb" />
            </span>
            <span className="switch-label">{view.enabled ? 'On' : 'Off'}</span>
          </button>
        )}
        <a className="btn btn-small push-right" href={href.editJob(name)}>
          {hasTriggers ? 'Change the schedule' : 'Add a schedule'}
        </a>
      </div>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {view === null ? (
        !error && <p className="muted">Loading the schedule…</p>
      ) : (
        <>
          {!hasTriggers ? (
            <p className="muted" data-testid="schedule-manual">
              This job runs only when you start it: press “Run now”, use “Run on files…”, or drop files on it in the Jobs list. Edit the job to
              make it run at set times, every so often, or when files land in its folder.
            </p>
          ) : (
            <>
              <p className="schedule-state" data-testid="schedule-state">
                {view.enabled
                  ? 'The schedule is on: the job runs by itself, also while this window is closed, as long as Batchery is running.'
                  : 'The schedule is off: the job runs only when you start it. Turn it on to run it at the times below again.'}
              </p>
              <ul className="trigger-list" data-testid="schedule-triggers">
                {view.triggers.map((t) => (
                  <li key={t.key} className="trigger-item" data-testid="schedule-trigger">
                    <strong>{describeTriggerKey(t.key, t.key === 'watch' ? watchDef : undefined)}</strong>
                    {t.key === 'watch' ? (
                      <span className="muted small">{view.enabled ? 'Watching the folder now.' : 'Not watching while the schedule is off.'}</span>
                    ) : t.next.length > 0 ? (
                      <span className="next-times" data-testid="next-times">
                        <span className="muted small">Next: </span>
                        {t.next.map((n, j) => (
                          <time key={n} dateTime={new Date(n).toISOString()} title={formatDateTimeExact(n)} className={j === 0 ? 'next-first' : undefined}>
                            {formatDueTime(n, Date.now(), closeTogether(t.next))}
                          </time>
                        ))}
                      </span>
                    ) : (
                      <span className="muted small">{view.enabled ? 'No more times ahead.' : 'No times while the schedule is off.'}</span>
                    )}
                  </li>
                ))}
              </ul>
            </>
          )}
          {(hasTriggers || view.dueTimes.length > 0) && (
            <DueTimes view={view} hasTriggers={hasTriggers} catchUpLimit={catchUpLimit} all={allDue} onToggleAll={() => setAllDue((x) => !x)} />
          )}

          {hasTriggers || view.incremental ? (
            <>
              <h3>Files processed</h3>
              <Ledger view={view} all={allLedger} onToggleAll={() => setAllLedger((a) => !a)} />
            </>
          ) : (
            view.ledgerTotal > 0 && (
              <details className="ledger-details">
                <summary>
                  Files processed so far <span className="muted small">({formatCount(view.ledgerTotal)})</span>
                </summary>
                <Ledger view={view} all={allLedger} onToggleAll={() => setAllLedger((a) => !a)} />
              </details>
            )
          )}
        </>
      )}
    </section>
  )
}

/** The policies in words and the due times with what happened to each, newest first. */
function DueTimes(props: { view: ScheduleView; hasTriggers: boolean; catchUpLimit: number | undefined; all: boolean; onToggleAll: () => void }): React.JSX.Element {
  const { view, hasTriggers, catchUpLimit } = props
  return (
    <>
      <dl className="schedule-policies">
        <div>
          <dt>Missed times</dt>
          <dd data-testid="schedule-catchup">{catchUpWords(view.catchUp, catchUpLimit)}</dd>
        </div>
        <div>
          <dt>While a run is still going</dt>
          <dd data-testid="schedule-overlap">{overlapWords(view.overlap)}</dd>
        </div>
        <div>
          <dt>Which files</dt>
          <dd data-testid="schedule-incremental">{incrementalWords(view.incremental)}</dd>
        </div>
      </dl>

      <h3>Due times</h3>
      {view.dueTimes.length === 0 ? (
        <p className="muted" data-testid="due-times-empty">
          {hasTriggers ? 'No time has come yet. Each time the job is due is listed here with what happened.' : 'Times the job was due are listed here once it has a schedule.'}
        </p>
      ) : (
        <>
          <div className="table-scroll">
            <table className="table due-table" data-testid="due-times">
              <caption className="visually-hidden">Times the job was due, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Due</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">What happened</th>
                </tr>
              </thead>
              <tbody>
                {(props.all ? view.dueTimes : view.dueTimes.slice(0, DUE_ROWS_SHOWN)).map((d, i) => (
                  <tr key={`${d.dueAt}:${d.trigger}:${i}`} data-testid="due-row" data-status={d.status}>
                    <td className="nowrap">
                      <time dateTime={new Date(d.dueAt).toISOString()}>{formatDateTimeExact(d.dueAt)}</time>
                    </td>
                    <td>{plainTriggerLabel(d.trigger)}</td>
                    <td>
                      <DueOutcome due={d} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {view.dueTimes.length > DUE_ROWS_SHOWN && (
            <button type="button" className="link-button small" onClick={() => props.onToggleAll()}>
              {props.all ? 'Show fewer' : `Show all ${formatCount(view.dueTimes.length)}`}
            </button>
          )}
        </>
      )}
    </>
  )
}

function DueOutcome(props: { due: DueTime }): React.JSX.Element {
  const { due } = props
  // The badge already says "missed"; the engine's note says what was done about it.
  const note = due.note?.replace(/^missed;\s*/, '') || null
  if (due.runId) {
    return (
      <span className="due-outcome">
        <a href={href.run(due.runId)} className="plain-link" title={`Open run ${due.runId}`}>
          <StatusBadge status={due.runStatus} />
        </a>{' '}
        <a href={href.run(due.runId)} className="small">
          open the run
        </a>
        {due.missed && <span className="muted small"> · ran late: Batchery was closed or the computer asleep at this time</span>}
        {note && !due.missed && <span className="muted small"> · {note}</span>}
      </span>
    )
  }
  const label: Record<DueTime['status'], string> = {
    due: 'Due now',
    waiting: 'Waiting',
    started: 'Started',
    skipped: 'Skipped',
    missed: 'Missed'
  }
  return (
    <span className="due-outcome">
      <span className={`badge due-${due.status}`}>{label[due.status]}</span>
      {note ? <span className="muted small"> {note}</span> : due.status === 'waiting' ? <span className="muted small"> for the run before it to finish</span> : null}
    </span>
  )
}

function Ledger(props: { view: ScheduleView; all: boolean; onToggleAll: () => void }): React.JSX.Element {
  const { view } = props
  return (
    <>
      <p className="muted small">
        {view.incremental
          ? 'The input files that finished runs have processed, newest first. Runs that start by themselves skip these files unless they changed.'
          : 'The input files that finished runs have processed, newest first.'}
      </p>
      {view.ledger.length === 0 ? (
        <p className="muted" data-testid="ledger-empty">
          No files processed yet.
        </p>
      ) : (
        <LedgerTable view={view} all={props.all} onToggleAll={props.onToggleAll} />
      )}
    </>
  )
}

function LedgerTable(props: { view: ScheduleView; all: boolean; onToggleAll: () => void }): React.JSX.Element {
  const { view } = props
  const rows = props.all ? view.ledger : view.ledger.slice(0, LEDGER_ROWS_SHOWN)
  const more = view.ledgerTotal - rows.length
  const hidden = view.ledger.length - rows.length
  return (
    <>
      <div className="table-scroll">
        <table className="table ledger-table" data-testid="ledger">
          <caption className="visually-hidden">Input files processed, newest first</caption>
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">Modified</th>
              <th scope="col">Processed</th>
              <th scope="col">By run</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((l) => (
              <tr key={`${l.relPath}:${l.sha256}`} data-testid="ledger-row" data-file={l.relPath} data-run={l.runId}>
                <td>
                  <span className="path" title={`${l.relPath}\nsha256 ${l.sha256}`}>
                    {l.relPath}
                  </span>
                  {l.archivedTo && (
                    <div className="muted small">
                      moved to <span className="path">{l.archivedTo}</span>
                    </div>
                  )}
                </td>
                <td className="num nowrap">{formatBytes(l.size)}</td>
                <td className="nowrap">{formatDateTime(l.mtimeMs)}</td>
                <td className="nowrap">{formatDateTime(l.processedAt)}</td>
                <td>
                  <a href={href.run(l.runId)} className="mono small">
                    {l.runId}
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {more > 0 && (
        <p className="muted small" data-testid="ledger-more">
          {formatCount(more)} more file{more === 1 ? '' : 's'}
          {hidden > 0 ? (
            <>
              {' · '}
              <button type="button" className="link-button" onClick={props.onToggleAll}>
                show {hidden === more ? (more === 1 ? 'it' : 'them') : `the next ${formatCount(hidden)}`}
              </button>
            </>
          ) : (
            <> processed earlier (only the newest {formatCount(view.ledger.length)} are listed)</>
          )}
        </p>
      )}
    </>
  )
}

/** Times less than a minute apart need their seconds to tell them apart. */
function closeTogether(times: number[]): boolean {
  return times.some((t, i) => i > 0 && t - (times[i - 1] as number) < 60_000)
}

function triggersOf(definition: unknown): unknown[] {
  const def = typeof definition === 'object' && definition !== null ? (definition as Record<string, unknown>) : {}
  return Array.isArray(def.triggers) ? def.triggers : []
}

function numberField(definition: unknown, key: string): number | undefined {
  const def = typeof definition === 'object' && definition !== null ? (definition as Record<string, unknown>) : {}
  const v = def[key]
  return typeof v === 'number' ? v : undefined
}
