// The job being built on the New job / Edit screens, in a shape that is easy to edit (rows with
// ids, text fields as typed), and its translation to the job JSON the engine checks and saves.
// Step indices are kept one to one, so a problem at `steps[2]...` belongs to the third card.
import type { ColumnPreview, InputPreview } from '../../../../shared/api'
import { joinCommandLine, splitCommandLine } from './command-line'
import { defaultOutputFolder, isAbsolutePath, resolvePath } from './paths'

export const VALUE_TYPES = ['string', 'integer', 'number', 'boolean', 'date'] as const
export type ValueType = (typeof VALUE_TYPES)[number]
export type InputFormat = 'csv' | 'tsv' | 'jsonl' | 'json' | 'xlsx'
export type OutputFormat = 'jsonl' | 'csv' | 'tsv' | 'json' | 'xlsx' | 'parquet'
export type Encoding = 'utf8' | 'latin1' | 'windows-1252' | 'utf16le' | 'utf16be'

export interface RuleDraft {
  id: string
  column: string
  type: ValueType
  required: boolean
  min: string
  max: string
  /** Kept as they were when loaded from a saved job; not edited on this screen. */
  extra: { pattern?: string; enum?: unknown[] }
}

export type StepDraft =
  | { id: string; kind: 'validate'; rules: RuleDraft[] }
  | { id: string; kind: 'filter'; expression: string }
  | { id: string; kind: 'derive'; columns: { id: string; column: string; expression: string }[] }
  | { id: string; kind: 'dedupe'; columns: string[] }
  | { id: string; kind: 'select'; columns: string[] }
  | { id: string; kind: 'drop'; columns: string[] }
  | { id: string; kind: 'rename'; pairs: { id: string; from: string; to: string }[] }
  | AggregateStepDraft
  | RouteStepDraft
  /** Any step this screen has no form for (a script), edited as JSON. */
  | { id: string; kind: 'raw'; text: string }

export type StepKind = StepDraft['kind']

/** The functions of an aggregate's values, as the job file writes them ("distinct" counts different values). */
export const AGGREGATE_FUNCTIONS = ['count', 'sum', 'avg', 'min', 'max', 'distinct'] as const
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number]

/**
 * One value of a summary: its output name and what it computes. `custom` holds a value as the job
 * file wrote it when it is not in the form this screen writes (like "SUM( total )"), so that
 * opening and saving a job never rewrites what the user did not touch.
 */
export interface AggregateValueDraft {
  id: string
  name: string
  fn: AggregateFunction | 'custom'
  column: string
  custom: string
}

export interface AggregateStepDraft {
  id: string
  kind: 'aggregate'
  by: string[]
  values: AggregateValueDraft[]
  /** Fields this screen does not edit (maxGroups), kept as loaded. */
  extra: Record<string, unknown>
}

/** Route: one output per value of an expression ("by"), or named outputs with conditions in order ("when"). */
export interface RouteStepDraft {
  id: string
  kind: 'route'
  mode: 'by' | 'when'
  by: string
  when: { id: string; name: string; condition: string }[]
  /** With "when": the output of records no condition takes; '' leaves the engine's default ("other"). */
  otherwise: string
}

/**
 * One way the job starts by itself. `base` keeps the trigger as it was loaded, so fields this
 * screen does not edit survive a save.
 */
export type TriggerDraft =
  | { id: string; kind: 'cron'; cron: string; timezone: string; base: Record<string, unknown> }
  | { id: string; kind: 'every'; every: string; base: Record<string, unknown> }
  | { id: string; kind: 'watch'; settle: string; base: Record<string, unknown> }
  /** A trigger this screen cannot show as a form, edited as JSON. */
  | { id: string; kind: 'raw'; text: string; base: Record<string, unknown> }

export type TriggerKind = TriggerDraft['kind']
export type CatchUp = 'none' | 'latest' | 'all'
export type Overlap = 'skip' | 'queue' | 'cancel'

export type JobKind = 'records' | 'files'

