import { useMemo } from 'react'
import { formatDateTime } from '../../components/format'
import {
  browserTimeZone,
  CATCH_UP_CHOICES,
  catchUpWords,
  CRON_PRESETS,
  describeCron,
  durationWords,
  incrementalWords,
  knownTimeZones,
  nextCronTimes,
  OVERLAP_CHOICES,
  overlapWords
} from '../schedule/schedule-words'
import { newTrigger, type CatchUp, type JobDraft, type Overlap, type TriggerDraft } from './job-draft'

type ScheduleFields = Pick<JobDraft, 'triggers' | 'catchUp' | 'catchUpLimit' | 'overlap' | 'incremental'>
type Problem = { sub: string; message: string }

/** Next times shown under a cron trigger. */
const NEXT_SHOWN = 3

/**
 * The job's schedule in the editor: ways it starts by itself (at set times, every so often, when
 * files land in its folder), and what happens with missed times, runs that overlap, and files
 * already processed. Problems from jobs.validate are shown next to their field.
 */
export function ScheduleEditor(props: {
  value: ScheduleFields
  onChange: (patch: Partial<ScheduleFields>) => void
  triggerProblems: Map<number, Problem[]>
  problems: Problem[]
  isNew: boolean
}): React.JSX.Element {
  const { value, onChange } = props
  const zone = useMemo(browserTimeZone, [])
  const zones = useMemo(knownTimeZones, [])
  const hasWatch = value.triggers.some((t) => t.kind === 'watch')

  const setTrigger = (i: number, t: TriggerDraft): void => onChange({ triggers: value.triggers.map((x, j) => (j === i ? t : x)) })
  const removeTrigger = (i: number): void => onChange({ triggers: value.triggers.filter((_, j) => j !== i) })
  const addTrigger = (kind: 'cron' | 'every' | 'watch'): void => onChange({ triggers: [...value.triggers, newTrigger(kind, zone)] })
  const fieldProblems = (sub: string): Problem[] => props.problems.filter((p) => p.sub === sub)
  const limitNumber = Number(value.catchUpLimit.trim())

  return (
    <section className="card schedule-editor" aria-labelledby="sec-schedule" data-testid="schedule-editor">
      <h2 id="sec-schedule">
        <span className="sec-number">5</span> Schedule
      </h2>
      <p className="muted">
        {value.triggers.length === 0
          ? 'The job runs when you start it. To make it run by itself as well, add one or more of these:'
          : 'The job runs by itself:'}
      </p>
      <datalist id="time-zones">
        {zones.map((z) => (
          <option key={z} value={z} />
        ))}
      </datalist>
      {value.triggers.length > 0 && (
        <ol className="trigger-drafts">
          {value.triggers.map((t, i) => (
            <TriggerCard
              key={t.id}
              trigger={t}
              index={i}
              zone={zone}
              problems={props.triggerProblems.get(i) ?? []}
              onChange={(next) => setTrigger(i, next)}
              onRemove={() => removeTrigger(i)}
            />
          ))}
        </ol>
      )}
      <FieldProblems problems={fieldProblems('triggers')} />
      <div className="presets" role="group" aria-label="Add a way to start the job">
        <span className="muted small">Add:</span>
        <button type="button" className="btn btn-small" onClick={() => addTrigger('cron')} data-testid="add-trigger-cron">
          + At set times
        </button>
        <button type="button" className="btn btn-small" onClick={() => addTrigger('every')} data-testid="add-trigger-every">
          + Every so often
        </button>
        <button
          type="button"
          className="btn btn-small"
          onClick={() => addTrigger('watch')}
          disabled={hasWatch}
          title={hasWatch ? 'The job already watches its folder' : undefined}
          data-testid="add-trigger-watch"
        >
          + When files land in the folder
        </button>
      </div>
      {props.isNew && value.triggers.length > 0 && (
        <p className="muted small">The schedule is on once the job is saved. You can turn it off in the Jobs list or on the job’s page.</p>
      )}

      <h3 className="schedule-editor-sub">When it runs by itself</h3>
      <div className="schedule-settings">
        <div className="policy-row">
          <div className="policy-field">
            <label className="field">
              <span>Times missed while Batchery was closed or the computer asleep</span>
              <select
                value={value.catchUp}
                onChange={(e) => onChange({ catchUp: e.target.value as CatchUp })}
                aria-invalid={fieldProblems('catchUp').length > 0}
                data-testid="catchup"
              >
                {CATCH_UP_CHOICES.map((c) => (
                  <option key={c.value} value={c.value}>
                    {c.label}
                  </option>
                ))}
              </select>
            </label>
            <FieldProblems problems={fieldProblems('catchUp')} />
            {value.catchUp === 'all' && (
              <label className="field field-inline">
                <span>At most this many at once</span>
                <input
                  value={value.catchUpLimit}
                  onChange={(e) => onChange({ catchUpLimit: e.target.value })}
                  inputMode="numeric"
                  placeholder="10"
                  aria-invalid={fieldProblems('catchUpLimit').length > 0}
                  data-testid="catchup-limit"
                />
              </label>
            )}
            <FieldProblems problems={fieldProblems('catchUpLimit')} />
          </div>
          <p className="muted small policy-help">{catchUpWords(value.catchUp, Number.isInteger(limitNumber) && limitNumber > 0 ? limitNumber : 10)}</p>
        </div>
        <div className="policy-row">
          <div className="policy-field">
            <label className="field">
              <span>When a time comes while the last run is still going</span>
              <select
                value={value.overlap}
                onChange={(e) => onChange({ overlap: e.target.value as Overlap })}
                aria-invalid={fieldProblems('overlap').length > 0}
                data-testid="overlap"
              >
                {OVERLAP_CHOICES.map((c) => (
                  <option key={c.value} value={c.value}>
                    {c.label}
                  </option>
                ))}
              </select>
            </label>
            <FieldProblems problems={fieldProblems('overlap')} />
          </div>
          <p className="muted small policy-help">{overlapWords(value.overlap)} Two runs of one job never write at the same time.</p>
        </div>
        <div className="policy-row">
          <div className="policy-field">
            <label className="field field-check-line">
              <input type="checkbox" checked={value.incremental} onChange={(e) => onChange({ incremental: e.target.checked })} data-testid="incremental" />
              <span>Only new or changed files</span>
            </label>
            <FieldProblems problems={fieldProblems('incremental')} />
          </div>
          <p className="muted small policy-help">{incrementalWords(value.incremental)}</p>
        </div>
      </div>
    </section>
  )
}

