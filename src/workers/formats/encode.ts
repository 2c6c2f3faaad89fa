// Turning records into output text. Used by workers for staged partitions and by the engine for
// the CSV header, so both agree byte for byte.
import type { Rec } from '../../shared/expression'

export type OutputFormat = 'csv' | 'tsv' | 'jsonl'

function csvCell(v: unknown, delimiter: string): string {
  let s: string
  if (v === null || v === undefined) return ''
  if (typeof v === 'string') s = v
  else if (typeof v === 'number' || typeof v === 'boolean') s = String(v)
  else s = JSON.stringify(v)
  // Quote only when needed, as spreadsheets do; a leading or trailing space survives unquoted.
  if (s.includes(delimiter) || s.includes('"') || s.includes('\n') || s.includes('\r')) {
    return '"' + s.replaceAll('"', '""') + '"'
  }
  return s
}

export function csvHeaderLine(columns: readonly string[], delimiter: string): string {
  return columns.map((c) => csvCell(c, delimiter)).join(delimiter) + '\n'
}

/** A function that encodes one record as one output line, with its line terminator. */
export function recordEncoder(format: OutputFormat, columns: readonly string[], delimiter: string): (rec: Rec) => string {
  if (format === 'jsonl') return (rec) => JSON.stringify(rec) + '\n'
  return (rec) => {
    let line = ''
    for (let i = 0; i < columns.length; i++) {
      if (i) line += delimiter
      const c = columns[i] as string
      line += csvCell(Object.hasOwn(rec, c) ? rec[c] : null, delimiter)
    }
    return line + '\n'
  }
}
