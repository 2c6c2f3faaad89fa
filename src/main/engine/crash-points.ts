// Named crash points for the tests that kill a run at exact moments (kill -9 semantics: no
// cleanup runs). Inert unless BATCHERY_CRASH_AT names a point, as "<point>" or "<point>:<n>"
// (the n-th time the point is reached).
const counts = new Map<string, number>()

export function crashPoint(name: string): void {
  const spec = process.env.BATCHERY_CRASH_AT
  if (!spec) return
  const [point, nth] = spec.split(':')
  if (point !== name) return
  const n = (counts.get(name) ?? 0) + 1
  counts.set(name, n)
  if (n === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL')
}