function FieldProblems(props: { problems: Problem[]; testId?: string }): React.JSX.Element | null {
  if (props.problems.length === 0) return null
  return (
    <ul className="field-problems" role="alert">
      {props.problems.map((p, i) => (
        <li key={i} className="field-problem" data-testid={props.testId ?? 'schedule-problem'}>
          {p.message}
        </li>
      ))}
    </ul>
  )
}

const KIND_TITLES: Record<TriggerDraft['kind'], string> = {
  cron: 'At set times',
  every: 'Every so often',
  watch: 'When files land in the folder',
  raw: 'Another kind of trigger'
}

function TriggerCard(props: {
  trigger: TriggerDraft
  index: number
  zone: string
  problems: Problem[]
  onChange: (t: TriggerDraft) => void
  onRemove: () => void
}): React.JSX.Element {
  const { trigger: t, index: i, problems } = props
  const on = (sub: string): Problem[] => problems.filter((p) => p.sub === sub)
  const known = new Set(t.kind === 'cron' ? ['cron', 'timezone'] : t.kind === 'every' ? ['every'] : t.kind === 'watch' ? ['settle'] : [])
  const general = problems.filter((p) => !known.has(p.sub))
  return (
    <li className={`trigger-draft${problems.length ? ' has-problems' : ''}`} data-testid={`trigger-${i}`}>
      <div className="trigger-draft-head">
        <h3>{KIND_TITLES[t.kind]}</h3>
        <button type="button" className="btn btn-small btn-danger-quiet" onClick={props.onRemove} data-testid={`remove-trigger-${i}`} aria-label={`Remove “${KIND_TITLES[t.kind]}”`}>
          Remove
        </button>
      </div>
      {t.kind === 'cron' && <CronFields trigger={t} index={i} zone={props.zone} on={on} onChange={props.onChange} />}
      {t.kind === 'every' && (
        <div className="trigger-fields">
          <div className="field-block">
            <label className="field">
              <span>How often</span>
              <input
                className="mono duration-input"
                value={t.every}
                onChange={(e) => props.onChange({ ...t, every: e.target.value })}
                placeholder="15m"
                spellCheck={false}
                aria-invalid={on('every').length > 0}
                data-testid={`trigger-every-${i}`}
              />
            </label>
            <FieldProblems problems={on('every')} testId="trigger-problem" />
          </div>
          <p className="muted small field-help">
            {durationWords(t.every) ? <strong>Every {durationWords(t.every)}</strong> : null}
            {durationWords(t.every) ? ', counted from when the schedule is turned on. ' : ''}A number and a unit: <code>30s</code> seconds,{' '}
            <code>15m</code> minutes, <code>2h</code> hours.
          </p>
        </div>
      )}
      {t.kind === 'watch' && (
        <div className="trigger-fields">
          <div className="field-block">
            <label className="field">
              <span>Wait until files stop changing for</span>
              <input
                className="mono duration-input"
                value={t.settle}
                onChange={(e) => props.onChange({ ...t, settle: e.target.value })}
                placeholder="5s"
                spellCheck={false}
                aria-invalid={on('settle').length > 0}
                data-testid={`trigger-settle-${i}`}
              />
            </label>
            <FieldProblems problems={on('settle')} testId="trigger-problem" />
          </div>
          <p className="muted small field-help">
            New or changed files in the input folder start a run once their size and time stop changing for {durationWords(t.settle) ?? '5 seconds'}, so a
            file still being copied is not read half-way. Files that arrive together run together; temporary files (.tmp, .part, ~$…, .crdownload) and
            hidden files are left alone.
          </p>
        </div>
      )}
      {t.kind === 'raw' && (
        <label className="field">
          <span>As written in the job file</span>
          <textarea className="mono" rows={3} value={t.text} onChange={(e) => props.onChange({ ...t, text: e.target.value })} spellCheck={false} data-testid={`trigger-raw-${i}`} />
        </label>
      )}
      <FieldProblems problems={general} testId="trigger-problem" />
    </li>
  )
}