/**
 * What a files job runs on each file, as edited: a command (given as a program and a list of
 * arguments, or as one command line) or a JavaScript module. Numbers are kept as typed.
 */
export interface FilesDraft {
  exclude: string
  processor: 'command' | 'module'
  /** How the command is edited: program + argument list, or one line (split into arguments unless the shell runs it). */
  commandMode: 'list' | 'line'
  program: string
  args: { id: string; value: string }[]
  line: string
  shell: boolean
  module: string
  exportName: string
  concurrency: string
  retries: string
  timeout: string
}

export interface JobDraft {
  /** Records: every record through steps. Files: a command or module for every file. */
  kind: JobKind
  files: FilesDraft
  name: string
  folder: string
  include: string
  format: InputFormat
  delimiter: string
  header: boolean
  encoding: Encoding
  /** xlsx: the sheet to read, by name; '' for the first sheet. */
  sheet: string
  steps: StepDraft[]
  outputFolder: string
  /** False while the output folder follows the input folder (`<input>-clean`). */
  outputFolderEdited: boolean
  outputFormat: OutputFormat
  layout: 'per-input' | 'merged'
  /** CSV/TSV quoting as in the job ('' when the job does not say: quoted when needed). */
  quoting: '' | 'needed' | 'all'
  /** Output split, as typed: at most this many records / this size per output file; '' for no limit. */
  splitRecords: string
  splitSize: string
  /** Records: failed records; files: failed files. */
  maxFailedRecords: string
  triggers: TriggerDraft[]
  catchUp: CatchUp
  /** As typed; empty: the engine's default. */
  catchUpLimit: string
  overlap: Overlap
  incremental: boolean
  /** The saved definition this draft was opened from: fields this screen does not edit are kept. */
  base: Record<string, unknown> | null
}

let counter = 0
export function newId(): string {
  counter++
  return `d${counter}`
}

export function emptyFilesDraft(): FilesDraft {
  return {
    exclude: '',
    processor: 'command',
    commandMode: 'list',
    program: '',
    args: [{ id: newId(), value: '{}' }],
    line: '',
    shell: false,
    module: '',
    exportName: '',
    concurrency: '',
    retries: '',
    timeout: ''
  }
}

export function emptyDraft(): JobDraft {
  return {
    kind: 'records',
    files: emptyFilesDraft(),
    name: '',
    folder: '',
    include: '',
    format: 'csv',
    delimiter: ',',
    header: true,
    encoding: 'utf8',
    sheet: '',
    steps: [],
    outputFolder: '',
    outputFolderEdited: false,
    outputFormat: 'jsonl',
    layout: 'per-input',
    quoting: '',
    splitRecords: '',
    splitSize: '',
    maxFailedRecords: '',
    triggers: [],
    catchUp: 'latest',
    catchUpLimit: '',
    overlap: 'queue',
    incremental: false,
    base: null
  }
}

/** A new trigger of a kind; a cron trigger starts in this computer's time zone. */
export function newTrigger(kind: Exclude<TriggerKind, 'raw'>, timezone: string): TriggerDraft {
  const id = newId()
  switch (kind) {
    case 'cron':
      return { id, kind, cron: '0 7 * * 1-5', timezone, base: {} }
    case 'every':
      return { id, kind, every: '1h', base: {} }
    case 'watch':
      return { id, kind, settle: '5s', base: {} }
  }
}

export function triggerToJson(t: TriggerDraft): unknown {
  switch (t.kind) {
    case 'cron': {
      const out: Record<string, unknown> = { ...t.base, cron: t.cron }
      delete out.timezone
      if (t.timezone.trim()) out.timezone = t.timezone.trim()
      return out
    }
    case 'every':
      return { ...t.base, every: t.every.trim() }
    case 'watch': {
      const out: Record<string, unknown> = { ...t.base, watch: true }
      delete out.settle
      if (t.settle.trim()) out.settle = t.settle.trim()
      return out
    }
    case 'raw':
      try {
        return JSON.parse(t.text) as unknown
      } catch {
        // Sent as it is: the engine says that it is not a trigger.
        return t.text
      }
  }
}

