import { formatCount } from './format'

export function Pager(props: { offset: number; limit: number; total: number; onChange: (offset: number) => void }): React.JSX.Element | null {
  const { offset, limit, total } = props
  if (total <= limit && offset === 0) return null
  const last = Math.min(total, offset + limit)
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="btn" disabled={offset === 0} onClick={() => props.onChange(Math.max(0, offset - limit))}>
        Previous
      </button>
      <span aria-live="polite">
        {formatCount(total === 0 ? 0 : offset + 1)}–{formatCount(last)} of {formatCount(total)}
      </span>
      <button type="button" className="btn" disabled={last >= total} onClick={() => props.onChange(offset + limit)}>
        Next
      </button>
    </nav>
  )
}
