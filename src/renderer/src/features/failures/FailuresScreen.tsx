import { useEffect, useState } from 'react'
import type { ApiError, FailedRecordView, FailureGroupView } from '../../../../shared/api'
import { call, toApiError } from '../../api/client'
import { serverToken } from '../../api/token'
import { isDesktop } from '../../api/transport'
import { downloadText, safeFileName } from '../../components/download'
import { ErrorNotice } from '../../components/ErrorNotice'
import { formatCount } from '../../components/format'
import { PageHeader } from '../../components/PageHeader'
import { Pager } from '../../components/Pager'
import { useDebounced } from '../../components/use-debounced'
import { href, navigate } from '../../routing/routes'
import { useRunsStore } from '../../stores/runs-store'
import { failuresToCsv, fetchAllFailures } from './failures-csv'
import { FailuresTable } from './FailuresTable'
import './failures.css'

const PAGE_SIZE = 50
const SEARCH_DEBOUNCE_MS = 300

export function FailuresScreen(props: { runId: string }): React.JSX.Element {
  const { runId } = props
  const entry = useRunsStore((s) => s.details[runId])
  const loadRun = useRunsStore((s) => s.loadRun)
  const [groups, setGroups] = useState<FailureGroupView[] | null>(null)
  const [groupsError, setGroupsError] = useState<ApiError | null>(null)
  // One failure group at a time: its code, step and message pattern select its records.
  const [group, setGroup] = useState<FailureGroupView | null>(null)
  const groupKey = group ? `${group.code}\u0000${group.step}\u0000${group.pattern}` : null
  const [search, setSearch] = useState('')
  const settledSearch = useDebounced(search.trim(), SEARCH_DEBOUNCE_MS)
  const [offset, setOffset] = useState(0)
  const [page, setPage] = useState<{ total: number; rows: FailedRecordView[] } | null>(null)
  const [pageError, setPageError] = useState<ApiError | null>(null)
  const [loading, setLoading] = useState(false)
  const [actionError, setActionError] = useState<ApiError | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const [exportProgress, setExportProgress] = useState<string | null>(null)

  useEffect(() => {
    void loadRun(runId)
    let live = true
    call('runs.failureGroups', { runId })
      .then((g) => live && setGroups(g))
      .catch((e: unknown) => live && setGroupsError(toApiError(e)))
    return () => {
      live = false
    }
  }, [runId, loadRun])

  useEffect(() => setOffset(0), [groupKey, settledSearch])

  useEffect(() => {
    let live = true
    setLoading(true)
    call('runs.failures', {
      runId,
      ...(group ? { code: group.code, step: group.step, pattern: group.pattern } : {}),
      ...(settledSearch ? { search: settledSearch } : {}),
      offset,
      limit: PAGE_SIZE
    })
      .then((p) => {
        if (!live) return
        setPage(p)
        setPageError(null)
      })
      .catch((e: unknown) => live && setPageError(toApiError(e)))
      .finally(() => live && setLoading(false))
    return () => {
      live = false
    }
  }, [runId, groupKey, settledSearch, offset])

  const detail = entry?.value ?? null
  const total = groups?.reduce((n, g) => n + g.count, 0) ?? detail?.counts.failed ?? 0

  async function rerun(): Promise<void> {
    setBusy('rerun')
    setActionError(null)
    try {
      const r = await call('runs.rerunFailed', { runId })
      navigate(href.run(r.runId))
    } catch (e) {
      setActionError(toApiError(e))
    } finally {
      setBusy(null)
    }
  }

  async function exportInPage(): Promise<void> {
    setBusy('export')
    setActionError(null)
    try {
      const rows = await fetchAllFailures(runId, (done, all) => setExportProgress(`${formatCount(done)} of ${formatCount(all)}`))
      downloadText(`${safeFileName(`failures-${runId}`)}.csv`, failuresToCsv(rows), 'text/csv')
    } catch (e) {
      setActionError(toApiError(e))
    } finally {
      setBusy(null)
      setExportProgress(null)
    }
  }

  const token = serverToken()
  const exportHref = `/api/runs/${encodeURIComponent(runId)}/failures.csv${token ? `?token=${encodeURIComponent(token)}` : ''}`

  return (
    <section className="page failures-page">
      <PageHeader
        title="Failed records"
        subtitle={
          <>
            {detail ? (
              <>
                Run <a href={href.run(runId)} className="mono">{runId}</a> of <a href={href.job(detail.job)}>{detail.job}</a>
              </>
            ) : (
              <span className="mono">{runId}</span>
            )}
            {' · '}
            {formatCount(total)} failed record{total === 1 ? '' : 's'}
          </>
        }
        back={{ href: href.run(runId), label: 'Run' }}
        actions={
          <>
            {isDesktop() ? (
              <button type="button" className="btn" onClick={() => void exportInPage()} disabled={busy !== null || total === 0} data-testid="export-failures">
                {exportProgress ? `Exporting ${exportProgress}…` : 'Export CSV'}
              </button>
            ) : (
              <a className="btn" href={exportHref} download={`failures-${safeFileName(runId)}.csv`} data-testid="export-failures">
                Export CSV
              </a>
            )}
            <button type="button" className="btn btn-primary" onClick={() => void rerun()} disabled={busy !== null || total === 0} data-testid="rerun-failed">
              Re-run failed records
            </button>
          </>
        }
      />
      <p className="muted small">
        Fix the job first ({detail ? <a href={href.editJob(detail.job)}>edit “{detail.job}”</a> : 'edit the job'}), then re-run only these records with the job as it is now.
      </p>
      <ErrorNotice error={actionError} onDismiss={() => setActionError(null)} />

      <section aria-labelledby="sec-groups" className="card">
        <h2 id="sec-groups">By reason</h2>
        <ErrorNotice error={groupsError} />
        {groups === null && !groupsError && <p className="muted">Loading…</p>}
        {groups !== null && groups.length === 0 && <p className="muted">No record failed in this run.</p>}
        {groups !== null && groups.length > 0 && (
          <ul className="failure-groups">
            {groups.map((g, i) => {
              const selected = group !== null && group.code === g.code && group.step === g.step && group.pattern === g.pattern
              return (
                <li key={`${g.code}:${g.step}:${g.pattern}:${i}`}>
                  <button
                    type="button"
                    className={`failure-group${selected ? ' selected' : ''}`}
                    aria-pressed={selected}
                    onClick={() => setGroup(selected ? null : g)}
                    data-testid="failure-group"
                    data-code={g.code}
                  >
                    <span className="group-count">{formatCount(g.count)}</span>
                    <span className="group-main">
                      <span className="group-title">
                        <code className="code-tag">{g.code}</code> <span className="muted">in {g.step}</span>
                      </span>
                      <span className="group-pattern">{g.pattern || g.message}</span>
                      <span className="group-sample muted small">
                        first at {g.sampleFile}:{g.sampleLine}
                      </span>
                      <span className="group-raw">{g.sampleRaw}</span>
                    </span>
                  </button>
                </li>
              )
            })}
          </ul>
        )}
      </section>

      <section aria-labelledby="sec-records" className="card">
        <div className="records-toolbar">
          <h2 id="sec-records">Records</h2>
          {group && (
            <span className="filter-chip">
              Only <code>{group.code}</code> {group.pattern}
              <button type="button" className="btn btn-small btn-quiet" onClick={() => setGroup(null)} aria-label="Show all reasons" data-testid="clear-filter">
                ✕
              </button>
            </span>
          )}
          <label className="field search-field">
            <span className="visually-hidden">Search the failed records</span>
            <input
              type="search"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              placeholder="Search messages and raw text"
              maxLength={200}
              data-testid="failure-search"
            />
          </label>
        </div>
        <ErrorNotice error={pageError} />
        <div aria-busy={loading} aria-live="polite" className="muted small" data-testid="failure-count">
          {page && `${formatCount(page.total)} record${page.total === 1 ? '' : 's'}${settledSearch ? ` matching “${settledSearch}”` : ''}`}
        </div>
        {page && page.rows.length > 0 && <FailuresTable rows={page.rows} rowTestId="failure-row" />}
        {page && page.rows.length === 0 && <p className="muted">{settledSearch || group ? 'No failed record matches.' : 'No failed records.'}</p>}
        {page && <Pager offset={offset} limit={PAGE_SIZE} total={page.total} onChange={setOffset} />}
      </section>
    </section>
  )
}