export function triggerFromJson(value: unknown): TriggerDraft {
  const id = newId()
  const obj = asRecord(value)
  const kinds = (['cron', 'every', 'watch'] as const).filter((k) => obj[k] !== undefined && obj[k] !== false)
  const raw = (): TriggerDraft => ({ id, kind: 'raw', text: JSON.stringify(value, null, 2), base: {} })
  if (kinds.length !== 1) return raw()
  if (typeof obj.cron === 'string' && (obj.timezone === undefined || typeof obj.timezone === 'string')) {
    const { cron, timezone, ...base } = obj
    return { id, kind: 'cron', cron, timezone: typeof timezone === 'string' ? timezone : '', base }
  }
  if (typeof obj.every === 'string') {
    const { every, ...base } = obj
    return { id, kind: 'every', every, base }
  }
  if (obj.watch === true && (obj.settle === undefined || typeof obj.settle === 'string')) {
    const { watch: _watch, settle, ...base } = obj
    return { id, kind: 'watch', settle: typeof settle === 'string' ? settle : '', base }
  }
  return raw()
}

export function defaultDelimiter(format: InputFormat): string {
  return format === 'tsv' ? '\t' : ','
}

const EXTENSIONS: Record<InputFormat, string[]> = {
  csv: ['csv', 'txt'],
  tsv: ['tsv', 'tab', 'txt'],
  jsonl: ['jsonl', 'ndjson', 'json'],
  json: ['json'],
  xlsx: ['xlsx', 'xlsm']
}

/** Which files to read, from what the preview found: the extensions of the detected format. */
export function includeFor(preview: InputPreview): string {
  const exts = new Set<string>()
  for (const f of preview.files) {
    // orders.csv.gz counts as "csv.gz": compressed files of the format are read too
    const m = /\.([^./\\]+(?:\.gz)?)$/i.exec(f.relPath)
    if (m?.[1]) exts.add(m[1].toLowerCase())
  }
  // zip archives hold files of any format but a workbook (which is a zip itself)
  const known = [...EXTENSIONS[preview.format].flatMap((e) => [e, `${e}.gz`]), ...(preview.format === 'xlsx' ? [] : ['zip'])].filter((e) => exts.has(e))
  if (known.length) return known.map((e) => `*.${e}`).join(', ')
  return exts.size ? [...exts].map((e) => `*.${e}`).join(', ') : '*'
}

export function splitPatterns(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
}

/** Apply a new input folder: the output follows it unless the user set one. */
export function withFolder(draft: JobDraft, folder: string): JobDraft {
  return {
    ...draft,
    folder,
    outputFolder: draft.outputFolderEdited ? draft.outputFolder : defaultOutputFolder(folder)
  }
}

function ruleFor(column: ColumnPreview | { name: string; type: ValueType }): RuleDraft {
  return { id: newId(), column: column.name, type: column.type, required: false, min: '', max: '', extra: {} }
}

/** A new step from a preset, filled in from the previewed columns where that helps. */
export function presetStep(kind: Exclude<StepKind, 'raw'>, columns: ColumnPreview[]): StepDraft {
  const id = newId()
  switch (kind) {
    case 'validate': {
      const typed = columns.filter((c) => c.type !== 'string')
      return { id, kind, rules: typed.length ? typed.map(ruleFor) : [ruleFor({ name: columns[0]?.name ?? '', type: 'string' })] }
    }
    case 'filter':
      return { id, kind, expression: '' }
    case 'derive':
      return { id, kind, columns: [{ id: newId(), column: '', expression: '' }] }
    case 'dedupe':
      return { id, kind, columns: [] }
    case 'select':
      return { id, kind, columns: columns.map((c) => c.name) }
    case 'drop':
      return { id, kind, columns: [] }
    case 'rename':
      return { id, kind, pairs: [{ id: newId(), from: '', to: '' }] }
    case 'aggregate':
      return { id, kind, by: [], values: [{ id: newId(), name: 'records', fn: 'count', column: '', custom: '' }], extra: {} }
    case 'route':
      return { id, kind, mode: 'by', by: '', when: [{ id: newId(), name: '', condition: '' }], otherwise: '' }
  }
}

