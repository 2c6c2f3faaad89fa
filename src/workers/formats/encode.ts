// Turning records into output text. Used by workers for staged partitions and by the engine for
// the CSV header, so both agree byte for byte.
import type { Rec } from '../../shared/expression'

export type OutputFormat = 'csv' | 'tsv' | 'jsonl' | 'json' | 'xlsx' | 'parquet'
/**
 * CSV quoting: "needed" quotes a value only when it holds the delimiter, a quote or a line break
 * (as spreadsheets write); "all" quotes every value, so an empty text ("") differs from no value.
 */
export type CsvQuoting = 'needed' | 'all'

/**
 * Whether a cell must be quoted: it holds the delimiter, a quote or a line break. One regular
 * expression for a one-character delimiter (a third faster than four includes() per value).
 */
function quoteTest(delimiter: string, quoting: CsvQuoting = 'needed'): (s: string) => boolean {
  if (quoting === 'all') return () => true
  if (delimiter.length !== 1) return (s) => s.includes(delimiter) || s.includes('"') || s.includes('\n') || s.includes('\r')
  const re = new RegExp(`[\\u${delimiter.charCodeAt(0).toString(16).padStart(4, '0')}"\\n\\r]`)
  return (s) => re.test(s)
}

function csvCell(v: unknown, needsQuotes: (s: string) => boolean): string {
  let s: string
  if (v === null || v === undefined) return ''
  if (typeof v === 'string') s = v
  else if (typeof v === 'number' || typeof v === 'boolean') s = String(v)
  else s = JSON.stringify(v)
  // Quote only when needed (unless every value is quoted), as spreadsheets do; a leading or
  // trailing space survives unquoted.
  if (needsQuotes(s)) return '"' + s.replaceAll('"', '""') + '"'
  return s
}

export function csvHeaderLine(columns: readonly string[], delimiter: string, quoting: CsvQuoting = 'needed'): string {
  const needsQuotes = quoteTest(delimiter, quoting)
  return columns.map((c) => csvCell(c, needsQuotes)).join(delimiter) + '\n'
}

/**
 * A function that encodes one record as one output line, with its line terminator. A JSON array
 * is staged as JSON lines (assembly adds the brackets and commas); xlsx and parquet are staged as
 * one JSON array of the columns' values per line, which keeps numbers and booleans typed for the
 * workbook or the Parquet columns.
 */
export function recordEncoder(format: OutputFormat, columns: readonly string[], delimiter: string, quoting: CsvQuoting = 'needed'): (rec: Rec) => string {
  if (format === 'jsonl' || format === 'json') return (rec) => JSON.stringify(rec) + '\n'
  if (format === 'xlsx') return (rec) => JSON.stringify(columns.map((c) => xlsxValue(c, Object.hasOwn(rec, c) ? rec[c] : null))) + '\n'
  if (format === 'parquet') return (rec) => JSON.stringify(columns.map((c) => parquetValue(Object.hasOwn(rec, c) ? rec[c] : null))) + '\n'
  const needsQuotes = quoteTest(delimiter, quoting)
  return (rec) => {
    let line = ''
    for (let i = 0; i < columns.length; i++) {
      if (i) line += delimiter
      const c = columns[i] as string
      line += csvCell(Object.hasOwn(rec, c) ? rec[c] : null, needsQuotes)
    }
    return line + '\n'
  }
}

const XML_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f]/

/** The most characters an Excel cell holds. */
export const XLSX_MAX_CELL_CHARS = 32_767

/** A value as an xlsx cell takes it: text, a number, true/false, or empty (null); anything else as JSON text. */
function xlsxValue(column: string, v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'boolean') return v
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v)
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  if (s.length > XLSX_MAX_CELL_CHARS) {
    throw new Error(`the value of column "${column}" has ${s.length.toLocaleString('en-US')} characters; an Excel cell holds at most 32,767`)
  }
  // A workbook is XML, which has no place for these; they would be dropped silently.
  if (XML_CONTROL.test(s)) throw new Error(`the value of column "${column}" holds control characters, which an Excel cell cannot store`)
  return s
}

/**
 * A value as a Parquet column takes it: text, a number, true/false, or null. A Parquet string
 * holds any text a record can (any length, any character), so unlike a workbook cell nothing is
 * refused here.
 * NaN and Infinity have no JSON form, so they are staged as text (as CSV writes them), and
 * objects and lists as their JSON text.
 */
function parquetValue(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'boolean' || typeof v === 'string') return v
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v)
  return JSON.stringify(v)
}
