// Failed records: what a step rejected, kept durably and shown in the failure report.

/** Error codes of failed records. Small and stable: the report groups by them. */
export const FAILURE_CODES = {
  PARSE_ERROR: 'the row could not be read (broken quotes or bad JSON)',
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
  UNWRITABLE: 'the record cannot be written in the output format'
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

export function boundRaw(raw: string): string {
  return raw.length > RAW_TEXT_LIMIT_CHARS ? raw.slice(0, RAW_TEXT_LIMIT_CHARS) + ` … (${raw.length - RAW_TEXT_LIMIT_CHARS} more characters)` : raw
}
