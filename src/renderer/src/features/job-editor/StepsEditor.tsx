import { useId } from 'react'
import { AggregateBody } from './AggregateStep'
import { newId, VALUE_TYPES, type RuleDraft, type StepDraft, type StepKind, type ValueType } from './job-draft'
import { RouteBody } from './RouteStep'
import { ColumnChips, columnOptions, RowProblems, rowProblems, type StepProblem } from './step-rows'


const TITLES: Record<StepKind, string> = {
  validate: 'Check values',
  filter: 'Keep only some records',
  derive: 'Compute columns',
  dedupe: 'Remove duplicates',
  select: 'Keep columns',
  rename: 'Rename columns',
  drop: 'Remove columns',
  aggregate: 'Summarise (aggregate)',
  route: 'Send to different outputs (route)',
  raw: 'Other step'
}

const HELP: Record<StepKind, string> = {
  validate: 'Records whose values do not fit are set aside as failed, with the reason, and show up in the failure report.',
  filter: 'Records for which the expression is false are dropped (counted as filtered). Example: status != \'cancelled\'',
  derive: 'New or replaced columns, computed in order. Example: round(amount * quantity, 2)',
  dedupe: 'Keeps the first record of each key, across all files of the run. Put it after every step that can drop or reject records.',
  select: 'Only the ticked columns are kept, in this order.',
  rename: 'Give columns new names.',
  drop: 'The ticked columns are removed.',
  aggregate:
    'Turns the records into one row per group, with counts, sums or averages: a summary instead of the records. It must be the last step, and cannot be combined with removing duplicates or sending to different outputs.',
  route: 'Sends each record to one of several outputs, by a value or by conditions. Example: one file per country.',
  raw: 'A step this screen has no form for, as written in the job file (JSON).'
}

const TYPE_LABELS: Record<ValueType, string> = {
  string: 'Text',
  integer: 'Whole number',
  number: 'Number',
  boolean: 'Yes/no',
  date: 'Date'
}

export const PRESETS: { kind: Exclude<StepKind, 'raw'>; label: string }[] = [
  { kind: 'validate', label: 'Check values' },
  { kind: 'filter', label: 'Filter' },
  { kind: 'derive', label: 'Compute columns' },
  { kind: 'dedupe', label: 'Remove duplicates' },
  { kind: 'select', label: 'Keep columns' },
  { kind: 'rename', label: 'Rename columns' },
  { kind: 'drop', label: 'Remove columns' },
  { kind: 'aggregate', label: 'Summarise' },
  { kind: 'route', label: 'Send to different outputs' }
]

export function stepTitle(kind: StepKind): string {
  return TITLES[kind]
}

