// Loading a job file and checking it against its inputs: every problem at once, each with its
// path in the job and a suggestion where one exists. No run starts while a problem remains.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { columnsAfter, unionColumns } from '../../shared/columns'
import { compileExpression, ExpressionSyntaxError } from '../../shared/expression'
import { isObjectInput, needsColumns } from '../../shared/formats'
import { parseAggregateValue, parseJob, type AnyJob, type FilesJob, type Job, type JobProblem } from '../../shared/job'
import { closest } from '../../shared/suggest'
import { listInputFiles, type InputFile } from './inputs'
import { resolveIn } from './paths'
import { readInputHeader } from './plan-formats'
import { checkFilesJob } from './files-check'

interface LoadedJobOf<J extends AnyJob> {
  job: J
  /** Folder that relative paths in the job resolve against: the job file's folder. */
  baseDir: string
  sourceFile: string | null
  /** Canonical JSON of the parsed job (defaults filled in), as stored with the job version. */
  definition: string
  /** Identity of this job version: the definition and where it runs. */
  hash: string
}

/**
 * A parsed job with where it came from: a union by kind. Code for one kind narrows at its entry
 * point with isFilesJob (records-only code takes LoadedRecordsJob).
 */
export type LoadedJob<J extends AnyJob = AnyJob> = J extends AnyJob ? LoadedJobOf<J> : never
export type LoadedRecordsJob = LoadedJob<Job>
export type LoadedFilesJob = LoadedJob<FilesJob>

export function isFilesJob(loaded: LoadedJob): loaded is LoadedFilesJob {
  return loaded.job.kind === 'files'
}

export class InvalidJobError extends Error {
  constructor(
    readonly file: string | null,
    readonly problems: JobProblem[]
  ) {
    super(`${file ?? 'The job'} has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n` + problems.map((p) => `  ${p.path}: ${p.message}`).join('\n'))
  }
}

