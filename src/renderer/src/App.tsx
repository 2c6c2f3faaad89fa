import { useEffect, useState } from 'react'
import { serverToken } from './api/token'
import { getTransport, isDesktop, onConnectionState } from './api/transport'
import { StatusBadge } from './components/StatusBadge'
import { FailuresScreen } from './features/failures/FailuresScreen'
import { HistoryScreen } from './features/history/HistoryScreen'
import { readDrop } from './features/job-editor/dropped-input'
import { JobEditorScreen } from './features/job-editor/JobEditorScreen'
import { JobsScreen } from './features/jobs/JobsScreen'
import { RunScreen } from './features/run/RunScreen'
import { href, navigate, type Route } from './routing/routes'
import { useRoute } from './routing/use-route'
import { ACTIVE_STATUSES } from './stores/event-wiring'
import { useRunLiveStore } from './stores/run-live-store'
import { useUiStore } from './stores/ui-store'

export function App(): React.JSX.Element {
  const route = useRoute()
  // Only a connection that worked and then dropped is worth a notice; the first connect is quiet.
  const [connectionLost, setConnectionLost] = useState(false)
  const needsKey = !isDesktop() && serverToken() === null
  const [dropNotice, setDropNotice] = useState<string | null>(null)
  const setDroppedInput = useUiStore((s) => s.setDroppedInput)

  // The desktop app asks for a screen when a notification is clicked.
  useEffect(() => (isDesktop() ? getTransport().subscribe('navigate', ({ hash }) => navigate(hash)) : undefined), [])

  useEffect(() => {
    let opened = false
    return onConnectionState((state) => {
      if (state === 'open') opened = true
      setConnectionLost(opened && state !== 'open')
    })
  }, [])

  // Files dropped anywhere on the window start a new job (the editor's own drop zone handles
  // drops on it). Without this, the browser would navigate away to show the dropped file.
  useEffect(() => {
    const over = (e: DragEvent): void => {
      if (e.dataTransfer?.types.includes('Files')) e.preventDefault()
    }
    const drop = (e: DragEvent): void => {
      if (!e.dataTransfer?.types.includes('Files')) return
      e.preventDefault()
      const d = readDrop(e.dataTransfer)
      if (!d) return
      if (d.ok) {
        setDroppedInput(d)
        setDropNotice(null)
        navigate(href.newJob())
      } else {
        setDropNotice(d.message)
      }
    }
    window.addEventListener('dragover', over)
    window.addEventListener('drop', drop)
    return () => {
      window.removeEventListener('dragover', over)
      window.removeEventListener('drop', drop)
    }
  }, [setDroppedInput])

  useEffect(() => {
    document.title = `${titleOf(route)} · Batchery`
    // Move focus to the new screen's heading so keyboard and screen-reader users land on it.
    const h1 = document.querySelector<HTMLElement>('main h1')
    if (h1 && document.activeElement === document.body) {
      h1.tabIndex = -1
      h1.focus({ preventScroll: true })
    }
    window.scrollTo(0, 0)
    // The route object is new on every render; its screen and ids are what matter.
  }, [JSON.stringify(route)])

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Batchery
        </div>
        <ul>
          <li>
            <a href={href.jobs()} className="active" aria-current={route.screen === 'jobs' ? 'page' : undefined}>
              Jobs
            </a>
          </li>
        </ul>
        <ActiveRuns current={route.screen === 'run' ? route.runId : null} />
      </nav>
      <main id="main" className="content">
        {connectionLost && (
          <div className="notice notice-warn" role="status" data-testid="connection-notice">
            <p>The connection to Batchery was lost. Reconnecting…</p>
          </div>
        )}
        {dropNotice && (
          <div className="notice notice-info" role="status">
            <p>{dropNotice}</p>
            <button type="button" className="btn btn-quiet" onClick={() => setDropNotice(null)}>
              Dismiss
            </button>
          </div>
        )}
        {needsKey ? (
          <section className="page">
            <h1>Open Batchery from its address</h1>
            <div className="notice notice-info" role="status" data-testid="needs-token">
              <p>
                This page needs the private address that <code>batchery serve</code> printed when it started (it ends with <code>?token=…</code>).
                Open that address, or start <code>batchery serve</code> again to get a new one.
              </p>
            </div>
          </section>
        ) : (
          <Screen route={route} />
        )}
      </main>
    </div>
  )
}

function Screen(props: { route: Route }): React.JSX.Element {
  const { route } = props
  switch (route.screen) {
    case 'jobs':
      return <JobsScreen />
    case 'job-new':
      return <JobEditorScreen key="new" />
    case 'job-edit':
      return <JobEditorScreen key={`edit:${route.name}`} editName={route.name} />
    case 'job-history':
      return <HistoryScreen key={route.name} name={route.name} />
    case 'run':
      return <RunScreen key={route.runId} runId={route.runId} />
    case 'failures':
      return <FailuresScreen key={route.runId} runId={route.runId} />
    case 'not-found':
      return (
        <section className="page">
          <h1>Page not found</h1>
          <p>
            There is nothing at this address. <a href={href.jobs()}>Go to the jobs</a>.
          </p>
        </section>
      )
  }
}

function titleOf(route: Route): string {
  switch (route.screen) {
    case 'jobs':
      return 'Jobs'
    case 'job-new':
      return 'New job'
    case 'job-edit':
      return `Edit ${route.name}`
    case 'job-history':
      return route.name
    case 'run':
      return `Run ${route.runId}`
    case 'failures':
      return 'Failed records'
    case 'not-found':
      return 'Not found'
  }
}

/** Runs in progress that this window has heard of, one click away. */
function ActiveRuns(props: { current: string | null }): React.JSX.Element | null {
  const runs = useRunLiveStore((s) => s.runs)
  const active = Object.entries(runs).filter(([, r]) => r.status !== null && ACTIVE_STATUSES.includes(r.status))
  if (active.length === 0) return null
  return (
    <div className="nav-runs">
      <h2>Running now</h2>
      <ul>
        {active.map(([runId, r]) => {
          const p = r.progress
          const pct = p && p.bytesTotal > 0 ? Math.floor((p.bytesDone / p.bytesTotal) * 100) : null
          return (
            <li key={runId}>
              <a href={href.run(runId)} aria-current={props.current === runId ? 'page' : undefined}>
                <span className="nav-run-name">{p?.job ?? runId}</span>
                <span className="nav-run-meta">
                  <StatusBadge status={r.status} />
                  {pct !== null && <span className="muted small"> {pct}%</span>}
                </span>
              </a>
            </li>
          )
        })}
      </ul>
    </div>
  )
}