/** An aggregate value as the job file writes it: "count", or "sum(total)". */
export function aggregateValueText(v: AggregateValueDraft): string {
  if (v.fn === 'custom') return v.custom
  if (v.fn === 'count') return 'count'
  return `${v.fn}(${v.column.trim()})`
}

/** A value from the job file as a row; one not in the form this screen writes is kept as written. */
function aggregateValueFromText(name: string, text: string): AggregateValueDraft {
  const row: AggregateValueDraft = { id: newId(), name, fn: 'custom', column: '', custom: text }
  const m = /^([a-z]+)(?:\((.*)\))?$/.exec(text)
  const fn = m?.[1]
  if (!m || !fn || !(AGGREGATE_FUNCTIONS as readonly string[]).includes(fn)) return row
  const parsed: AggregateValueDraft = { ...row, fn: fn as AggregateFunction, column: m[2] ?? '', custom: '' }
  return aggregateValueText(parsed) === text ? parsed : row
}

function boundValue(text: string, type: ValueType): number | string | undefined {
  const t = text.trim()
  if (t === '') return undefined
  if ((type === 'integer' || type === 'number') && Number.isFinite(Number(t))) return Number(t)
  // Left as text: the engine then says plainly why it does not fit the type.
  return t
}

export function stepToJson(step: StepDraft): unknown {
  switch (step.kind) {
    case 'validate': {
      const rules: Record<string, unknown> = {}
      for (const r of step.rules) {
        if (!r.column) continue
        const rule: Record<string, unknown> = { type: r.type }
        if (r.required) rule.required = true
        const min = boundValue(r.min, r.type)
        const max = boundValue(r.max, r.type)
        if (min !== undefined) rule.min = min
        if (max !== undefined) rule.max = max
        if (r.extra.pattern !== undefined) rule.pattern = r.extra.pattern
        if (r.extra.enum !== undefined) rule.enum = r.extra.enum
        rules[r.column] = rule
      }
      return { validate: rules }
    }
    case 'filter':
      return { filter: step.expression }
    case 'derive': {
      const out: Record<string, string> = {}
      for (const c of step.columns) if (c.column.trim()) out[c.column.trim()] = c.expression
      return { derive: out }
    }
    case 'dedupe':
      return { dedupe: step.columns }
    case 'select':
      return { select: step.columns }
    case 'drop':
      return { drop: step.columns }
    case 'rename': {
      const out: Record<string, string> = {}
      for (const p of step.pairs) if (p.from) out[p.from] = p.to
      return { rename: out }
    }
    case 'aggregate': {
      const values: Record<string, string> = {}
      for (const v of step.values) if (v.name.trim()) values[v.name.trim()] = aggregateValueText(v)
      return { aggregate: { ...step.extra, by: step.by, values } }
    }
    case 'route': {
      if (step.mode === 'by') return { route: { by: step.by.trim() } }
      const when: Record<string, string> = {}
      for (const w of step.when) if (w.name.trim()) when[w.name.trim()] = w.condition
      return { route: step.otherwise.trim() ? { when, otherwise: step.otherwise.trim() } : { when } }
    }
    case 'raw':
      try {
        return JSON.parse(step.text) as unknown
      } catch {
        // Sent as it is: the engine reports that the step is not a step.
        return step.text
      }
  }
}

/** The job JSON for the engine: absolute paths, the draft's kind, untouched fields kept. */
export function draftToJob(draft: JobDraft): Record<string, unknown> {
  return draft.kind === 'files' ? filesDraftToJob(draft) : recordsDraftToJob(draft)
}

/** Text as typed into a number field: a number when it is one; else sent as it is, for the engine to explain. */
function numberOrText(text: string): number | string {
  const t = text.trim()
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t
}

