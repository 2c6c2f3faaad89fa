import type { JobKind } from './job-draft'

const KINDS: { kind: JobKind; title: string; text: string }[] = [
  {
    kind: 'records',
    title: 'Work on each record',
    text: 'Rows of CSV, Excel or JSON files go through steps (check, filter, compute, remove duplicates…) into clean files.'
  },
  {
    kind: 'files',
    title: 'Run a command on each file',
    text: 'Each file is handed to a program or a script (compress, convert, upload…), a few at a time, with a report of the ones that failed.'
  }
]

/** The first choice of a new job: what it works on. Records is chosen until the analyst says otherwise. */
export function KindChoice(props: { value: JobKind; onChange: (kind: JobKind) => void }): React.JSX.Element {
  return (
    <section className="card" aria-labelledby="sec-kind">
      <h2 id="sec-kind">What should the job do?</h2>
      <div className="kind-choices" role="radiogroup" aria-labelledby="sec-kind">
        {KINDS.map((k) => (
          <label key={k.kind} className={`kind-choice${props.value === k.kind ? ' kind-choice-on' : ''}`}>
            <input type="radio" name="job-kind" value={k.kind} checked={props.value === k.kind} onChange={() => props.onChange(k.kind)} data-testid={`job-kind-${k.kind}`} />
            <span className="kind-choice-text">
              <strong>{k.title}</strong>
              <span className="muted small">{k.text}</span>
            </span>
          </label>
        ))}
      </div>
    </section>
  )
}

export function kindTitle(kind: JobKind): string {
  return KINDS.find((k) => k.kind === kind)?.title ?? kind
}
