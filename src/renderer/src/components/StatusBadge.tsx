import type { RunStatus } from '../../../shared/api'

const LABELS: Record<RunStatus, string> = {
  queued: 'Queued',
  running: 'Running',
  paused: 'Paused',
  succeeded: 'Succeeded',
  partial: 'Done, some failed',
  failed: 'Failed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted'
}

export function statusLabel(status: RunStatus): string {
  return LABELS[status]
}

export function StatusBadge(props: { status: RunStatus | null; testId?: string }): React.JSX.Element {
  const { status } = props
  return (
    <span className={`badge badge-${status ?? 'none'}`} data-testid={props.testId} data-status={status ?? 'none'}>
      {status ? LABELS[status] : 'Never run'}
    </span>
  )
}
