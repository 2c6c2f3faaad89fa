// The job file: one schema, used by every face (CLI, engine, UI). A job is JSON; relative paths in
// it resolve against the folder of the job file.
//
// Structural checks live here (zod). Checks that need the input files (does column "amout" exist?)
// live in the engine's job checker, which reports problems in the same shape.
import { Cron } from 'croner'
import { z } from 'zod'
import { closest } from './suggest'
import { MAX_GROUPS_CEILING, parseAggregateValue } from './step-limits'

// The limits and the aggregate value parser live in step-limits.ts, which the worker imports
// without zod (zod alone takes ~0.2 s to load, in every worker thread).
export { AGGREGATE_FUNCTIONS, DEFAULT_MAX_GROUPS, MAX_GROUPS_CEILING, MAX_ROUTES, parseAggregateValue, type AggregateFunction } from './step-limits'

export const VALUE_TYPES = ['string', 'integer', 'number', 'boolean', 'date'] as const
export type ValueType = (typeof VALUE_TYPES)[number]

const scalar = z.union([z.string(), z.number(), z.boolean()])

export const validateRuleSchema = z.strictObject({
  type: z.enum(VALUE_TYPES).default('string'),
  required: z.boolean().default(false),
  min: z.union([z.number(), z.string()]).optional(),
  max: z.union([z.number(), z.string()]).optional(),
  pattern: z.string().optional(),
  enum: z.array(scalar).min(1).optional()
})
export type ValidateRule = z.infer<typeof validateRuleSchema>

const columnList = z.array(z.string().min(1)).min(1)

export const STEP_KINDS = ['validate', 'filter', 'derive', 'select', 'rename', 'drop', 'dedupe', 'route', 'aggregate', 'script'] as const
export type StepKind = (typeof STEP_KINDS)[number]

const scriptSchema = z.union([
  z.string().min(1),
  z.strictObject({
    module: z.string().min(1),
    /** Named export to call; default export when absent. */
    export: z.string().min(1).optional(),
    /** Columns the script adds, so that later steps and CSV output know them. */
    adds: z.array(z.string().min(1)).optional()
  })
])

const aggregateSchema = z.strictObject({
  /** Columns whose values make a group; none: one group of every record. */
  by: z.array(z.string().min(1)).default([]),
  /** Output column name → "count", "sum(col)", "avg(col)", "min(col)", "max(col)" or "distinct(col)". */
  values: z.record(z.string().min(1), z.string().min(1)).refine((v) => Object.keys(v).length > 0, 'needs at least one value, like { "orders": "count" }'),
  /** The most groups the run may hold (default 100,000, at most 1,000,000); past it the run stops and says so. */
  maxGroups: z.number().int().min(1).max(MAX_GROUPS_CEILING).optional()
})

const routeSchema = z.strictObject({
  /** An expression whose value names the output each record goes to, like "upper(country)". */
  by: z.string().min(1).optional(),
  /** Output name → condition; a record goes to the first whose condition holds. */
  when: z.record(z.string().min(1), z.string().min(1)).optional(),
  /** With "when": where a record goes when no condition holds. Default "other". */
  otherwise: z.string().min(1).optional()
})


const stepSchemas = {
  validate: z.record(z.string().min(1), validateRuleSchema),
  filter: z.string().min(1),
  derive: z.record(z.string().min(1), z.string().min(1)),
  select: columnList,
  rename: z.record(z.string().min(1), z.string().min(1)),
  drop: columnList,
  dedupe: columnList,
  route: routeSchema,
  aggregate: aggregateSchema,
  script: scriptSchema
} as const

export type Step =
  | { validate: Record<string, ValidateRule> }
  | { filter: string }
  | { derive: Record<string, string> }
  | { select: string[] }
  | { rename: Record<string, string> }
  | { drop: string[] }
  | { dedupe: string[] }
  | { route: z.infer<typeof routeSchema> }
  | { aggregate: z.infer<typeof aggregateSchema> }
  | { script: z.infer<typeof scriptSchema> }

