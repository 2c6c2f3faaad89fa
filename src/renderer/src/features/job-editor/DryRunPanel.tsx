import type { DryRunResult } from '../../../../shared/api'
import { DataTable } from '../../components/DataTable'
import { formatCount } from '../../components/format'
import { FailuresTable } from '../failures/FailuresTable'

/** What a dry run over the first records would write and what would fail. */
export function DryRunPanel(props: { result: DryRunResult; limit: number }): React.JSX.Element {
  const { result } = props
  const { counts } = result
  const columns: string[] = []
  const seen = new Set<string>()
  for (const record of result.output) {
    for (const key of Object.keys(record)) {
      if (!seen.has(key)) {
        seen.add(key)
        columns.push(key)
      }
    }
  }
  const rows = result.output.map((r) => columns.map((c) => (c in r ? r[c] : undefined)))
  return (
    <div className="dry-run" data-testid="dry-run-result">
      <p className="accounting-line" data-testid="dry-run-counts">
        Of the first {formatCount(counts.in)} record{counts.in === 1 ? '' : 's'}: {formatCount(counts.out)} would be written, {formatCount(counts.filtered)}{' '}
        filtered, {formatCount(counts.deduped)} duplicate{counts.deduped === 1 ? '' : 's'}, {formatCount(counts.failed)} would fail.
      </p>
      {counts.in >= props.limit && <p className="muted small">A dry run looks at the first {formatCount(props.limit)} records only.</p>}
      <h3>Records that would be written</h3>
      <DataTable
        columns={columns.map((c) => ({ key: c, label: c }))}
        rows={rows}
        caption="Records that would be written"
        emptyText="No record would be written."
        testId="dry-run-output"
        rowTestId="dry-run-output-row"
      />
      <h3>Records that would fail</h3>
      {result.failures.length === 0 ? <p className="muted">None.</p> : <FailuresTable rows={result.failures} rowTestId="dry-run-failure" />}
    </div>
  )
}
