// The failure report as CSV, built in the page when no server link is available (the desktop
// app): every failed record, fetched page by page.
import type { FailedRecordView } from '../../../../shared/api'
import { call } from '../../api/client'

/** The biggest page runs.failures gives. */
const PAGE = 1000
export const CSV_COLUMNS = ['file', 'line', 'step', 'code', 'message', 'raw'] as const

export function csvField(value: string | number): string {
  const s = String(value)
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function failuresToCsv(rows: FailedRecordView[]): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const r of rows) lines.push([r.file, r.line, r.step, r.code, r.message, r.raw].map(csvField).join(','))
  return lines.join('\r\n') + '\r\n'
}

export async function fetchAllFailures(runId: string, onProgress?: (done: number, total: number) => void): Promise<FailedRecordView[]> {
  const all: FailedRecordView[] = []
  for (let offset = 0; ; offset += PAGE) {
    const page = await call('runs.failures', { runId, offset, limit: PAGE })
    all.push(...page.rows)
    onProgress?.(all.length, page.total)
    if (page.rows.length < PAGE || all.length >= page.total) return all
  }
}