/** A step is an object with exactly one key naming its kind. */
const stepSchema = z.custom<Step>().superRefine((value, ctx) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: `a step is an object with one key, one of ${STEP_KINDS.join(', ')}` })
    return
  }
  const keys = Object.keys(value)
  if (keys.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: `a step has exactly one key (one of ${STEP_KINDS.join(', ')}); found ${keys.length ? keys.map((k) => `"${k}"`).join(', ') : 'none'}`
    })
    return
  }
  const kind = keys[0] as string
  const schema = (stepSchemas as Record<string, z.ZodType>)[kind]
  if (!schema) {
    const hint = closest(kind, STEP_KINDS)
    ctx.addIssue({
      code: 'custom',
      path: [kind],
      message: `unknown step "${kind}"${hint ? `; did you mean "${hint}"?` : `; steps are ${STEP_KINDS.join(', ')}`}`
    })
    return
  }
  const parsed = schema.safeParse((value as Record<string, unknown>)[kind])
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [kind, ...issue.path] } as never)
  } else {
    ;(value as Record<string, unknown>)[kind] = parsed.data
  }
})

const DURATION = /^\d+(\.\d+)?\s*(ms|s|m|h)$/
const SIZE = /^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB)$/i

export const INPUT_FORMATS = ['csv', 'tsv', 'jsonl', 'json', 'xlsx'] as const
export const OUTPUT_FORMATS = ['csv', 'tsv', 'jsonl', 'json', 'xlsx', 'parquet'] as const
/**
 * gzip: every input file is gzip-compressed; zip: every input file is a zip archive of files of
 * the format; auto (the default): files named .gz are gzip, and files named .zip or starting with
 * a zip's signature are zips.
 */
export const COMPRESSIONS = ['auto', 'gzip', 'zip', 'none'] as const
/** utf16le / utf16be: for UTF-16 files without a byte order mark (a file that has one is read as UTF-16 whatever this says). */
export const ENCODINGS = ['utf8', 'latin1', 'windows-1252', 'utf16le', 'utf16be'] as const
/** Spellings of an encoding that mean one of ENCODINGS ("utf-8" as most programs write it). */
const ENCODING_ALIASES = new Map<unknown, (typeof ENCODINGS)[number]>([
  ['utf-8', 'utf8'],
  ['utf-16le', 'utf16le'],
  ['utf-16be', 'utf16be']
])

/** When a job runs by itself. A job may have several triggers; each due time runs at most once. */
export const triggerSchema = z.strictObject({
  /** Five fields (minute hour day month weekday) or six with seconds first. */
  cron: z.string().min(1).optional(),
  /** An IANA time zone like "Europe/Berlin"; default: this computer's. */
  timezone: z.string().min(1).optional(),
  every: z.string().regex(DURATION, 'a duration like "15m", "2h" or "30s"').optional(),
  watch: z.boolean().optional(),
  /** How long new files must stop changing (size and modified time) before a watched run starts. */
  settle: z.string().regex(DURATION, 'a duration like "5s"').optional()
})
export type Trigger = z.infer<typeof triggerSchema>

export const CATCH_UP = ['none', 'latest', 'all'] as const
export const OVERLAP = ['skip', 'queue', 'cancel'] as const

