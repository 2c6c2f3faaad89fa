// Names of the outputs a route step makes. Each is a folder inside the job's output folder, so a
// value from the data ("DE", "n/a", "", null) becomes a name every file system accepts, the same
// way on every computer.

/** Characters no folder name may hold on Windows, macOS or Linux. */
const FORBIDDEN = /[/\\:*?"<>|\u0000-\u001f\u007f]/g
const RESERVED_WINDOWS = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i
const MAX_CHARS = 100

/** The folder name for a route value: blank values go to "(blank)", unsafe characters become "_". */
export function routeFolderName(value: unknown): string {
  if (value === null || value === undefined) return '(blank)'
  let s = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value)
  s = s.replace(FORBIDDEN, '_').trim()
  // Windows drops trailing dots and spaces from names, which would merge "a." with "a".
  s = s.replace(/[. ]+$/, (m) => '_'.repeat(m.length))
  if (s === '') return '(blank)'
  if (RESERVED_WINDOWS.test(s)) s = `_${s}`
  if (s.length > MAX_CHARS) s = s.slice(0, MAX_CHARS)
  return s
}
