// The one contract every face speaks: the renderer (over Electron IPC or over HTTP + WebSocket)
// calls methods by name and subscribes to events. Names read `domain.verb` for calls and
// `domain.pastTense` for events. Params are validated with these schemas at the dispatcher, the
// one trust boundary, whatever the transport. No Node, no DOM, no Electron here.
import { z } from 'zod'
import type { FailedRecord } from './failures'

// ---------------------------------------------------------------------------------------------
// Data shapes

export type RunStatus = 'queued' | 'running' | 'paused' | 'succeeded' | 'partial' | 'failed' | 'cancelled' | 'interrupted'

export interface Counts {
  in: number
  out: number
  filtered: number
  deduped: number
  failed: number
}

export interface JobSummary {
  name: string
  version: number
  /** The job definition as saved (absolute paths when made in the app). */
  definition: unknown
  baseDir: string
  sourceFile: string | null
  lastRun: { runId: string; status: RunStatus; startedAt: number | null; finishedAt: number | null } | null
  /** Share of finished runs that succeeded (partial counts as success with failures), 0..1; null before any. */
  successRate: number | null
  /** Durations of the latest finished runs, oldest first, in ms. */
  recentDurationsMs: number[]
  /** The job has triggers and its schedule is on. */
  scheduled: boolean
  /** Its next due time, when scheduled with a clock trigger. */
  nextDueAt: number | null
  /** Due times recorded as missed (not run) among the latest ones. */
  missedRecently: number
}

/** A job's schedule: its triggers with their next due times, recent due times and what happened to each, and the ledger. */
export interface ScheduleView {
  job: string
  /** The job's triggers are live (the scheduler runs it). */
  enabled: boolean
  triggers: { key: string; label: string; next: number[] }[]
  catchUp: 'none' | 'latest' | 'all'
  overlap: 'skip' | 'queue' | 'cancel'
  incremental: boolean
  /** Newest first. */
  dueTimes: {
    dueAt: number
    trigger: string
    /** due and waiting: not started yet; started: has a run; skipped and missed: did not run (see note). */
    status: 'due' | 'waiting' | 'started' | 'skipped' | 'missed'
    missed: boolean
    runId: string | null
    runStatus: RunStatus | null
    note: string | null
  }[]
  /** Input file versions processed by committed runs, newest first (at most 200). */
  ledger: { relPath: string; size: number; mtimeMs: number; sha256: string; runId: string; processedAt: number; archivedTo: string | null }[]
  ledgerTotal: number
}

export interface RunSummaryView {
  runId: string
  job: string
  jobVersion: number
  /** records: counts are records; files: each input file is one item (in = done + failed, shown as out). */
  kind?: 'records' | 'files'
  status: RunStatus
  createdAt: number
  startedAt: number | null
  finishedAt: number | null
  counts: Counts
  retries: number
  bytesTotal: number
  message: string | null
}

export interface PartitionView {
  idx: number
  file: string
  firstLine: number
  bytes: number
  state: 'pending' | 'committed' | 'superseded'
  attempts: number
  durationMs: number | null
  records: number | null
  failed: number | null
  lastError: string | null
}

export interface MetricPoint {
  /** Seconds since the run started. */
  second: number
  records: number
  bytes: number
  busyWorkers: number
  queued: number
  rssBytes: number
}

export interface RunDetail extends RunSummaryView {
  partitions: PartitionView[]
  metrics: MetricPoint[]
  outputs: { path: string; records: number; bytes: number; sha256: string }[]
  latencyMs: { p50: number | null; p95: number | null; p99: number | null }
  outputFolder: string
  peakRssBytes: number | null
  cpuMs: number | null
}

export interface FailureGroupView {
  code: string
  step: string
  pattern: string
  message: string
  count: number
  sampleFile: string
  sampleLine: number
  sampleRaw: string
}

export interface FailedRecordView extends FailedRecord {
  file: string
}

export interface ColumnPreview {
  name: string
  /** A guess from the sample: what a validate step would accept for every sampled value. */
  type: 'integer' | 'number' | 'boolean' | 'date' | 'string'
  empty: number
}