export const jobSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[^/\\:*?"<>|]+$/, 'a job name cannot contain / \\ : * ? " < > |'),
  kind: z.literal('records'),
  description: z.string().optional(),
  input: z.strictObject({
    folder: z.string().min(1),
    include: z.array(z.string().min(1)).min(1).default(['*']),
    exclude: z.array(z.string().min(1)).default([]),
    format: z.enum(INPUT_FORMATS),
    /** CSV: one character. Default ',' for csv and tab for tsv. */
    delimiter: z.string().length(1).optional(),
    quote: z.string().length(1).default('"'),
    encoding: z.preprocess((v) => ENCODING_ALIASES.get(v) ?? v, z.enum(ENCODINGS)).default('utf8'),
    /** CSV: the first row names the columns. Without a header, columns are named column1, column2... */
    header: z.boolean().default(true),
    /** Compressed inputs (.gz, .zip) are read as they stream, never unpacked to disk. */
    compression: z.enum(COMPRESSIONS).optional(),
    /** xlsx: the sheet to read, by name or by position (1 is the first tab); default the first sheet. */
    sheet: z.union([z.string().min(1), z.number().int().min(1, 'sheets are numbered from 1 (the first tab is 1)')]).optional()
  }),
  steps: z.array(stepSchema).default([]),
  output: z.strictObject({
    folder: z.string().min(1),
    format: z.enum(OUTPUT_FORMATS),
    layout: z.enum(['per-input', 'merged']).default('per-input'),
    /** File name (without extension) of the merged output; default: the job name. A name, never a path. */
    name: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[^/\\:*?"<>|]+$/, 'is a file name without a folder: it cannot contain / \\ : * ? " < > |')
      .refine((v) => v.trim() !== '.' && v.trim() !== '..', 'cannot be "." or ".."')
      .optional(),
    delimiter: z.string().length(1).optional(),
    /** CSV and TSV: "needed" (default) quotes a value only when it must be; "all" quotes every value. */
    quoting: z.enum(['needed', 'all']).optional(),
    /** At most this many records, or bytes, per output file; the files are numbered name-part-0001, name-part-0002... */
    split: z
      .strictObject({
        records: z.number().int().min(1).optional(),
        bytes: z.union([z.number().int().min(1024), z.string().regex(SIZE, 'a size like "100MB"')]).optional()
      })
      .refine((v) => v.records !== undefined || v.bytes !== undefined, 'needs "records" (like 100000) or "bytes" (like "100MB")')
      .optional()
  }),
  policy: z
    .strictObject({
      concurrency: z.number().int().min(1).max(256).optional(),
      /** Target size of a partition of a big file: a number of bytes or "4MB". */
      chunkSize: z.union([z.number().int().min(1024), z.string().regex(SIZE, 'a size like "4MB"')]).optional(),
      maxFailedRecords: z.number().int().min(0).optional(),
      /** Halt when more than this fraction of records failed (checked after 1,000 records). */
      maxErrorRate: z.number().min(0).max(1).optional(),
      retries: z.number().int().min(0).max(20).default(2),
      timeout: z.string().regex(DURATION, 'a duration like "90s", "10m" or "1h"').default('30m'),
      memoryLimitMb: z.number().int().min(64).optional(),
      /**
       * Largest record (a CSV row with its quoted line breaks, a JSON line) that is read, in bytes
       * or "64MB"; a bigger one fails as RECORD_TOO_LARGE. Default 16 MiB; at most 256 MiB
       * (MAX_RECORD_BYTES_CEILING in failures.ts), as a record is held in memory whole.
       */
      maxRecordSize: z
        .union([z.number().int().min(1), z.string().regex(SIZE, 'a size like "64MB"')])
        .refine((v) => (typeof v === 'string' && !SIZE.test(v)) || (parseSizeBytes(v) >= 1 && parseSizeBytes(v) <= 256 * 1024 * 1024), {
          message: 'must be between 1 byte and "256MiB" (a record is held in memory whole while it is read)'
        })
        .optional()
    })
    .default({ retries: 2, timeout: '30m' }),
  triggers: z.array(triggerSchema).default([]),
  /** Due times missed while Batchery was closed or the computer asleep: run none, the latest once, or all (up to catchUpLimit). */
  catchUp: z.enum(CATCH_UP).default('latest'),
  catchUpLimit: z.number().int().min(1).max(1000).default(10),
  /** A due time while the job's previous run is still going: skip it, queue it, or cancel the older run. */
  overlap: z.enum(OVERLAP).default('queue'),
  /** Scheduled and watched runs take only input files that are new or changed since a run processed them. */
  incremental: z.boolean().default(false),
  /** Move each processed input file here (keeping its subfolder) once its run has committed. */
  archive: z.strictObject({ folder: z.string().min(1) }).optional()
})

/** A records job (`"kind": "records"`). Code for either kind takes `AnyJob` and narrows on `kind`. */
export type Job = z.infer<typeof jobSchema>
export type JobInput = z.input<typeof jobSchema>
export type RecordsJob = Job

