import { memo } from 'react'
import type { PartitionView } from '../../../../shared/api'
import { formatBytes, formatCount, formatDuration } from '../../components/format'

const STATE_LABELS: Record<PartitionView['state'], string> = {
  pending: 'waiting or running',
  committed: 'done',
  superseded: 'replaced by a retry'
}

/**
 * The run's partitions as small squares coloured by state; hover or focus for details. Drawn
 * again only when the run is fetched again, not on each progress event.
 */
export const PartitionGrid = memo(function PartitionGrid(props: { partitions: PartitionView[] }): React.JSX.Element {
  const { partitions } = props
  const counts = { pending: 0, committed: 0, superseded: 0 }
  for (const p of partitions) counts[p.state]++
  return (
    <div className="partition-grid-wrap">
      <ul className="partition-grid" aria-label={`${partitions.length} partitions: ${counts.committed} done, ${counts.pending} waiting or running`} data-testid="partition-grid">
        {partitions.map((p) => {
          const title = [
            `Partition ${p.idx + 1}: ${STATE_LABELS[p.state]}`,
            `${p.file}, from line ${formatCount(p.firstLine)}, ${formatBytes(p.bytes)}`,
            p.records !== null ? `${formatCount(p.records)} records, ${formatCount(p.failed ?? 0)} failed` : '',
            p.durationMs !== null ? `took ${formatDuration(p.durationMs)}` : '',
            p.attempts > 1 ? `${p.attempts} attempts` : '',
            p.lastError ? `last error: ${p.lastError}` : ''
          ]
            .filter(Boolean)
            .join('\n')
          return <li key={p.idx} className={`partition partition-${p.state}${p.lastError ? ' partition-error' : ''}`} title={title} data-state={p.state} />
        })}
      </ul>
      <p className="legend small">
        <span className="legend-item">
          <span className="partition partition-committed" aria-hidden="true" /> done {formatCount(counts.committed)}
        </span>
        <span className="legend-item">
          <span className="partition partition-pending" aria-hidden="true" /> waiting or running {formatCount(counts.pending)}
        </span>
        {counts.superseded > 0 && (
          <span className="legend-item">
            <span className="partition partition-superseded" aria-hidden="true" /> replaced by a retry {formatCount(counts.superseded)}
          </span>
        )}
      </p>
    </div>
  )
})
