// Pieces shared by the step cards: the problems of one row, and the column choices of a select.

export type StepProblem = { sub: string; message: string }

export function rowProblems(problems: StepProblem[], key: string): StepProblem[] {
  if (!key) return []
  return problems.filter((p) => p.sub === key || p.sub.startsWith(`${key}.`))
}

export function RowProblems(props: { problems: StepProblem[]; rowKey: string }): React.JSX.Element | null {
  const list = rowProblems(props.problems, props.rowKey)
  if (list.length === 0) return null
  return (
    <ul className="field-problems row-problems" role="alert">
      {list.map((p, i) => (
        <li key={i} className="field-problem" data-testid="step-problem">
          {p.sub !== props.rowKey && <code>{p.sub.slice(props.rowKey.length + 1)}</code>} {p.message}
        </li>
      ))}
    </ul>
  )
}

/** The known columns, plus the current value when it is not one of them (a column the input lacks). */
export function columnOptions(columns: string[], current: string): string[] {
  return current && !columns.includes(current) ? [...columns, current] : columns
}

/**
 * Columns as ticked chips. `order`: "input" keeps the chosen columns in the input's order (a
 * dedupe key, columns to keep); "ticked" keeps the order they were ticked in (a summary's group
 * columns, which is the order of its output columns). A chosen column the input lacks stays shown.
 */
export function ColumnChips(props: {
  legend: string
  columns: string[]
  chosen: string[]
  order: 'input' | 'ticked'
  testId: string
  onChange: (next: string[]) => void
}): React.JSX.Element {
  const { legend, columns, chosen, order, testId, onChange } = props
  const all = [...columns, ...chosen.filter((c) => !columns.includes(c))]
  return (
    <fieldset className="column-checks">
      <legend>{legend}</legend>
      {all.length === 0 && <p className="muted small">Choose an input folder first: its columns appear here.</p>}
      {all.map((c) => {
        const checked = chosen.includes(c)
        return (
          <label key={c} className={`chip${checked ? ' chip-on' : ''}${columns.includes(c) ? '' : ' chip-missing'}`}>
            <input
              type="checkbox"
              checked={checked}
              onChange={(e) => {
                if (!e.target.checked) onChange(chosen.filter((x) => x !== c))
                else onChange(order === 'ticked' ? [...chosen, c] : all.filter((x) => x === c || chosen.includes(x)))
              }}
              data-testid={`${testId}-${c}`}
            />
            <span>{c}</span>
            {!columns.includes(c) && <span className="visually-hidden"> (not found in the input)</span>}
          </label>
        )
      })}
    </fieldset>
  )
}