/** output.split from the two fields; undefined when both are empty. */
function splitToJson(draft: JobDraft): Record<string, unknown> | undefined {
  const records = draft.splitRecords.trim()
  const size = draft.splitSize.trim()
  if (!records && !size) return undefined
  const split: Record<string, unknown> = {}
  if (records) split.records = numberOrText(records)
  // A size is "100MB" (or bytes as a plain number, as a job file may give it).
  if (size) split.bytes = /^\d+$/.test(size) ? Number(size) : size
  return split
}

/** The schedule fields, the same for both kinds. */
function scheduleToJson(draft: JobDraft, job: Record<string, unknown>): void {
  job.triggers = draft.triggers.map(triggerToJson)
  job.catchUp = draft.catchUp
  const limit = draft.catchUpLimit.trim()
  if (limit === '') delete job.catchUpLimit
  else job.catchUpLimit = numberOrText(limit)
  job.overlap = draft.overlap
  job.incremental = draft.incremental
}

/** A files job's command as the job file holds it: a list, or one line when the shell runs it. */
export function commandOf(f: FilesDraft): string[] | string {
  if (f.commandMode === 'list') return [f.program, ...f.args.map((a) => a.value)]
  return f.shell ? f.line : splitCommandLine(f.line)
}

function filesDraftToJob(draft: JobDraft): Record<string, unknown> {
  const f = draft.files
  const base = draft.base ?? {}
  const baseInput = asRecord(base.input)
  const input: Record<string, unknown> = { ...baseInput, folder: draft.folder }
  const include = splitPatterns(draft.include)
  if (include.length) input.include = include
  else delete input.include
  const exclude = splitPatterns(f.exclude)
  if (exclude.length) input.exclude = exclude
  else delete input.exclude

  const policy: Record<string, unknown> = { ...asRecord(base.policy) }
  const fields: [keyof FilesDraft | 'maxFailedRecords', string][] = [
    ['concurrency', f.concurrency],
    ['retries', f.retries],
    ['timeout', f.timeout],
    ['maxFailedRecords', draft.maxFailedRecords]
  ]
  for (const [key, value] of fields) {
    if (value.trim() === '') delete policy[key]
    else policy[key] = key === 'timeout' ? value.trim() : numberOrText(value)
  }

  const job: Record<string, unknown> = { ...base, name: draft.name.trim(), kind: 'files', input }
  delete job.command
  delete job.module
  delete job.export
  delete job.shell
  if (f.processor === 'command') {
    job.command = commandOf(f)
    job.shell = f.shell
  } else {
    job.module = f.module.trim()
    if (f.exportName.trim()) job.export = f.exportName.trim()
  }
  job.output = { ...asRecord(base.output), folder: draft.outputFolder }
  if (Object.keys(policy).length) job.policy = policy
  else delete job.policy
  scheduleToJson(draft, job)
  return job
}

