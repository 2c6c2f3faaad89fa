import { useId } from 'react'
import { newId, type RouteStepDraft, type StepDraft } from './job-draft'
import { RowProblems, rowProblems, type StepProblem } from './step-rows'

/**
 * Send to different outputs (route): either one output per value of an expression, or named
 * outputs whose conditions are tried in order, with an "otherwise" output for the rest.
 */
export function RouteBody(props: { step: RouteStepDraft; columns: string[]; problems: StepProblem[]; onChange: (s: StepDraft) => void }): React.JSX.Element {
  const { step, columns, problems, onChange } = props
  const listId = useId()
  const modeName = useId()
  const setRow = (id: string, patch: Partial<{ name: string; condition: string }>): void =>
    onChange({ ...step, when: step.when.map((w) => (w.id === id ? { ...w, ...patch } : w)) })

  return (
    <div className="rows">
      <datalist id={listId}>
        {columns.map((c) => (
          <option key={c} value={c} />
        ))}
      </datalist>
      <p className="muted small">Each output is a folder inside the output folder, named after the value or the output’s name.</p>
      <div className="choice-row" role="radiogroup" aria-label="How records are sent">
        <label className="field-check-line field">
          <input type="radio" name={modeName} checked={step.mode === 'by'} onChange={() => onChange({ ...step, mode: 'by' })} data-testid="route-mode-by" />
          <span>One output per value of a column or expression</span>
        </label>
        <label className="field-check-line field">
          <input type="radio" name={modeName} checked={step.mode === 'when'} onChange={() => onChange({ ...step, mode: 'when' })} data-testid="route-mode-when" />
          <span>Named outputs, each with a condition</span>
        </label>
      </div>

      {step.mode === 'by' ? (
        <div className="row-block">
          <label className="field">
            <span>One output per value of</span>
            <input
              className="mono"
              value={step.by}
              onChange={(e) => onChange({ ...step, by: e.target.value })}
              list={listId}
              placeholder="country"
              spellCheck={false}
              aria-invalid={rowProblems(problems, 'by').length > 0}
              data-testid="route-by"
            />
          </label>
          <p className="muted small">A column, or an expression like upper(country): records with “DE” go to the folder DE.</p>
          <RowProblems problems={problems} rowKey="by" />
        </div>
      ) : (
        <>
          {step.when.map((w, i) => {
            const rowKey = w.name.trim() ? `when.${w.name.trim()}` : ''
            return (
              <div key={w.id} className="row-block" data-testid="route-output">
                <div className="row-grid route-grid">
                  <input
                    value={w.name}
                    onChange={(e) => setRow(w.id, { name: e.target.value })}
                    placeholder="output name"
                    aria-label={`Name of output ${i + 1}`}
                    spellCheck={false}
                    data-testid="route-name"
                  />
                  <span aria-hidden="true" className="muted">
                    when
                  </span>
                  <input
                    className="mono"
                    value={w.condition}
                    onChange={(e) => setRow(w.id, { condition: e.target.value })}
                    placeholder="total > 1000"
                    aria-label={`Condition of output ${i + 1}`}
                    aria-invalid={rowProblems(problems, rowKey).length > 0}
                    spellCheck={false}
                    data-testid="route-condition"
                  />
                  <button type="button" className="btn btn-small btn-quiet" onClick={() => onChange({ ...step, when: step.when.filter((x) => x.id !== w.id) })} aria-label={`Remove output ${i + 1}`}>
                    ✕
                  </button>
                </div>
                <RowProblems problems={problems} rowKey={rowKey} />
              </div>
            )
          })}
          <button type="button" className="btn btn-small" onClick={() => onChange({ ...step, when: [...step.when, { id: newId(), name: '', condition: '' }] })} data-testid="add-route-output">
            Add an output
          </button>
          <label className="field route-otherwise">
            <span>Records no condition takes go to</span>
            <input
              value={step.otherwise}
              onChange={(e) => onChange({ ...step, otherwise: e.target.value })}
              placeholder="other"
              spellCheck={false}
              aria-invalid={rowProblems(problems, 'otherwise').length > 0}
              data-testid="route-otherwise"
            />
          </label>
          <p className="muted small">Conditions are tried in order; a record goes to the first that holds.</p>
          <RowProblems problems={problems} rowKey="otherwise" />
        </>
      )}
    </div>
  )
}
