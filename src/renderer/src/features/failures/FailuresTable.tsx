import type { FailedRecordView } from '../../../../shared/api'
import { formatCount } from '../../components/format'

/** Failed records: where they are, which step rejected them and why, and their raw text. */
export function FailuresTable(props: { rows: FailedRecordView[]; rowTestId?: string }): React.JSX.Element {
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label="Failed records">
      <table className="table failures-table">
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">Line</th>
            <th scope="col">Step</th>
            <th scope="col">Code</th>
            <th scope="col">Why it failed</th>
            <th scope="col">Raw text</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r, i) => (
            <tr key={`${r.file}:${r.line}:${i}`} data-testid={props.rowTestId}>
              <td className="nowrap">{r.file}</td>
              <td className="num">{formatCount(r.line)}</td>
              <td className="nowrap">{r.step}</td>
              <td>
                <code className="code-tag">{r.code}</code>
              </td>
              <td>{r.message}</td>
              <td className="raw">
                <pre>{r.raw}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
