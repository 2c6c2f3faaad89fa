// The job file: one schema, used by every face (CLI, engine, UI). A job is JSON; relative paths in
// it resolve against the folder of the job file.
//
// Structural checks live here (zod). Checks that need the input files (does column "amout" exist?)
// live in the engine's job checker, which reports problems in the same shape.
import { z } from 'zod'
import { closest } from './suggest'

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

export const STEP_KINDS = ['validate', 'filter', 'derive', 'select', 'rename', 'drop', 'dedupe', 'script'] as const
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

const stepSchemas = {
  validate: z.record(z.string().min(1), validateRuleSchema),
  filter: z.string().min(1),
  derive: z.record(z.string().min(1), z.string().min(1)),
  select: columnList,
  rename: z.record(z.string().min(1), z.string().min(1)),
  drop: columnList,
  dedupe: columnList,
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

export const INPUT_FORMATS = ['csv', 'tsv', 'jsonl'] as const
export const OUTPUT_FORMATS = ['csv', 'tsv', 'jsonl'] as const
export const ENCODINGS = ['utf8', 'latin1', 'windows-1252'] as const

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
    encoding: z.preprocess((v) => (v === 'utf-8' ? 'utf8' : v), z.enum(ENCODINGS)).default('utf8'),
    /** CSV: the first row names the columns. Without a header, columns are named column1, column2... */
    header: z.boolean().default(true)
  }),
  steps: z.array(stepSchema).default([]),
  output: z.strictObject({
    folder: z.string().min(1),
    format: z.enum(OUTPUT_FORMATS),
    layout: z.enum(['per-input', 'merged']).default('per-input'),
    /** File name (without extension) of the merged output; default: the job name. */
    name: z.string().min(1).optional(),
    delimiter: z.string().length(1).optional()
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
      memoryLimitMb: z.number().int().min(64).optional()
    })
    .default({ retries: 2, timeout: '30m' })
})

export type Job = z.infer<typeof jobSchema>
export type JobInput = z.input<typeof jobSchema>

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
  input: ['folder', 'include', 'exclude', 'format', 'delimiter', 'quote', 'encoding', 'header'],
  output: ['folder', 'format', 'layout', 'name', 'delimiter'],
  policy: ['concurrency', 'chunkSize', 'maxFailedRecords', 'maxErrorRate', 'retries', 'timeout', 'memoryLimitMb'],
  rule: ['type', 'required', 'min', 'max', 'pattern', 'enum'],
  script: ['module', 'export', 'adds']
}

function knownKeysFor(path: readonly PropertyKey[]): readonly string[] | undefined {
  if (path.length === 0) return KNOWN_KEYS['']
  const head = path[0]
  if (path.length === 1 && typeof head === 'string') return KNOWN_KEYS[head]
  if (head === 'steps' && path[2] === 'validate' && path.length === 4) return KNOWN_KEYS.rule
  if (head === 'steps' && path[2] === 'script' && path.length === 3) return KNOWN_KEYS.script
  return undefined
}

/** Parse a job, collecting every structural problem at once. */
export function parseJob(value: unknown): { ok: true; job: Job } | { ok: false; problems: JobProblem[] } {
  const result = jobSchema.safeParse(value)
  if (result.success) {
    const problems = crossChecks(result.data)
    return problems.length ? { ok: false, problems } : { ok: true, job: result.data }
  }
  const problems: JobProblem[] = []
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysFor(issue.path) ?? []
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
  return { ok: false, problems }
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
  return problems
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