export function StepCard(props: {
  step: StepDraft
  index: number
  count: number
  columns: string[]
  problems: StepProblem[]
  onChange: (step: StepDraft) => void
  onMove: (delta: -1 | 1) => void
  onRemove: () => void
}): React.JSX.Element {
  const { step, index, problems } = props
  const titleId = useId()
  const general = problems.filter((p) => p.sub === '' || !subBelongsToRow(step, p.sub))
  return (
    <section className={`step-card${problems.length ? ' has-problems' : ''}`} aria-labelledby={titleId} data-testid={`step-${index}`} data-kind={step.kind}>
      <header className="step-header">
        <span className="step-number" aria-hidden="true">
          {index + 1}
        </span>
        <div className="step-title">
          <h3 id={titleId}>
            <span className="visually-hidden">Step {index + 1}: </span>
            {TITLES[step.kind]}
          </h3>
          <p className="muted small">{HELP[step.kind]}</p>
        </div>
        <div className="step-actions">
          <button type="button" className="btn btn-small btn-quiet" onClick={() => props.onMove(-1)} disabled={index === 0} aria-label={`Move step ${index + 1} up`}>
            ↑
          </button>
          <button
            type="button"
            className="btn btn-small btn-quiet"
            onClick={() => props.onMove(1)}
            disabled={index === props.count - 1}
            aria-label={`Move step ${index + 1} down`}
          >
            ↓
          </button>
          <button type="button" className="btn btn-small btn-danger-quiet" onClick={props.onRemove} data-testid="remove-step" aria-label={`Remove step ${index + 1}`}>
            Remove
          </button>
        </div>
      </header>
      <div className="step-body">
        <StepBody step={step} columns={props.columns} problems={problems} onChange={props.onChange} />
      </div>
      {general.length > 0 && (
        <ul className="field-problems" role="alert">
          {general.map((p, i) => (
            <li key={i} className="field-problem" data-testid="step-problem">
              {p.sub && <code>{p.sub}</code>} {p.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

/** Whether a problem's sub-path points at one row of the step (shown on that row instead). */
function subBelongsToRow(step: StepDraft, sub: string): boolean {
  const head = sub.split('.')[0] ?? ''
  if (step.kind === 'validate') return step.rules.some((r) => r.column && r.column === head)
  if (step.kind === 'derive') return step.columns.some((c) => c.column.trim() && c.column.trim() === sub)
  if (step.kind === 'rename') return step.pairs.some((p) => p.from && p.from === sub)
  if (step.kind === 'aggregate') return sub === 'by' || step.values.some((v) => v.name.trim() && (sub === `values.${v.name.trim()}` || sub.startsWith(`values.${v.name.trim()}.`)))
  if (step.kind === 'route') {
    if (step.mode === 'by') return sub === 'by'
    return sub === 'otherwise' || step.when.some((w) => w.name.trim() && (sub === `when.${w.name.trim()}` || sub.startsWith(`when.${w.name.trim()}.`)))
  }
  return false
}

function StepBody(props: { step: StepDraft; columns: string[]; problems: StepProblem[]; onChange: (s: StepDraft) => void }): React.JSX.Element {
  const { step, columns, problems, onChange } = props
  switch (step.kind) {
    case 'validate':
      return <ValidateBody step={step} columns={columns} problems={problems} onChange={onChange} />
    case 'filter':
      return (
        <label className="field">
          <span>Keep records where</span>
          <input
            className="mono"
            value={step.expression}
            onChange={(e) => onChange({ ...step, expression: e.target.value })}
            placeholder="status != 'cancelled'"
            spellCheck={false}
            aria-invalid={problems.length > 0}
            data-testid="filter-expression"
          />
        </label>
      )
    case 'derive':
      return <DeriveBody step={step} columns={columns} problems={problems} onChange={onChange} />
    case 'dedupe':
    case 'select':
    case 'drop':
      return <ColumnChecks step={step} columns={columns} onChange={onChange} />
    case 'rename':
      return <RenameBody step={step} columns={columns} problems={problems} onChange={onChange} />
    case 'aggregate':
      return <AggregateBody step={step} columns={columns} problems={problems} onChange={onChange} />
    case 'route':
      return <RouteBody step={step} columns={columns} problems={problems} onChange={onChange} />
    case 'raw':
      return (
        <label className="field">
          <span>Step as JSON</span>
          <textarea
            className="mono"
            rows={Math.min(12, step.text.split('\n').length + 1)}
            value={step.text}
            onChange={(e) => onChange({ ...step, text: e.target.value })}
            spellCheck={false}
            data-testid="raw-step"
          />
        </label>
      )
  }
}

function ValidateBody(props: {
  step: Extract<StepDraft, { kind: 'validate' }>
  columns: string[]
  problems: StepProblem[]
  onChange: (s: StepDraft) => void
}): React.JSX.Element {
  const { step, columns, problems, onChange } = props
  const setRule = (id: string, patch: Partial<RuleDraft>): void =>
    onChange({ ...step, rules: step.rules.map((r) => (r.id === id ? { ...r, ...patch } : r)) })
  return (
    <div className="rows">
      {step.rules.length > 0 && (
        <div className="row-grid validate-grid row-head" aria-hidden="true">
          <span>Column</span>
          <span>Type</span>
          <span>Required</span>
          <span>Minimum</span>
          <span>Maximum</span>
          <span />
        </div>
      )}
      {step.rules.map((r, i) => {
        const invalid = rowProblems(problems, r.column).length > 0
        const numbered = `rule ${i + 1}`
        const bounded = r.type === 'integer' || r.type === 'number' || r.type === 'date'
        return (
          <div key={r.id} className="row-block" data-testid="validate-rule">
            <div className="row-grid validate-grid">
              <select value={r.column} onChange={(e) => setRule(r.id, { column: e.target.value })} aria-label={`Column of ${numbered}`} aria-invalid={invalid} data-testid="validate-column">
                <option value="">Choose a column…</option>
                {columnOptions(columns, r.column).map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
              <select value={r.type} onChange={(e) => setRule(r.id, { type: e.target.value as ValueType })} aria-label={`Type of ${numbered}`} data-testid="validate-type">
                {VALUE_TYPES.map((t) => (
                  <option key={t} value={t}>
                    {TYPE_LABELS[t]}
                  </option>
                ))}
              </select>
              <label className="check-cell">
                <input type="checkbox" checked={r.required} onChange={(e) => setRule(r.id, { required: e.target.checked })} data-testid="validate-required" />
                <span className="visually-hidden">Required ({numbered})</span>
              </label>
              <input
                value={r.min}
                onChange={(e) => setRule(r.id, { min: e.target.value })}
                disabled={!bounded && r.min === ''}
                placeholder={r.type === 'date' ? 'YYYY-MM-DD' : bounded ? 'none' : ''}
                aria-label={`Minimum of ${numbered}`}
                data-testid="validate-min"
              />
              <input
                value={r.max}
                onChange={(e) => setRule(r.id, { max: e.target.value })}
                disabled={!bounded && r.max === ''}
                placeholder={r.type === 'date' ? 'YYYY-MM-DD' : bounded ? 'none' : ''}
                aria-label={`Maximum of ${numbered}`}
                data-testid="validate-max"
              />
              <button type="button" className="btn btn-small btn-quiet" onClick={() => onChange({ ...step, rules: step.rules.filter((x) => x.id !== r.id) })} aria-label={`Remove ${numbered}`}>
                ✕
              </button>
            </div>
            {(r.extra.pattern !== undefined || r.extra.enum !== undefined) && (
              <p className="muted small">
                Also checked (from the job file): {r.extra.pattern !== undefined && <>pattern <code>{r.extra.pattern}</code> </>}
                {r.extra.enum !== undefined && <>allowed values {r.extra.enum.map((v) => String(v)).join(', ')}</>}
              </p>
            )}
            <RowProblems problems={problems} rowKey={r.column} />
          </div>
        )
      })}
      <button
        type="button"
        className="btn btn-small"
        onClick={() => onChange({ ...step, rules: [...step.rules, { id: newId(), column: '', type: 'string', required: false, min: '', max: '', extra: {} }] })}
        data-testid="add-rule"
      >
        Add a column
      </button>
    </div>
  )
}

function DeriveBody(props: {
  step: Extract<StepDraft, { kind: 'derive' }>
  columns: string[]
  problems: StepProblem[]
  onChange: (s: StepDraft) => void
}): React.JSX.Element {
  const { step, columns, problems, onChange } = props
  const listId = useId()
  const setRow = (id: string, patch: Partial<{ column: string; expression: string }>): void =>
    onChange({ ...step, columns: step.columns.map((c) => (c.id === id ? { ...c, ...patch } : c)) })
  return (
    <div className="rows">
      <datalist id={listId}>
        {columns.map((c) => (
          <option key={c} value={c} />
        ))}
      </datalist>
      {step.columns.map((c, i) => (
        <div key={c.id} className="row-block" data-testid="derive-row">
          <div className="row-grid derive-grid">
            <input
              value={c.column}
              onChange={(e) => setRow(c.id, { column: e.target.value })}
              list={listId}
              placeholder="column name"
              aria-label={`Name of computed column ${i + 1}`}
              spellCheck={false}
              data-testid="derive-column"
            />
            <span aria-hidden="true" className="muted">
              =
            </span>
            <input
              className="mono"
              value={c.expression}
              onChange={(e) => setRow(c.id, { expression: e.target.value })}
              placeholder="round(amount * quantity, 2)"
              aria-label={`Expression of computed column ${i + 1}`}
              aria-invalid={rowProblems(problems, c.column.trim()).length > 0}
              spellCheck={false}
              data-testid="derive-expression"
            />
            <button type="button" className="btn btn-small btn-quiet" onClick={() => onChange({ ...step, columns: step.columns.filter((x) => x.id !== c.id) })} aria-label={`Remove computed column ${i + 1}`}>
              ✕
            </button>
          </div>
          <RowProblems problems={problems} rowKey={c.column.trim()} />
        </div>
      ))}
      <button type="button" className="btn btn-small" onClick={() => onChange({ ...step, columns: [...step.columns, { id: newId(), column: '', expression: '' }] })} data-testid="add-derive">
        Add a column
      </button>
    </div>
  )
}

function RenameBody(props: {
  step: Extract<StepDraft, { kind: 'rename' }>
  columns: string[]
  problems: StepProblem[]
  onChange: (s: StepDraft) => void
}): React.JSX.Element {
  const { step, columns, problems, onChange } = props
  const setPair = (id: string, patch: Partial<{ from: string; to: string }>): void =>
    onChange({ ...step, pairs: step.pairs.map((p) => (p.id === id ? { ...p, ...patch } : p)) })
  return (
    <div className="rows">
      {step.pairs.map((p, i) => (
        <div key={p.id} className="row-block" data-testid="rename-row">
          <div className="row-grid rename-grid">
            <select value={p.from} onChange={(e) => setPair(p.id, { from: e.target.value })} aria-label={`Column to rename (${i + 1})`} data-testid="rename-from">
              <option value="">Choose a column…</option>
              {columnOptions(columns, p.from).map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
            <span aria-hidden="true" className="muted">
              →
            </span>
            <input value={p.to} onChange={(e) => setPair(p.id, { to: e.target.value })} placeholder="new name" aria-label={`New name (${i + 1})`} spellCheck={false} data-testid="rename-to" />
            <button type="button" className="btn btn-small btn-quiet" onClick={() => onChange({ ...step, pairs: step.pairs.filter((x) => x.id !== p.id) })} aria-label={`Remove rename ${i + 1}`}>
              ✕
            </button>
          </div>
          <RowProblems problems={problems} rowKey={p.from} />
        </div>
      ))}
      <button type="button" className="btn btn-small" onClick={() => onChange({ ...step, pairs: [...step.pairs, { id: newId(), from: '', to: '' }] })} data-testid="add-rename">
        Add a column
      </button>
    </div>
  )
}

function ColumnChecks(props: {
  step: Extract<StepDraft, { kind: 'dedupe' | 'select' | 'drop' }>
  columns: string[]
  onChange: (s: StepDraft) => void
}): React.JSX.Element {
  const { step, columns, onChange } = props
  const legend = step.kind === 'dedupe' ? 'Records are duplicates when these columns are equal' : step.kind === 'select' ? 'Columns to keep' : 'Columns to remove'
  return <ColumnChips legend={legend} columns={columns} chosen={step.columns} order="input" testId={`${step.kind}-column`} onChange={(next) => onChange({ ...step, columns: next })} />
}
