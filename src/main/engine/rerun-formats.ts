// Re-running failed records of workbooks, JSON arrays and compressed files. Failed records keep
// their raw text, which for these inputs cannot be written back in the input's own format: a
// sheet row's raw text is the record as a JSON object, an array element's is its JSON text, and a
// compressed file's rows are decompressed text. So the re-run reads them as JSON lines (or as
// plain text), with a select step where a workbook's columns must be named for the output.
import { columnsAfter, unionColumns } from '../../shared/columns'
import { needsColumns } from '../../shared/formats'
import type { Job, Step } from '../../shared/job'

/** The file of failed records to re-run, for inputs whose raw text is not in their own format; else null. */
export function rerunFileText(job: Job, raws: string[]): string | null {
  // An element may span lines; JSON needs no line break outside its strings.
  if (job.input.format === 'json') return raws.map((r) => r.replace(/[\r\n]+\s*/g, ' ')).join('\n') + '\n'
  if (job.input.format === 'xlsx') return raws.join('\n') + '\n'
  return null
}

/** How the re-run's job reads those files: input settings and steps. */
export function rerunJobParts(job: Job, headers: string[][]): { input: Job['input']; steps: Step[] } {
  // Re-run files are written as plain text under the input's names (orders.csv.gz too).
  const input: Job['input'] = { ...job.input, compression: 'none' }
  if (job.input.format === 'json') return { input: { ...input, format: 'jsonl' }, steps: job.steps }
  if (job.input.format === 'xlsx') {
    const { sheet: _sheet, ...rest } = input
    const steps =
      // An aggregate names its own columns (and must stay the last step).
      needsColumns(job.output.format) && !job.steps.some((s) => 'select' in s || 'aggregate' in s)
        ? [...job.steps, { select: columnsAfter(unionColumns(headers), job.steps).columns }]
        : job.steps
    return { input: { ...rest, format: 'jsonl', header: true }, steps }
  }
  return { input, steps: job.steps }
}
