// Job files: export a saved definition, read one the user picked.
import { downloadText, safeFileName } from '../../components/download'

export function exportJob(name: string, definition: unknown): void {
  downloadText(`${safeFileName(name)}.json`, JSON.stringify(definition, null, 2) + '\n', 'application/json')
}

export type ReadJobFile = { ok: true; job: Record<string, unknown>; name: string | null } | { ok: false; message: string }

/** Parse a picked job file; only the JSON shape is checked here, the engine checks the rest. */
export async function readJobFile(file: File): Promise<ReadJobFile> {
  const MAX_BYTES = 5_000_000
  if (file.size > MAX_BYTES) return { ok: false, message: `${file.name} is too big to be a job file.` }
  let parsed: unknown
  try {
    parsed = JSON.parse(await file.text())
  } catch {
    return { ok: false, message: `${file.name} is not a job file: it is not valid JSON.` }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, message: `${file.name} is not a job file: a job file holds one JSON object with a name, input, steps and output.` }
  }
  const job = parsed as Record<string, unknown>
  return { ok: true, job, name: typeof job.name === 'string' ? job.name : null }
}

/** "orders copy", "orders copy 2"... the first name not taken. */
export function copyName(name: string, taken: ReadonlySet<string>): string {
  const base = `${name} copy`
  if (!taken.has(base)) return base
  for (let i = 2; ; i++) if (!taken.has(`${base} ${i}`)) return `${base} ${i}`
}
