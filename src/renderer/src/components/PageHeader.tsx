import type { ReactNode } from 'react'

export function PageHeader(props: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode; back?: { href: string; label: string } }): React.JSX.Element {
  return (
    <header className="page-header">
      <div>
        {props.back && (
          <a className="back-link" href={props.back.href}>
            ← {props.back.label}
          </a>
        )}
        <h1>{props.title}</h1>
        {props.subtitle && <p className="page-subtitle">{props.subtitle}</p>}
      </div>
      {props.actions && <div className="page-actions">{props.actions}</div>}
    </header>
  )
}