function recordsDraftToJob(draft: JobDraft): Record<string, unknown> {
  const base = draft.base ?? {}
  const baseInput = (typeof base.input === 'object' && base.input !== null ? base.input : {}) as Record<string, unknown>
  const baseOutput = (typeof base.output === 'object' && base.output !== null ? base.output : {}) as Record<string, unknown>
  const basePolicy = (typeof base.policy === 'object' && base.policy !== null ? base.policy : {}) as Record<string, unknown>

  const input: Record<string, unknown> = { ...baseInput, folder: draft.folder }
  const include = splitPatterns(draft.include)
  if (include.length) input.include = include
  else delete input.include
  input.format = draft.format
  delete input.delimiter
  delete input.header
  delete input.quote
  delete input.sheet
  if (draft.format === 'csv' || draft.format === 'tsv') {
    if (draft.delimiter && draft.delimiter !== defaultDelimiter(draft.format)) input.delimiter = draft.delimiter
    if (!draft.header) input.header = false
    if (baseInput.quote !== undefined) input.quote = baseInput.quote
  }
  if (draft.format === 'xlsx') {
    if (!draft.header) input.header = false
    if (draft.sheet.trim()) input.sheet = draft.sheet.trim()
    else if (typeof baseInput.sheet === 'number') input.sheet = baseInput.sheet
  }
  if (draft.encoding !== 'utf8') input.encoding = draft.encoding
  else delete input.encoding

  const output: Record<string, unknown> = { ...baseOutput, folder: draft.outputFolder, format: draft.outputFormat, layout: draft.layout }
  if (draft.outputFormat !== 'csv' && draft.outputFormat !== 'tsv') delete output.delimiter
  if ((draft.outputFormat === 'csv' || draft.outputFormat === 'tsv') && draft.quoting) output.quoting = draft.quoting
  else delete output.quoting
  const split = splitToJson(draft)
  if (split) output.split = split
  else delete output.split

  const policy: Record<string, unknown> = { ...basePolicy }
  const maxFailed = draft.maxFailedRecords.trim()
  if (maxFailed === '') delete policy.maxFailedRecords
  else policy.maxFailedRecords = Number.isFinite(Number(maxFailed)) ? Number(maxFailed) : maxFailed

  const job: Record<string, unknown> = {
    ...base,
    name: draft.name.trim(),
    kind: 'records',
    input,
    steps: draft.steps.map(stepToJson),
    output
  }
  if (Object.keys(policy).length) job.policy = policy
  else delete job.policy

  scheduleToJson(draft, job)
  return job
}

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
}

function asStrings(v: unknown): string[] | null {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null
}

function text(v: unknown): string {
  return v === undefined || v === null ? '' : String(v)
}

export function stepFromJson(step: unknown): StepDraft {
  const id = newId()
  const raw = (): StepDraft => ({ id, kind: 'raw', text: JSON.stringify(step, null, 2) })
  const obj = asRecord(step)
  const keys = Object.keys(obj)
  if (keys.length !== 1) return raw()
  const kind = keys[0] as string
  const body = obj[kind]
  switch (kind) {
    case 'validate': {
      const rules: RuleDraft[] = []
      for (const [column, ruleValue] of Object.entries(asRecord(body))) {
        const r = asRecord(ruleValue)
        const type = (VALUE_TYPES as readonly string[]).includes(String(r.type)) ? (r.type as ValueType) : 'string'
        const extra: RuleDraft['extra'] = {}
        if (typeof r.pattern === 'string') extra.pattern = r.pattern
        if (Array.isArray(r.enum)) extra.enum = r.enum
        rules.push({ id: newId(), column, type, required: r.required === true, min: text(r.min), max: text(r.max), extra })
      }
      return { id, kind, rules }
    }
    case 'filter':
      return typeof body === 'string' ? { id, kind, expression: body } : raw()
    case 'derive':
      return {
        id,
        kind,
        columns: Object.entries(asRecord(body)).map(([column, expression]) => ({ id: newId(), column, expression: text(expression) }))
      }
    case 'dedupe':
    case 'select':
    case 'drop': {
      const columns = asStrings(body)
      return columns ? { id, kind, columns } : raw()
    }
    case 'rename':
      return { id, kind, pairs: Object.entries(asRecord(body)).map(([from, to]) => ({ id: newId(), from, to: text(to) })) }
    case 'aggregate': {
      const { by, values, ...extra } = asRecord(body)
      const byColumns = by === undefined ? [] : asStrings(by)
      const valueEntries = Object.entries(asRecord(values))
      if (!byColumns || !valueEntries.every(([, v]) => typeof v === 'string')) return raw()
      return { id, kind, by: byColumns, values: valueEntries.map(([name, v]) => aggregateValueFromText(name, v as string)), extra }
    }
    case 'route': {
      const r = asRecord(body)
      const known = Object.keys(r).every((k) => k === 'by' || k === 'when' || k === 'otherwise')
      if (known && typeof r.by === 'string' && r.when === undefined && r.otherwise === undefined) {
        return { id, kind, mode: 'by', by: r.by, when: [{ id: newId(), name: '', condition: '' }], otherwise: '' }
      }
      const when = Object.entries(asRecord(r.when))
      if (known && r.by === undefined && when.every(([, c]) => typeof c === 'string') && (r.otherwise === undefined || typeof r.otherwise === 'string')) {
        return {
          id,
          kind,
          mode: 'when',
          by: '',
          when: when.map(([name, condition]) => ({ id: newId(), name, condition: condition as string })),
          otherwise: typeof r.otherwise === 'string' ? r.otherwise : ''
        }
      }
      return raw()
    }
    default:
      return raw()
  }
}