export interface InputPreview {
  folder: string
  files: { relPath: string; size: number }[]
  format: 'csv' | 'tsv' | 'jsonl' | 'json' | 'xlsx'
  delimiter: string
  header: boolean
  /** utf16le / utf16be: the first file is UTF-16 (Excel's "Unicode Text"), told by its byte order mark. */
  encoding: 'utf8' | 'latin1' | 'windows-1252' | 'utf16le' | 'utf16be'
  columns: ColumnPreview[]
  /** The first rows of the first file, as text. */
  rows: string[][]
  /** The first file is gzip-compressed, or a zip (what is shown is the decompressed content of its first file of the format). */
  compression?: 'gzip' | 'zip'
  /** xlsx: the first workbook's sheets, in tab order, and the one shown. */
  sheets?: string[]
  sheet?: string
}

export interface DryRunResult {
  counts: Counts
  /** The records that would be written, as objects, in order (with an aggregate step: the summary rows). */
  output: Record<string, unknown>[]
  /** With a route step: the output (a folder inside the output folder) each record of `output` goes to. */
  routes?: string[]
  failures: FailedRecordView[]
}

export interface FolderListing {
  path: string
  parent: string | null
  entries: { name: string; kind: 'folder' | 'file'; size: number }[]
}

export interface ProblemView {
  path: string
  message: string
}

// ---------------------------------------------------------------------------------------------
// Methods: the params schema and, by type, the result

const runId = z.string().min(1).max(100)
const jobName = z.string().min(1).max(100)

export const methods = {
  /** Every saved job with its last status, success rate and recent durations. */
  'jobs.list': z.object({}),
  /** One saved job. */
  'jobs.get': z.object({ name: jobName }),
  /** Check a job definition against its inputs without saving it: every problem, with its path. */
  'jobs.validate': z.object({ job: z.unknown(), baseDir: z.string().optional() }),
  /** Save a job (a new version when the definition changed); refused with its problems if invalid. */
  'jobs.save': z.object({ job: z.unknown(), baseDir: z.string().optional() }),
  /** Copy a job under a new name. */
  'jobs.duplicate': z.object({ name: jobName, newName: jobName }),
  /** Delete a job; its runs stay in history. */
  'jobs.delete': z.object({ name: jobName }),
  /** A job's schedule: next due times, recent due times and what happened to each, the ledger. */
  'jobs.schedule': z.object({ name: jobName }),
  /** Turn a job's schedule on (due times count from now) or off. */
  'jobs.setEnabled': z.object({ name: jobName, enabled: z.boolean() }),
  /** Detect format, delimiter, header and column types of a folder, and show its first rows. */
  'inputs.preview': z.object({
    folder: z.string().min(1),
    include: z.array(z.string()).optional(),
    format: z.enum(['csv', 'tsv', 'jsonl', 'json', 'xlsx']).optional(),
    delimiter: z.string().length(1).optional(),
    encoding: z.enum(['utf8', 'latin1', 'windows-1252', 'utf16le', 'utf16be']).optional(),
    header: z.boolean().optional(),
    /** xlsx: the sheet to show, by name or position (1 is the first); default the first. */
    sheet: z.union([z.string().min(1), z.number().int().min(1)]).optional(),
    compression: z.enum(['auto', 'gzip', 'zip', 'none']).optional()
  }),
  /** List a folder on this machine (the folder picker for the browser, where drops carry no path). */
  'inputs.browse': z.object({ path: z.string().optional() }),
  /** Run a job's steps over its first records without writing anything. */
  'runs.dryRun': z.object({ job: z.unknown(), baseDir: z.string().optional(), limit: z.number().int().min(1).max(10_000).default(200) }),
  /** Start a run of a saved job; returns at once with the run id. */
  'runs.start': z.object({ job: jobName }),
  /** Start a run of a saved job over these files only (files dropped onto the job). */
  'runs.startWithFiles': z.object({ job: jobName, paths: z.array(z.string().min(1).max(4096)).min(1).max(10_000) }),
  /** Start a run over only the failed records of an earlier run, with the job as it is now. */
  'runs.rerunFailed': z.object({ runId }),
  /** Stop handing out partitions; running ones finish. */
  'runs.pause': z.object({ runId }),
  /** Continue a paused run, or finish an interrupted one. */
  'runs.resume': z.object({ runId }),
  /** Stop a run for good; nothing is written. */
  'runs.cancel': z.object({ runId }),
  /** Runs, newest first, of one job or of all. */
  'runs.list': z.object({ job: jobName.optional(), limit: z.number().int().min(1).max(1000).default(100) }),
  /** One run with its partitions, per-second metrics, outputs and latency percentiles. */
  'runs.get': z.object({ runId }),
  /** Failed records grouped by error. */
  'runs.failureGroups': z.object({ runId }),
  /** A page of failed records, filtered by code and searched in message and raw text. */
  'runs.failures': z.object({
    runId,
    code: z.string().optional(),
    /** With code and pattern: the records of one failure group. */
    step: z.string().optional(),
    pattern: z.string().optional(),
    search: z.string().max(200).optional(),
    offset: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(1000).default(100)
  }),
  /** The run's log, as lines. */
  'runs.log': z.object({ runId, tail: z.number().int().min(1).max(10_000).default(500) }),
  /** Desktop app only: show the run's outputs in the system file manager (main resolves the path itself). */
  'runs.openOutputFolder': z.object({ runId })
} as const