// ---------------------------------------------------------------------------------------------
// Files jobs: each input file is one item, handled by a command template (an argument list with
// placeholders, run without a shell unless asked) or by a JavaScript module run in the workers.

export const JOB_KINDS = ['records', 'files'] as const

export const filesJobSchema = z.strictObject({
  name: jobSchema.shape.name,
  kind: z.literal('files'),
  description: z.string().optional(),
  input: z.strictObject({
    folder: z.string().min(1),
    include: z.array(z.string().min(1)).min(1).default(['*']),
    exclude: z.array(z.string().min(1)).default([])
  }),
  /**
   * The program and its arguments, with placeholders ({} {/} {/.} {.} {//} {#} {out} and the
   * names {path} {name} {stem} {ext} {dir} {seq} {rel}); one string only with "shell": true.
   */
  command: z.union([z.array(z.string()).min(1), z.string().min(1)]).optional(),
  /** Run the command through the system shell; placeholder values are still inserted quoted. */
  shell: z.boolean().default(false),
  /** Instead of a command: a JavaScript module whose function (file, context) handles each file, run in the workers. */
  module: z.string().min(1).optional(),
  /** The module's named export to call; default export when absent. */
  export: z.string().min(1).optional(),
  output: z.strictObject({ folder: z.string().min(1) }),
  policy: z
    .strictObject({
      concurrency: z.number().int().min(1).max(256).optional(),
      /** Halt past this many failed files. */
      maxFailedRecords: z.number().int().min(0).optional(),
      /** Halt when more than this fraction of files failed (checked once 10 files are done). */
      maxErrorRate: z.number().min(0).max(1).optional(),
      /** Attempts after the first for a file whose command failed or timed out (GNU parallel's --retries). */
      retries: z.number().int().min(0).max(20).default(0),
      /** Per file: its command is stopped (with every process it started) past this. */
      timeout: z.string().regex(DURATION, 'a duration like "90s", "10m" or "1h"').default('30m'),
      memoryLimitMb: z.number().int().min(64).optional()
    })
    .default({ retries: 0, timeout: '30m' }),
  triggers: jobSchema.shape.triggers,
  catchUp: jobSchema.shape.catchUp,
  catchUpLimit: jobSchema.shape.catchUpLimit,
  overlap: jobSchema.shape.overlap,
  incremental: jobSchema.shape.incremental,
  archive: jobSchema.shape.archive
})

export type FilesJob = z.infer<typeof filesJobSchema>
export type AnyJob = Job | FilesJob
export type JobKind = AnyJob['kind']

const FILES_KNOWN_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(filesJobSchema.shape),
  input: ['folder', 'include', 'exclude'],
  output: ['folder'],
  policy: ['concurrency', 'maxFailedRecords', 'maxErrorRate', 'retries', 'timeout', 'memoryLimitMb'],
  trigger: ['cron', 'timezone', 'every', 'watch', 'settle'],
  archive: ['folder']
}

function filesKnownKeysFor(path: readonly PropertyKey[]): readonly string[] | undefined {
  if (path.length === 0) return FILES_KNOWN_KEYS['']
  const head = path[0]
  if (path.length === 1 && typeof head === 'string') return FILES_KNOWN_KEYS[head]
  if (head === 'triggers' && path.length === 2) return FILES_KNOWN_KEYS.trigger
  return undefined
}

function parseFilesJob(value: unknown): { ok: true; job: FilesJob } | { ok: false; problems: JobProblem[] } {
  const result = filesJobSchema.safeParse(value)
  if (!result.success) return { ok: false, problems: issueProblems(result.error.issues, filesKnownKeysFor) }
  const job = result.data
  const problems: JobProblem[] = []
  if (job.command === undefined && job.module === undefined) {
    problems.push({ path: 'command', message: 'a files job needs "command" (the program and its arguments, like ["gzip", "-k", "{}"]) or "module" (a JavaScript file with a function for each file)' })
  }
  if (job.command !== undefined && job.module !== undefined) {
    problems.push({ path: 'module', message: 'a files job has either "command" or "module", not both' })
  }
  if (job.export !== undefined && job.module === undefined) problems.push({ path: 'export', message: 'applies to "module" only' })
  if (job.shell && job.command === undefined) problems.push({ path: 'shell', message: 'applies to "command" only' })
  if (typeof job.command === 'string' && !job.shell) {
    problems.push({ path: 'command', message: 'one string is a shell command line: set "shell": true, or give the program and its arguments as a list like ["gzip", "-k", "{}"]' })
  }
  if (Array.isArray(job.command) && !job.shell && job.command[0] === '') problems.push({ path: 'command[0]', message: 'names the program to run; it cannot be empty' })
  problems.push(...triggerProblems(job))
  return problems.length ? { ok: false, problems } : { ok: true, job }
}

