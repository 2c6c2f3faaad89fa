// What the engine hands a worker for one partition, and what comes back. Both cross a thread
// boundary by structured clone, so they hold plain data only.
import type { FailedRecord } from './failures'
import type { Step } from './job'

export interface PipelineSpec {
  /** Identifies the job version; workers cache the compiled steps by it. */
  hash: string
  steps: Step[]
  /** Folder that relative paths in the job (script modules) resolve against. */
  baseDir: string
}

export interface PartitionTask {
  runId: string
  partitionIdx: number
  attempt: number
  pipeline: PipelineSpec
  input: {
    format: 'csv' | 'tsv' | 'jsonl' | 'json' | 'xlsx'
    delimiter: string
    quote: string
    /** utf16le / utf16be, or a UTF-16 byte order mark at the file's start: the file is one partition, read from its start (see utf16.ts). */
    encoding: 'utf8' | 'latin1' | 'windows-1252' | 'utf16le' | 'utf16be'
    /** The job's input.compression (absent: auto). A compressed file is one partition, read from its start. */
    compression?: 'auto' | 'gzip' | 'zip' | 'none'
    /** xlsx: the job's input.sheet (absent: the first sheet). */
    sheet?: string | number
    /** csv, tsv: the file starts with a header row, which the worker skips itself in a compressed file. */
    headerRow?: boolean
  }
  /** xlsx and parquet output are staged as JSON arrays of values, one per line, and written as a workbook or Parquet file at assembly. */
  output: { format: 'csv' | 'tsv' | 'jsonl' | 'json' | 'xlsx' | 'parquet'; delimiter: string; columns: string[]; quoting?: 'needed' | 'all' }
  file: string
  /** Byte range [start, end) holding whole records (unless the boundary was misplaced, see boundaryBroken). */
  start: number
  end: number
  firstLine: number
  /** The last partition of its file: a quote still open at its end is a broken record, not a misplaced boundary. */
  lastOfFile: boolean
  /**
   * Largest record the worker reads, in bytes (the job's policy.maxRecordSize); a bigger one is
   * skipped without being held and fails as RECORD_TOO_LARGE. Absent: DEFAULT_MAX_RECORD_BYTES.
   */
  maxRecordBytes?: number
  /** Column names for CSV input (from the header row or generated); null for JSON lines. */
  header: string[] | null
  stagedPath: string
  /**
   * Where to write the index of output records when the job dedupes, routes or splits its output:
   * "<byte length>\t<route as JSON or empty>\t<dedupe key or empty>" per record, in staged order.
   */
  indexPath: string | null
  /**
   * This partition alone is its output (a small file's own output): the worker writes `head` (the
   * CSV header line, or nothing) first and returns the sha256 of the whole file, which the
   * assembly then links into place as it is.
   */
  wholeOutput?: { head: string }
  /** Shared counters [records, bytes] that workers add to as they go, for live progress. */
  progress: SharedArrayBuffer
  /** A dry run: return the first `limit` records' results instead of writing anything. */
  preview?: { limit: number }
}

export interface PartitionCounts {
  in: number
  out: number
  filtered: number
  failed: number
}

export interface PartitionResult {
  counts: PartitionCounts
  failures: FailedRecord[]
  stagedBytes: number
  keysBytes: number
  bytesRead: number
  durationMs: number
  /**
   * The range ended inside a quoted field, so the planner's boundary fell inside a record (a stray
   * quote earlier in the file can do that). The output is discarded and the engine re-plans the
   * rest of the file as one partition.
   */
  boundaryBroken: boolean
  /** With wholeOutput: the sha256 of the staged file, which is the output's whole file. */
  wholeSha256?: string
  /** For a dry run: the records that would be written, with their dedupe keys (null without dedupe). */
  preview?: {
    records: Record<string, unknown>[]
    keys: (string | null)[]
    /** With a route step: the output of each record. */
    routes?: (string | null)[]
    /** With an aggregate step: the partial summary, staged form (the records are its rows). */
    partial?: string
  }
}

export const PROGRESS_SLOTS = { records: 0, bytes: 1 } as const

/** One partition's answer in a batch: its result, or the error that ended the batch there. */
export type BatchResult = PartitionResult | { error: string; code?: string }
