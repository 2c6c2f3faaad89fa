// Failed records: what a step rejected, kept durably and shown in the failure report.

/** Error codes of failed records. Small and stable: the report groups by them. */
export const FAILURE_CODES = {
  PARSE_ERROR: 'the row could not be read (broken quotes or bad JSON)',
  RECORD_TOO_LARGE: 'the row is larger than the size limit for one record',
  FIELD_COUNT: 'the row has more or fewer fields than the header',
  ENCODING_ERROR: 'the row holds bytes that are not valid in the file encoding',
  REQUIRED: 'a required value is empty',
  WRONG_TYPE: 'a value is not of the expected type',
  OUT_OF_RANGE: 'a value is below the minimum or above the maximum',
  PATTERN_MISMATCH: 'a value does not match the pattern',
  NOT_ALLOWED: 'a value is not one of the allowed values',
  EXPRESSION_ERROR: 'an expression could not be computed for the row',
  SCRIPT_ERROR: 'the script step threw an error for the row',
  FILE_UNREADABLE: 'the whole file could not be read',
  QUARANTINED: 'a part of a file kept making the worker crash and was set aside',
  UNWRITABLE: 'the record cannot be written in the output format',
  AGGREGATE_ERROR: 'a value to sum or average is not a number',
  TOO_MANY_OUTPUTS: 'the route step would send the record to more outputs than a run can write',
  // Files jobs: each failed record is one input file whose item failed.
  COMMAND_FAILED: "the file's command could not start or ended with an error (its exit code and error output are kept)",
  COMMAND_TIMEOUT: "the file's command took longer than the job's timeout and was stopped",
  OUTPUT_CONFLICT: 'the file wrote an output name that an earlier file (in input order) wrote already'
} as const
export type FailureCode = keyof typeof FAILURE_CODES

/** Raw text kept per failed record, in characters: enough to see the row, bounded for huge rows. */
export const RAW_TEXT_LIMIT_CHARS = 2000

export interface FailedRecord {
  /** 1-based physical line (CSV, JSON lines) where the record starts. */
  line: number
  /** Which step rejected it: "read" for parsing, else e.g. "validate (step 1)". */
  step: string
  code: FailureCode
  message: string
  raw: string
}

/**
 * Default limit on the size of one record (a CSV row with its quoted line breaks, or one JSON
 * line), in bytes of its text without the line end. A record is held in memory whole while it is
 * read, so without a limit one enormous row (a file that is one 1 GB line) would exhaust memory;
 * a job raises it with policy.maxRecordSize.
 */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024

/**
 * The highest limit a job may set. A record is held as one string while it is read, V8 strings
 * stop at about 512 M characters, and a worker needs several copies of a record (text, fields,
 * output) at once.
 */
export const MAX_RECORD_BYTES_CEILING = 256 * 1024 * 1024

/** A size for a message: "64 MiB", "1.5 GiB", "512 bytes" (binary units, as in the job's "64MiB"). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} byte${bytes === 1 ? '' : 's'}`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = bytes / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${v >= 100 ? Math.round(v) : Math.round(v * 10) / 10} ${units[u]}`
}

/**
 * The message of a RECORD_TOO_LARGE failure. `atLeast`: the record was skipped without being
 * kept, so `size` is a lower bound; the analyst needs its order of magnitude and the setting that
 * lets it through, not the exact byte.
 */
export function recordTooLargeMessage(size: number, limit: number, atLeast: boolean): string {
  const what = `the record is ${atLeast ? 'at least ' : ''}${formatBytes(size)} (${size.toLocaleString('en-US')} bytes), more than the ${formatBytes(limit)} allowed for one record, so it was skipped`
  let mib = 1
  while (mib * 1024 * 1024 <= size) mib *= 2
  if (mib * 1024 * 1024 > MAX_RECORD_BYTES_CEILING) {
    return `${what}; records over ${formatBytes(MAX_RECORD_BYTES_CEILING)} cannot be read at all (is a line break or a closing quote missing in the file?)`
  }
  return `${what}; if records this large are expected, raise the limit in the job with policy.maxRecordSize (for example "${mib}MiB")`
}

export function boundRaw(raw: string): string {
  return raw.length > RAW_TEXT_LIMIT_CHARS ? raw.slice(0, RAW_TEXT_LIMIT_CHARS) + ` … (${raw.length - RAW_TEXT_LIMIT_CHARS} more characters)` : raw
}