export type MethodName = keyof typeof methods
export type Params<M extends MethodName> = z.input<(typeof methods)[M]>

export interface Results {
  'jobs.list': JobSummary[]
  'jobs.get': JobSummary
  'jobs.validate': { problems: ProblemView[]; warnings: string[]; columns: string[] | null }
  'jobs.save': JobSummary
  'jobs.duplicate': JobSummary
  'jobs.delete': { deleted: true }
  'inputs.preview': InputPreview
  'inputs.browse': FolderListing
  'runs.dryRun': DryRunResult
  'jobs.schedule': ScheduleView
  'jobs.setEnabled': ScheduleView
  'runs.start': { runId: string }
  'runs.startWithFiles': { runId: string }
  'runs.rerunFailed': { runId: string }
  'runs.pause': { runId: string; status: RunStatus }
  'runs.resume': { runId: string; status: RunStatus }
  'runs.cancel': { runId: string; status: RunStatus }
  'runs.list': RunSummaryView[]
  'runs.get': RunDetail
  'runs.failureGroups': FailureGroupView[]
  'runs.failures': { total: number; rows: FailedRecordView[] }
  'runs.log': { lines: string[] }
  'runs.openOutputFolder': { shown: string }
}

// ---------------------------------------------------------------------------------------------
// Events

export interface RunProgressEvent {
  runId: string
  job: string
  phase: 'planning' | 'running' | 'assembling'
  records: number
  bytesDone: number
  bytesTotal: number
  partitionsDone: number
  partitionsTotal: number
  failed: number
  elapsedMs: number
  recordsPerSec: number
  bytesPerSec: number
  etaMs: number | null
  busyWorkers: number
  queued: number
}

export interface Events {
  /** A run made progress; sent at most about ten times a second per run. */
  'run.progressed': RunProgressEvent
  /** A run changed state; carries the state it left. */
  'run.stateChanged': { runId: string; job: string; from: RunStatus | null; to: RunStatus; message: string | null }
  /** The list of jobs changed (saved, deleted). */
  'jobs.changed': { name: string }
  /** Desktop app only: main asks the page to show a screen (a notification was clicked). */
  navigate: { hash: string }
}
export type EventName = keyof Events

// ---------------------------------------------------------------------------------------------
// Results across process boundaries

export const ERROR_CODES = ['invalid_params', 'unknown_method', 'not_found', 'invalid_job', 'conflict', 'forbidden', 'internal'] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

export interface ApiError {
  code: ErrorCode
  /** For an analyst: what happened and what to do. */
  message: string
  /** For invalid_job and invalid_params: each problem with its path. */
  problems?: ProblemView[]
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError }

/** What a transport gives the renderer: the whole API in two functions. */
export interface Transport {
  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<Results[M]>>
  subscribe<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
}
