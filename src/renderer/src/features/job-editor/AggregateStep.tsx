import { AGGREGATE_FUNCTIONS, newId, type AggregateFunction, type AggregateStepDraft, type AggregateValueDraft, type StepDraft } from './job-draft'
import { ColumnChips, columnOptions, RowProblems, rowProblems, type StepProblem } from './step-rows'

/** What each function is called on screen; "distinct" is the job file's word for counting different values. */
const FUNCTION_LABELS: Record<AggregateFunction, string> = {
  count: 'Count of records',
  sum: 'Sum of',
  avg: 'Average of',
  min: 'Smallest',
  max: 'Largest',
  distinct: 'Number of different'
}

/**
 * Summarise (aggregate): the records become one row per group, with the group's columns and the
 * values asked for. The job check says where it may stand (last, without dedupe or route).
 */
export function AggregateBody(props: {
  step: AggregateStepDraft
  columns: string[]
  problems: StepProblem[]
  onChange: (s: StepDraft) => void
}): React.JSX.Element {
  const { step, columns, problems, onChange } = props
  const setValue = (id: string, patch: Partial<AggregateValueDraft>): void =>
    onChange({ ...step, values: step.values.map((v) => (v.id === id ? { ...v, ...patch } : v)) })

  return (
    <div className="rows">
      <ColumnChips
        legend="One row for each different value of (none ticked: one row for all records)"
        columns={columns}
        chosen={step.by}
        order="ticked"
        testId="aggregate-by"
        onChange={(by) => onChange({ ...step, by })}
      />
      <RowProblems problems={problems} rowKey="by" />

      {step.values.length > 0 && (
        <div className="row-grid aggregate-grid row-head" aria-hidden="true">
          <span>Output column</span>
          <span>Value</span>
          <span>Of column</span>
          <span />
        </div>
      )}
      {step.values.map((v, i) => {
        const numbered = `value ${i + 1}`
        const rowKey = v.name.trim() ? `values.${v.name.trim()}` : ''
        return (
          <div key={v.id} className="row-block" data-testid="aggregate-value">
            <div className="row-grid aggregate-grid">
              <input
                value={v.name}
                onChange={(e) => setValue(v.id, { name: e.target.value })}
                placeholder="name, like revenue"
                aria-label={`Output column of ${numbered}`}
                aria-invalid={rowProblems(problems, rowKey).length > 0}
                spellCheck={false}
                data-testid="aggregate-name"
              />
              <select
                value={v.fn}
                onChange={(e) => setValue(v.id, { fn: e.target.value as AggregateValueDraft['fn'] })}
                aria-label={`What ${numbered} computes`}
                data-testid="aggregate-fn"
              >
                {AGGREGATE_FUNCTIONS.map((fn) => (
                  <option key={fn} value={fn}>
                    {FUNCTION_LABELS[fn]}
                  </option>
                ))}
                {v.fn === 'custom' && <option value="custom">As written in the job file</option>}
              </select>
              {v.fn === 'custom' ? (
                <input
                  className="mono"
                  value={v.custom}
                  onChange={(e) => setValue(v.id, { custom: e.target.value })}
                  aria-label={`${numbered} as written`}
                  spellCheck={false}
                  data-testid="aggregate-custom"
                />
              ) : v.fn === 'count' ? (
                <span className="muted small">every record of the group</span>
              ) : (
                <select value={v.column} onChange={(e) => setValue(v.id, { column: e.target.value })} aria-label={`Column of ${numbered}`} data-testid="aggregate-column">
                  <option value="">Choose a column…</option>
                  {columnOptions(columns, v.column).map((c) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                </select>
              )}
              <button type="button" className="btn btn-small btn-quiet" onClick={() => onChange({ ...step, values: step.values.filter((x) => x.id !== v.id) })} aria-label={`Remove ${numbered}`}>
                ✕
              </button>
            </div>
            <RowProblems problems={problems} rowKey={rowKey} />
          </div>
        )
      })}
      <button
        type="button"
        className="btn btn-small"
        onClick={() => onChange({ ...step, values: [...step.values, { id: newId(), name: '', fn: 'sum', column: '', custom: '' }] })}
        data-testid="add-aggregate-value"
      >
        Add a value
      </button>
    </div>
  )
}
