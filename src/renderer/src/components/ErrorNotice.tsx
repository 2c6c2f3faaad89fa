import type { ApiError } from '../../../shared/api'

/** An error as an analyst should see it: the plain message and, when there are any, the problems. */
export function ErrorNotice(props: { error: ApiError | null; title?: string; onDismiss?: () => void }): React.JSX.Element | null {
  const { error } = props
  if (!error) return null
  // Some messages already spell out their problems; list only what the message does not say.
  const problems = (error.problems ?? []).filter((p) => !error.message.includes(p.message))
  return (
    <div className="notice notice-error" role="alert">
      <div className="notice-body">
        {props.title && <strong className="notice-title">{props.title}</strong>}
        <p>{error.message}</p>
        {problems.length > 0 && (
          <ul className="problem-list">
            {problems.map((p, i) => (
              <li key={i}>
                {p.path && p.path !== '(job)' && <code>{p.path}</code>} {p.message}
              </li>
            ))}
          </ul>
        )}
      </div>
      {props.onDismiss && (
        <button type="button" className="btn btn-quiet" onClick={props.onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  )
}