function CronFields(props: {
  trigger: Extract<TriggerDraft, { kind: 'cron' }>
  index: number
  zone: string
  on: (sub: string) => Problem[]
  onChange: (t: TriggerDraft) => void
}): React.JSX.Element {
  const { trigger: t, index: i, on } = props
  const zone = t.timezone.trim() || undefined
  const words = describeCron(t.cron)
  const cronProblems = on('cron')
  const next = cronProblems.length ? null : nextCronTimes(t.cron, zone, NEXT_SHOWN)
  const otherZone = zone !== undefined && zone !== props.zone
  return (
    <>
      <div className="trigger-fields">
        <div className="field-block cron-block">
          <label className="field">
            <span>When (a “cron” schedule code)</span>
            <input
              className="mono"
              value={t.cron}
              onChange={(e) => props.onChange({ ...t, cron: e.target.value })}
              placeholder="0 7 * * 1-5"
              spellCheck={false}
              aria-invalid={cronProblems.length > 0}
              aria-describedby={`cron-help-${i}`}
              data-testid={`trigger-cron-${i}`}
            />
          </label>
          <FieldProblems problems={cronProblems} testId="trigger-problem" />
        </div>
        <div className="field-block">
          <label className="field">
            <span>Time zone</span>
            <input
              value={t.timezone}
              onChange={(e) => props.onChange({ ...t, timezone: e.target.value })}
              list="time-zones"
              placeholder={`this computer’s (${props.zone})`}
              spellCheck={false}
              aria-invalid={on('timezone').length > 0}
              data-testid={`trigger-timezone-${i}`}
            />
          </label>
          <FieldProblems problems={on('timezone')} testId="trigger-problem" />
        </div>
      </div>
      <div className="cron-presets" role="group" aria-label="Common times">
        <span className="muted small">Quick picks:</span>
        {CRON_PRESETS.map((p) => (
          <button
            key={p.key}
            type="button"
            className={`chip chip-button${t.cron.trim() === p.cron ? ' chip-on' : ''}`}
            onClick={() => props.onChange({ ...t, cron: p.cron })}
            data-testid={`cron-preset-${p.key}-${i}`}
          >
            {p.label}
          </button>
        ))}
      </div>
      <div className="muted small field-help" id={`cron-help-${i}`}>
        {words && !cronProblems.length && (
          <p className="cron-words" data-testid={`trigger-words-${i}`}>
            <strong>{words[0]?.toUpperCase() + words.slice(1)}</strong>
            {zone ? `, ${zone} time` : ''}.
          </p>
        )}
        {next && next.length > 0 && (
          <p data-testid={`trigger-next-${i}`}>
            Next: {next.map((n) => formatDateTime(n)).join(' · ')}
            {otherZone ? ' (in your time)' : ''}
          </p>
        )}
        <p>
          A cron code has five parts: minute, hour, day of the month, month, weekday (0 or 7 is Sunday). <code>*</code> means every,{' '}
          <code>1-5</code> Monday to Friday, <code>*/15</code> every 15th. For example <code>30 6 * * 1</code> is 06:30 every Monday.
        </p>
      </div>
    </>
  )
}
