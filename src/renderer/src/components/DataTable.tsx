import type { ReactNode } from 'react'
import { cellText } from './format'

/**
 * Rows of untrusted values (from input files) as plain text cells: React renders text, never
 * markup. Long values are cut visually and shown in full on hover.
 */
export function DataTable(props: {
  columns: { key: string; label: ReactNode }[]
  rows: unknown[][]
  caption?: string
  emptyText?: string
  testId?: string
  rowTestId?: string
}): React.JSX.Element {
  const { columns, rows } = props
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label={props.caption ?? 'Table'}>
      <table className="table data-table" data-testid={props.testId}>
        {props.caption && <caption className="visually-hidden">{props.caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} scope="col">
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={Math.max(1, columns.length)} className="muted">
                {props.emptyText ?? 'No rows.'}
              </td>
            </tr>
          ) : (
            rows.map((row, i) => (
              <tr key={i} data-testid={props.rowTestId}>
                {columns.map((c, j) => {
                  const text = cellText(row[j])
                  return (
                    <td key={c.key} title={text.length > 40 ? text : undefined}>
                      {row[j] === null ? <span className="null">empty</span> : text}
                    </td>
                  )
                })}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  )
}