export function loadJobFile(file: string): LoadedJob {
  const abs = resolve(file)
  let text: string
  try {
    text = readFileSync(abs, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new InvalidJobError(abs, [{ path: '(file)', message: code === 'ENOENT' ? 'the job file does not exist' : `the job file cannot be read (${code ?? (e as Error).message})` }])
  }
  let value: unknown
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch (e) {
    throw new InvalidJobError(abs, [{ path: '(file)', message: `not valid JSON: ${jsonErrorWithLine(text, e as Error)}` }])
  }
  return loadJob(value, dirname(abs), abs)
}

export function loadJob(value: unknown, baseDir: string, sourceFile: string | null): LoadedJob {
  const parsed = parseJob(value)
  if (!parsed.ok) throw new InvalidJobError(sourceFile, parsed.problems)
  const definition = JSON.stringify(parsed.job)
  const hash = createHash('sha256').update(JSON.stringify({ definition, baseDir })).digest('hex').slice(0, 32)
  return { job: parsed.job, baseDir, sourceFile, definition, hash } as LoadedJob
}

function jsonErrorWithLine(text: string, e: Error): string {
  const m = /position (\d+)/.exec(e.message)
  if (!m) return e.message
  const pos = Number(m[1])
  const before = text.slice(0, pos)
  const line = before.split('\n').length
  const col = pos - before.lastIndexOf('\n')
  return `${e.message.replace(/ in JSON at position \d+.*$/, '')} at line ${line}, column ${col}`
}

export interface CheckResult {
  problems: JobProblem[]
  warnings: string[]
  files: InputFile[]
}

/** Load and fully check a job file; throws InvalidJobError listing every problem. */
export function checkJobFile(file: string): { loaded: LoadedJob; warnings: string[] } {
  const loaded = loadJobFile(file)
  const result = checkJob(loaded)
  if (result.problems.length) throw new InvalidJobError(loaded.sourceFile, result.problems)
  return { loaded, warnings: result.warnings }
}

/** How many input headers the check reads to know the columns; the run reads every file's own. */
const HEADER_SAMPLE_FILES = 50

/**
 * The checks every kind of job shares: the input folder exists and is a folder, the output folder
 * is not the input folder, and some file matches. Returns the input files.
 */
export function checkFolders(loaded: LoadedJob, problems: JobProblem[], warnings: string[]): { inputDir: string; outputDir: string; files: InputFile[] } {
  const { job, baseDir } = loaded
  const inputDir = resolveIn(baseDir, job.input.folder)
  const outputDir = resolveIn(baseDir, job.output.folder)
  if (outputDir === inputDir) {
    problems.push({ path: 'output.folder', message: 'is the input folder: outputs need a folder of their own (a subfolder such as "out" works)' })
  }
  let files: InputFile[] = []
  if (!existsSync(inputDir)) {
    problems.push({ path: 'input.folder', message: `the input folder ${inputDir} does not exist` })
  } else if (!statSync(inputDir).isDirectory()) {
    problems.push({ path: 'input.folder', message: `${inputDir} is a file, not a folder` })
  } else {
    files = listInputFiles(job, baseDir)
    if (files.length === 0) warnings.push(`No file in ${inputDir} matches ${job.input.include.join(', ')}: the run will have nothing to do.`)
  }
  return { inputDir, outputDir, files }
}

/** Check a structurally valid job against its input folder: folder, files, columns, expressions, scripts. */
export function checkJob(loaded: LoadedJob): CheckResult {
  if (isFilesJob(loaded)) return checkFilesJob(loaded)
  const { job, baseDir } = loaded
  const problems: JobProblem[] = []
  const warnings: string[] = []
  const { files } = checkFolders(loaded, problems, warnings)

  let header: string[] | null = null
  if (!isObjectInput(job.input.format) && job.input.header && files.length) {
    const headers: string[][] = []
    for (const f of files.slice(0, HEADER_SAMPLE_FILES)) {
      const h = readInputHeader(f.path, job)
      if (h.ok) headers.push(h.columns)
    }
    if (headers.length) header = unionColumns(headers)
  }
  checkSteps(job, header, baseDir, problems)
  if (needsColumns(job.output.format)) {
    if (isObjectInput(job.input.format) && !job.steps.some((s) => 'select' in s)) {
      const out = job.output.format === 'xlsx' ? 'Excel' : job.output.format === 'parquet' ? 'Parquet' : job.output.format.toUpperCase()
      const from = job.input.format === 'json' ? 'JSON arrays' : 'JSON lines'
      problems.push({ path: 'output.format', message: `${out} output from ${from} needs the list of columns: add a select step naming them, in order` })
    }
    const script = job.steps.findIndex((s) => 'script' in s && (typeof s.script === 'string' || !s.script.adds))
    if (script !== -1 && !job.steps.slice(script).some((s) => 'select' in s)) {
      warnings.push(`CSV output holds the columns known before steps[${script}] (script) plus any it declares in "adds"; other fields the script sets are not written.`)
    }
  }
  return { problems, warnings, files }
}

/** Walk the steps with the columns known at each point (null: unknown, e.g. JSON lines input). */
function checkSteps(job: Job, header: string[] | null, baseDir: string, problems: JobProblem[]): void {
  let known: string[] | null = header
  const unknownColumn = (path: string, name: string): void => {
    if (known === null || known.includes(name)) return
    const hint = closest(name, known)
    problems.push({ path, message: `unknown column "${name}"${hint ? `; did you mean "${hint}"?` : `; the columns are ${known.join(', ')}`}` })
  }
  const expression = (path: string, source: string): void => {
    try {
      const expr = compileExpression(source)
      for (const c of expr.columns) unknownColumn(path, c)
    } catch (e) {
      if (e instanceof ExpressionSyntaxError) {
        problems.push({ path, message: e.position !== undefined ? `${e.message} (at character ${e.position + 1})` : e.message })
      } else throw e
    }
  }
  job.steps.forEach((step, i) => {
    const at = `steps[${i}]`
    if ('validate' in step) for (const column of Object.keys(step.validate)) unknownColumn(`${at}.validate.${column}`, column)
    else if ('filter' in step) expression(`${at}.filter`, step.filter)
    else if ('derive' in step) {
      for (const [column, source] of Object.entries(step.derive)) {
        expression(`${at}.derive.${column}`, source)
        // Later derived columns may use earlier ones.
        if (known && !known.includes(column)) known = [...known, column]
      }
    } else if ('select' in step) step.select.forEach((c, j) => unknownColumn(`${at}.select[${j}]`, c))
    else if ('drop' in step) step.drop.forEach((c, j) => unknownColumn(`${at}.drop[${j}]`, c))
    else if ('dedupe' in step) step.dedupe.forEach((c, j) => unknownColumn(`${at}.dedupe[${j}]`, c))
    else if ('rename' in step) for (const from of Object.keys(step.rename)) unknownColumn(`${at}.rename.${from}`, from)
    else if ('route' in step) {
      if (step.route.by !== undefined) expression(`${at}.route.by`, step.route.by)
      for (const [name, source] of Object.entries(step.route.when ?? {})) expression(`${at}.route.when.${name}`, source)
    } else if ('aggregate' in step) {
      step.aggregate.by.forEach((c, j) => unknownColumn(`${at}.aggregate.by[${j}]`, c))
      for (const [name, text] of Object.entries(step.aggregate.values)) {
        const v = parseAggregateValue(text)
        if (!('problem' in v) && v.column !== null) unknownColumn(`${at}.aggregate.values.${name}`, v.column)
      }
    }
    else if ('script' in step) {
      const module = typeof step.script === 'string' ? step.script : step.script.module
      const file = resolveIn(baseDir, module)
      if (!existsSync(file)) problems.push({ path: `${at}.script`, message: `the script file ${file} does not exist` })
    }
    if (known) known = columnsAfter(known, [step]).open ? null : columnsAfter(known, [step]).columns
  })
}