/** A problem with a job, located by a path like `steps[2].derive.total`. */
export interface JobProblem {
  path: string
  message: string
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out ? `.${String(part)}` : String(part)
  }
  return out || '(job)'
}

const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(jobSchema.shape),
  input: ['folder', 'include', 'exclude', 'format', 'delimiter', 'quote', 'encoding', 'header', 'compression', 'sheet'],
  output: ['folder', 'format', 'layout', 'name', 'delimiter', 'quoting', 'split'],
  split: ['records', 'bytes'],
  aggregate: ['by', 'values', 'maxGroups'],
  route: ['by', 'when', 'otherwise'],
  policy: ['concurrency', 'chunkSize', 'maxFailedRecords', 'maxErrorRate', 'retries', 'timeout', 'memoryLimitMb', 'maxRecordSize'],
  rule: ['type', 'required', 'min', 'max', 'pattern', 'enum'],
  script: ['module', 'export', 'adds'],
  trigger: ['cron', 'timezone', 'every', 'watch', 'settle'],
  archive: ['folder']
}

function knownKeysFor(path: readonly PropertyKey[]): readonly string[] | undefined {
  if (path.length === 0) return KNOWN_KEYS['']
  const head = path[0]
  if (path.length === 1 && typeof head === 'string') return KNOWN_KEYS[head]
  if (head === 'steps' && path[2] === 'validate' && path.length === 4) return KNOWN_KEYS.rule
  if (head === 'steps' && path[2] === 'script' && path.length === 3) return KNOWN_KEYS.script
  if (head === 'steps' && (path[2] === 'aggregate' || path[2] === 'route') && path.length === 3) return KNOWN_KEYS[path[2]]
  if (head === 'output' && path[1] === 'split' && path.length === 2) return KNOWN_KEYS.split
  if (head === 'triggers' && path.length === 2) return KNOWN_KEYS.trigger
  return undefined
}

/**
 * Parse a job of either kind, collecting every structural problem at once. The result is a union
 * discriminated by `kind`: code that handles one kind narrows at its entry point.
 */
export function parseJob(value: unknown): { ok: true; job: AnyJob } | { ok: false; problems: JobProblem[] } {
  const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined
  if (typeof kind === 'string' && !(JOB_KINDS as readonly string[]).includes(kind)) {
    const hint = closest(kind, JOB_KINDS)
    return {
      ok: false,
      problems: [{ path: 'kind', message: `unknown kind "${kind}"${hint ? `; did you mean "${hint}"?` : ''} (a job is "records": every record of CSV, JSON or Excel files through steps, or "files": a command or script for every file)` }]
    }
  }
  if (kind === 'files') return parseFilesJob(value)
  const result = jobSchema.safeParse(value)
  if (result.success) {
    const problems = crossChecks(result.data)
    return problems.length ? { ok: false, problems } : { ok: true, job: result.data }
  }
  return { ok: false, problems: issueProblems(result.error.issues, knownKeysFor) }
}

/** Zod issues as problems an analyst can read; unknown fields get a "did you mean". */
function issueProblems(issues: readonly z.core.$ZodIssue[], keysFor: (path: readonly PropertyKey[]) => readonly string[] | undefined): JobProblem[] {
  const problems: JobProblem[] = []
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = keysFor(issue.path) ?? []
      for (const key of issue.keys) {
        const hint = closest(key, known)
        problems.push({
          path: formatPath([...issue.path, key]),
          message: `unknown field "${key}"${hint ? `; did you mean "${hint}"?` : known.length ? `; known fields are ${known.join(', ')}` : ''}`
        })
      }
      continue
    }
    problems.push({ path: formatPath(issue.path), message: plainMessage(issue) })
  }
  return problems
}

function plainMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return `is required (${issue.expected})`
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}; got ${JSON.stringify(issue.input)}`
  }
  return issue.message
}

/** Checks that span several fields and need no files. */
function crossChecks(job: Job): JobProblem[] {
  const problems: JobProblem[] = []
  const dedupeAt: number[] = []
  job.steps.forEach((step, i) => {
    if ('dedupe' in step) dedupeAt.push(i)
    if ('validate' in step) {
      for (const [column, rule] of Object.entries(step.validate)) {
        if (rule.pattern !== undefined) {
          try {
            new RegExp(rule.pattern)
          } catch (e) {
            problems.push({ path: `steps[${i}].validate.${column}.pattern`, message: `not a valid pattern: ${(e as Error).message}` })
          }
        }
        const numeric = rule.type === 'integer' || rule.type === 'number'
        for (const bound of ['min', 'max'] as const) {
          const v = rule[bound]
          if (v === undefined) continue
          if (numeric && typeof v !== 'number') {
            problems.push({ path: `steps[${i}].validate.${column}.${bound}`, message: `must be a number for a ${rule.type} column` })
          }
          if (rule.type === 'date' && (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(v))) {
            problems.push({ path: `steps[${i}].validate.${column}.${bound}`, message: 'must be a date like "2024-01-31" for a date column' })
          }
          if (rule.type === 'string' || rule.type === 'boolean') {
            problems.push({ path: `steps[${i}].validate.${column}.${bound}`, message: `${bound} applies to integer, number and date columns` })
          }
        }
      }
    }
  })
  problems.push(...routeAggregateProblems(job))
  if (dedupeAt.length > 1) {
    problems.push({ path: `steps[${dedupeAt[1]}]`, message: 'a job can have one dedupe step' })
  }
  const d = dedupeAt[0]
  if (d !== undefined) {
    // Dedupe keeps the first occurrence in input order across the whole run, which is decided when
    // outputs are assembled; a later step that filters or fails records would change which record
    // "came first". Only column reshaping may follow it.
    const after = job.steps.slice(d + 1).findIndex((s) => !('select' in s || 'rename' in s || 'drop' in s))
    if (after !== -1) {
      problems.push({
        path: `steps[${d}]`,
        message: `dedupe must come after every step that can filter or reject records (move it after steps[${d + 1 + after}])`
      })
    }
  }
  problems.push(...triggerProblems(job))
  const delimiter = inputDelimiter(job)
  const quote = job.input.quote
  for (const [field, ch] of [['input.delimiter', delimiter], ['input.quote', quote], ['output.delimiter', outputDelimiter(job)]] as const) {
    if (ch === '\n' || ch === '\r') problems.push({ path: field, message: 'cannot be a line break' })
  }
  if (job.input.format !== 'jsonl' && delimiter === quote) {
    problems.push({ path: job.input.delimiter ? 'input.delimiter' : 'input.quote', message: `the delimiter and the quote must differ (both are ${JSON.stringify(quote)})` })
  }
  if (job.output.format !== 'jsonl' && outputDelimiter(job) === '"') {
    problems.push({ path: 'output.delimiter', message: 'cannot be the quote character "' })
  }
  if (job.input.format === 'jsonl' && (job.input.delimiter || !job.input.header)) {
    if (job.input.delimiter) problems.push({ path: 'input.delimiter', message: 'applies to csv and tsv input only' })
  }
  problems.push(...formatProblems(job))
  return problems
}

/** Where aggregate and route steps may stand, and what their fields must hold. */
function routeAggregateProblems(job: Job): JobProblem[] {
  const problems: JobProblem[] = []
  const at = (kind: 'route' | 'aggregate'): number[] => job.steps.flatMap((s, i) => (kind in s ? [i] : []))
  const routes = at('route')
  const aggregates = at('aggregate')
  if (routes.length > 1) problems.push({ path: `steps[${routes[1]}]`, message: 'a job can have one route step' })
  if (aggregates.length > 1) problems.push({ path: `steps[${aggregates[1]}]`, message: 'a job can have one aggregate step' })
  const a = aggregates[0]
  if (a !== undefined) {
    if (a !== job.steps.length - 1) {
      problems.push({ path: `steps[${a}]`, message: 'aggregate must be the last step: it turns the records into one row per group' })
    }
    if (job.steps.some((s) => 'dedupe' in s)) {
      problems.push({ path: `steps[${a}]`, message: 'a job cannot both remove duplicates and aggregate yet; to count different values, use "distinct(column)" in the aggregate' })
    }
    if (routes.length) problems.push({ path: `steps[${a}]`, message: 'a job cannot both route and aggregate yet; make one job for each' })
    const step = job.steps[a] as { aggregate: { by: string[]; values: Record<string, string> } }
    const names = new Set<string>()
    for (const c of step.aggregate.by) {
      if (names.has(c)) problems.push({ path: `steps[${a}].aggregate.by`, message: `"${c}" is listed twice` })
      names.add(c)
    }
    for (const [name, text] of Object.entries(step.aggregate.values)) {
      const parsed = parseAggregateValue(text)
      if ('problem' in parsed) problems.push({ path: `steps[${a}].aggregate.values.${name}`, message: parsed.problem })
      if (names.has(name)) problems.push({ path: `steps[${a}].aggregate.values.${name}`, message: `"${name}" is also a column of "by"; give the value another name` })
      names.add(name)
    }
  }
  const r = routes[0]
  if (r !== undefined) {
    const route = (job.steps[r] as { route: { by?: string; when?: Record<string, string>; otherwise?: string } }).route
    if ((route.by === undefined) === (route.when === undefined)) {
      problems.push({
        path: `steps[${r}].route`,
        message: 'needs one of "by" (an expression whose value names the output, like "country") or "when" (output names with conditions, like { "large": "total > 1000" })'
      })
    }
    if (route.otherwise !== undefined && route.when === undefined) problems.push({ path: `steps[${r}].route.otherwise`, message: 'applies to "when" only' })
    if (route.when && Object.keys(route.when).length === 0) problems.push({ path: `steps[${r}].route.when`, message: 'needs at least one output and its condition' })
    for (const name of [...Object.keys(route.when ?? {}), ...(route.otherwise !== undefined ? [route.otherwise] : [])]) {
      const problem = routeNameProblem(name)
      if (problem) problems.push({ path: `steps[${r}].route.${route.otherwise === name ? 'otherwise' : `when.${name}`}`, message: problem })
    }
  }
  const split = job.output.split
  if (split?.bytes !== undefined && (job.output.format === 'xlsx' || job.output.format === 'parquet')) {
    // Their files are written after assembly, so their size is not known while the records are split.
    const what = job.output.format === 'xlsx' ? 'a workbook' : 'a Parquet file'
    problems.push({ path: 'output.split.bytes', message: `applies to csv, tsv, jsonl and json output; split ${what} by "records"` })
  }
  return problems
}

/** Why a route's output name cannot name a folder; null when it can. */
export function routeNameProblem(name: string): string | null {
  if (/[/\\:*?"<>|\u0000-\u001f]/.test(name)) return `"${name}" names an output folder, so it cannot contain / \\ : * ? " < > |`
  if (name.trim() === '.' || name.trim() === '..' || name.trim() === '') return `"${name}" cannot name an output folder`
  if (name.length > 100) return 'is too long for a folder name (at most 100 characters)'
  return null
}