/** A saved job as a draft; relative paths are made absolute against the job's folder. */
export function draftFromJob(definition: unknown, baseDir: string): JobDraft {
  const def = asRecord(definition)
  const input = asRecord(def.input)
  const output = asRecord(def.output)
  const policy = asRecord(def.policy)
  const format: InputFormat = input.format === 'tsv' || input.format === 'jsonl' || input.format === 'json' || input.format === 'xlsx' ? input.format : 'csv'
  const folder = typeof input.folder === 'string' ? (isAbsolutePath(input.folder) ? input.folder : resolvePath(baseDir, input.folder)) : ''
  const outFolderRaw = typeof output.folder === 'string' ? output.folder : ''
  const outputFolder = outFolderRaw && !isAbsolutePath(outFolderRaw) ? resolvePath(baseDir, outFolderRaw) : outFolderRaw
  const encoding: Encoding = input.encoding === 'latin1' || input.encoding === 'windows-1252' || input.encoding === 'utf16le' || input.encoding === 'utf16be' ? input.encoding : 'utf8'
  const steps = Array.isArray(def.steps) ? def.steps.map(stepFromJson) : []
  const split = asRecord(output.split)
  return {
    kind: def.kind === 'files' ? 'files' : 'records',
    files: def.kind === 'files' ? filesDraftFromJob(def) : emptyFilesDraft(),
    name: typeof def.name === 'string' ? def.name : '',
    folder,
    include: asStrings(input.include)?.join(', ') ?? '',
    format,
    delimiter: typeof input.delimiter === 'string' ? input.delimiter : defaultDelimiter(format),
    header: input.header !== false,
    encoding,
    sheet: typeof input.sheet === 'string' ? input.sheet : '',
    steps,
    outputFolder,
    outputFolderEdited: true,
    outputFormat:
      output.format === 'csv' || output.format === 'tsv' || output.format === 'json' || output.format === 'xlsx' || output.format === 'parquet' ? output.format : 'jsonl',
    layout: output.layout === 'merged' ? 'merged' : 'per-input',
    quoting: output.quoting === 'all' || output.quoting === 'needed' ? output.quoting : '',
    splitRecords: text(split.records),
    splitSize: text(split.bytes),
    maxFailedRecords: text(policy.maxFailedRecords),
    triggers: Array.isArray(def.triggers) ? def.triggers.map(triggerFromJson) : [],
    catchUp: def.catchUp === 'none' || def.catchUp === 'all' ? def.catchUp : 'latest',
    catchUpLimit: text(def.catchUpLimit),
    overlap: def.overlap === 'skip' || def.overlap === 'cancel' ? def.overlap : 'queue',
    incremental: def.incremental === true,
    base: { ...def, input: { ...input, folder }, output: { ...output, folder: outputFolder } }
  }
}

/** A saved files job's processor and policy as the form edits them. */
function filesDraftFromJob(def: Record<string, unknown>): FilesDraft {
  const f = emptyFilesDraft()
  const input = asRecord(def.input)
  const policy = asRecord(def.policy)
  f.exclude = asStrings(input.exclude)?.join(', ') ?? ''
  f.shell = def.shell === true
  if (typeof def.module === 'string' && def.command === undefined) {
    f.processor = 'module'
    f.module = def.module
    f.exportName = typeof def.export === 'string' ? def.export : ''
  }
  const list = asStrings(def.command)
  if (list && list.length > 0) {
    f.commandMode = 'list'
    f.program = list[0] as string
    f.args = list.slice(1).map((value) => ({ id: newId(), value }))
    f.line = joinCommandLine(list)
  } else if (typeof def.command === 'string') {
    f.commandMode = 'line'
    f.line = def.command
    f.program = ''
    f.args = []
  }
  f.concurrency = text(policy.concurrency)
  f.retries = text(policy.retries)
  f.timeout = text(policy.timeout)
  return f
}

