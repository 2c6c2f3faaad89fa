import type { DryRunResult } from '../../../../shared/api'
import { formatCount } from '../../components/format'

/** A dry run of a files job's output rows: { seq, file, command } for each of the first files. */
interface PlannedCommand {
  seq: number
  file: string
  command: string
}

function plannedCommands(result: DryRunResult): PlannedCommand[] {
  return result.output.map((r, i) => ({
    seq: typeof r.seq === 'number' ? r.seq : i + 1,
    file: typeof r.file === 'string' ? r.file : '',
    command: typeof r.command === 'string' ? r.command : JSON.stringify(r)
  }))
}

/**
 * What a files job would run, file by file, before anything runs: the exact command of each of
 * the first files ({out} is shown as a dry-run folder; a run puts its own there).
 */
export function FilesDryRunPanel(props: { result: DryRunResult; limit: number }): React.JSX.Element {
  const commands = plannedCommands(props.result)
  return (
    <div className="dry-run" data-testid="dry-run-result">
      <p className="accounting-line" data-testid="dry-run-counts">
        {commands.length === 0
          ? 'No file matches: a run would have nothing to do.'
          : `Nothing ran. The exact command${commands.length === 1 ? '' : 's'} for the first ${formatCount(commands.length)} file${commands.length === 1 ? '' : 's'}:`}
      </p>
      {commands.length >= props.limit && <p className="muted small">A dry run shows the first {formatCount(props.limit)} files only.</p>}
      {commands.length > 0 && (
        <div className="table-scroll" tabIndex={0} role="region" aria-label="Commands that would run">
          <table className="table data-table dry-run-commands" data-testid="dry-run-commands">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">File</th>
                <th scope="col">Command</th>
              </tr>
            </thead>
            <tbody>
              {commands.map((c) => (
                <tr key={c.seq} data-testid="dry-run-command" data-file={c.file}>
                  <td>{c.seq}</td>
                  <td>{c.file}</td>
                  <td>
                    <code className="command-text">{c.command}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted small">
        In a run, <code>.batchery-staging/dry-run/&lt;n&gt;</code> is the file’s own results folder ({'{out}'}); what the command writes there is moved into
        the output folder when it succeeds.
      </p>
    </div>
  )
}