export function inputDelimiter(job: Job): string {
  return job.input.delimiter ?? (job.input.format === 'tsv' ? '\t' : ',')
}

export function outputDelimiter(job: Job): string {
  return job.output.delimiter ?? (job.output.format === 'tsv' ? '\t' : ',')
}

export function outputExtension(job: Job): string {
  return job.output.format
}

export function parseDurationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(text.trim())
  if (!m) throw new Error(`not a duration: ${text}`)
  const n = Number(m[1])
  const unit = m[2] as 'ms' | 's' | 'm' | 'h'
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]
}

export function parseSizeBytes(v: number | string): number {
  if (typeof v === 'number') return v
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)$/i.exec(v.trim())
  if (!m) throw new Error(`not a size: ${v}`)
  const unit = (m[2] as string).toLowerCase()
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1 << 20, gb: 1e9, gib: 1 << 30 }
  return Math.round(Number(m[1]) * (mult[unit] ?? 1))
}

/** Each trigger is exactly one of cron, every or watch, and its cron and time zone make sense. */
function triggerProblems(job: Pick<AnyJob, 'triggers'>): JobProblem[] {
  const problems: JobProblem[] = []
  job.triggers.forEach((t, i) => {
    const at = `triggers[${i}]`
    const kinds = (['cron', 'every', 'watch'] as const).filter((k) => t[k] !== undefined && t[k] !== false)
    if (kinds.length !== 1) {
      problems.push({
        path: at,
        message: kinds.length
          ? `a trigger is one of cron, every or watch; this one has ${kinds.join(' and ')} (make one trigger for each)`
          : 'a trigger needs one of "cron" (like "0 7 * * 1-5"), "every" (like "15m") or "watch": true'
      })
      return
    }
    if (t.timezone !== undefined) {
      if (t.cron === undefined) problems.push({ path: `${at}.timezone`, message: 'applies to cron triggers only' })
      else if (!isTimeZone(t.timezone)) problems.push({ path: `${at}.timezone`, message: `"${t.timezone}" is not a time zone; use a name like "Europe/Berlin" or "America/New_York"` })
    }
    if (t.settle !== undefined && !t.watch) problems.push({ path: `${at}.settle`, message: 'applies to watch triggers only' })
    if (t.cron !== undefined) {
      const error = cronProblem(t.cron)
      if (error) problems.push({ path: `${at}.cron`, message: error })
    }
    if (t.every !== undefined && parseDurationMs(t.every) < 1000) problems.push({ path: `${at}.every`, message: 'must be at least 1s' })
  })
  return problems
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

/** Why a cron expression is not valid, in plain words; null when it is. */
export function cronProblem(expr: string): string | null {
  const fields = expr.trim().split(/\s+/)
  if (fields.length < 5 || fields.length > 6) {
    return `"${expr}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; a cron time has 5 (minute hour day month weekday) or 6 (seconds first), like "0 7 * * 1-5"`
  }
  try {
    new Cron(expr, { paused: true })
    return null
  } catch (e) {
    return `"${expr}" is not a valid cron time (${(e as Error).message.replace(/^CronPattern: /, '')}); for example "0 7 * * 1-5" is 07:00 on weekdays`
  }
}

/** Fields that apply to some formats only, and format pairs that cannot work. */
function formatProblems(job: Job): JobProblem[] {
  const problems: JobProblem[] = []
  const { format } = job.input
  if ((format === 'json' || format === 'xlsx') && job.input.delimiter) {
    problems.push({ path: 'input.delimiter', message: 'applies to csv and tsv input only' })
  }
  if (job.input.sheet !== undefined && format !== 'xlsx') {
    problems.push({ path: 'input.sheet', message: 'applies to xlsx input only' })
  }
  if (format === 'xlsx' && job.input.compression === 'gzip') {
    problems.push({ path: 'input.compression', message: 'an xlsx workbook is compressed already; it cannot be read from a .gz file (use "auto")' })
  }
  if (format === 'xlsx' && job.input.compression === 'zip') {
    problems.push({ path: 'input.compression', message: 'an xlsx workbook is a zip file itself and is read as a workbook; workbooks inside a zip cannot be read (use "auto")' })
  }
  if ((job.output.format === 'json' || job.output.format === 'xlsx' || job.output.format === 'parquet') && job.output.delimiter) {
    problems.push({ path: 'output.delimiter', message: 'applies to csv and tsv output only' })
  }
  if (job.output.quoting !== undefined && job.output.format !== 'csv' && job.output.format !== 'tsv') {
    problems.push({ path: 'output.quoting', message: 'applies to csv and tsv output only' })
  }
  return problems
}
