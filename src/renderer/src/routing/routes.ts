// The screens and their addresses: #/jobs, #/jobs/new, #/jobs/<name>, #/jobs/<name>/edit,
// #/runs/<runId>, #/runs/<runId>/failures. Pure: parse and format, no DOM.

export type Route =
  | { screen: 'jobs' }
  | { screen: 'job-new' }
  | { screen: 'job-edit'; name: string }
  | { screen: 'job-history'; name: string }
  | { screen: 'run'; runId: string }
  | { screen: 'failures'; runId: string }
  | { screen: 'not-found'; hash: string }

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part)
  } catch {
    return null
  }
}

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/^\/+/, '').replace(/\/+$/, '')
  if (path === '' || path === 'jobs') return { screen: 'jobs' }
  const parts = path.split('/').map(decode)
  if (parts.some((p) => p === null || p === '')) return { screen: 'not-found', hash }
  const [head, id, tail, ...rest] = parts as string[]
  if (rest.length) return { screen: 'not-found', hash }
  if (head === 'jobs' && id !== undefined) {
    if (id === 'new' && tail === undefined) return { screen: 'job-new' }
    if (tail === undefined) return { screen: 'job-history', name: id }
    if (tail === 'edit') return { screen: 'job-edit', name: id }
  }
  if (head === 'runs' && id !== undefined) {
    if (tail === undefined) return { screen: 'run', runId: id }
    if (tail === 'failures') return { screen: 'failures', runId: id }
  }
  return { screen: 'not-found', hash }
}

export const href = {
  jobs: (): string => '#/jobs',
  newJob: (): string => '#/jobs/new',
  job: (name: string): string => `#/jobs/${encodeURIComponent(name)}`,
  editJob: (name: string): string => `#/jobs/${encodeURIComponent(name)}/edit`,
  run: (runId: string): string => `#/runs/${encodeURIComponent(runId)}`,
  failures: (runId: string): string => `#/runs/${encodeURIComponent(runId)}/failures`
}

export function navigate(to: string): void {
  if (window.location.hash === to) return
  window.location.hash = to
}