/**
 * The columns a step sees: the input's, changed by the steps before it (derive adds, rename
 * renames, select keeps, drop removes). Used to offer column names; the engine has the last word.
 */
export function columnsBefore(steps: StepDraft[], index: number, inputColumns: string[]): string[] {
  let cols = [...inputColumns]
  for (const step of steps.slice(0, index)) {
    switch (step.kind) {
      case 'derive':
        for (const c of step.columns) {
          const name = c.column.trim()
          if (name && !cols.includes(name)) cols.push(name)
        }
        break
      case 'rename':
        cols = cols.map((c) => step.pairs.find((p) => p.from === c && p.to.trim())?.to.trim() ?? c)
        break
      case 'select':
        cols = [...step.columns]
        break
      case 'drop':
        cols = cols.filter((c) => !step.columns.includes(c))
        break
      case 'aggregate':
        // One row per group: its columns and the values' names.
        cols = [...step.by, ...step.values.map((v) => v.name.trim()).filter(Boolean)]
        break
      default:
        break
    }
  }
  return cols
}

/** Split problems by where they are shown: per step, per section, or on top. */
export interface PlacedProblems {
  steps: Map<number, { sub: string; message: string }[]>
  name: string[]
  input: { sub: string; message: string }[]
  output: { sub: string; message: string }[]
  policy: { sub: string; message: string }[]
  /** Per trigger, by index; `sub` is the field (cron, timezone, every, settle) or '' for the whole trigger. */
  triggers: Map<number, { sub: string; message: string }[]>
  /** triggers (the list itself), catchUp, catchUpLimit, overlap, incremental. */
  schedule: { sub: string; message: string }[]
  /** Files jobs: command, command[i], shell, module, export; `sub` is the whole path. */
  processor: { sub: string; message: string }[]
  other: { path: string; message: string }[]
}

export function placeProblems(problems: { path: string; message: string }[]): PlacedProblems {
  const placed: PlacedProblems = { steps: new Map(), name: [], input: [], output: [], policy: [], triggers: new Map(), schedule: [], processor: [], other: [] }
  for (const p of problems) {
    const step = /^steps\[(\d+)\](?:\.([^.]+))?(?:\.(.*))?$/.exec(p.path)
    if (step) {
      const i = Number(step[1])
      const list = placed.steps.get(i) ?? []
      list.push({ sub: step[3] ?? '', message: p.message })
      placed.steps.set(i, list)
      continue
    }
    const trigger = /^triggers\[(\d+)\](?:\.(.*))?$/.exec(p.path)
    if (trigger) {
      const i = Number(trigger[1])
      const list = placed.triggers.get(i) ?? []
      list.push({ sub: trigger[2] ?? '', message: p.message })
      placed.triggers.set(i, list)
      continue
    }
    const schedule = /^(triggers|catchUp|catchUpLimit|overlap|incremental)(?:\.(.*))?$/.exec(p.path)
    if (schedule) {
      placed.schedule.push({ sub: p.path, message: p.message })
      continue
    }
    if (/^(command|shell|module|export)(?:$|[.[])/.test(p.path)) {
      placed.processor.push({ sub: p.path, message: p.message })
      continue
    }
    const section = /^(name|input|output|policy)(?:\.(.*))?$/.exec(p.path)
    if (section) {
      const where = section[1] as 'name' | 'input' | 'output' | 'policy'
      if (where === 'name') placed.name.push(p.message)
      else placed[where].push({ sub: section[2] ?? '', message: p.message })
      continue
    }
    placed.other.push(p)
  }
  return placed
}
