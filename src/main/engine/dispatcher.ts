// The one trust boundary: every call, from IPC or HTTP, is looked up and its params validated
// with the contract's schema here, and nothing throws across: errors become Result errors in
// plain words.
import type { z } from 'zod'
import { methods, type ApiError, type EventName, type Events, type MethodName, type Result } from '../../shared/api'
import { formatPath } from '../../shared/job'
import { ConflictError, Engine, JobNotFoundError, NotResumableError, RunNotFoundError } from './engine'
import { createHandlers } from './handlers'
import { InvalidJobError } from './job-check'
import type { Logger } from './log'

export interface Dispatcher {
  call(method: string, params: unknown): Promise<Result<unknown>>
  subscribe<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
}

function isMethod(name: string): name is MethodName {
  return Object.hasOwn(methods, name)
}

export function toApiError(e: unknown): ApiError {
  if (e instanceof InvalidJobError) {
    return { code: 'invalid_job', message: e.problems.length === 1 ? `${e.problems[0]?.path}: ${e.problems[0]?.message}` : `The job has ${e.problems.length} problems.`, problems: e.problems }
  }
  if (e instanceof RunNotFoundError || e instanceof JobNotFoundError) return { code: 'not_found', message: e.message }
  if (e instanceof NotResumableError || e instanceof ConflictError) return { code: 'conflict', message: e.message }
  const code = (e as NodeJS.ErrnoException)?.code
  if (code === 'ENOENT') return { code: 'not_found', message: `Not found: ${(e as NodeJS.ErrnoException).path ?? ''}`.trim() }
  if (code === 'EACCES' || code === 'EPERM') return { code: 'internal', message: `Batchery is not allowed to read ${(e as NodeJS.ErrnoException).path ?? 'that'} (permission denied).` }
  return { code: 'internal', message: 'Something went wrong inside Batchery; the details are in its log.' }
}

export function createDispatcher(engine: Engine, log?: Logger): Dispatcher {
  const handlers = createHandlers(engine)
  return {
    async call(method, params) {
      if (!isMethod(method)) return { ok: false, error: { code: 'unknown_method', message: `Unknown request "${method}".` } }
      const schema = methods[method] as z.ZodType
      const parsed = schema.safeParse(params ?? {})
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }))
        return { ok: false, error: { code: 'invalid_params', message: `The request ${method} is malformed.`, problems } }
      }
      try {
        const handler = handlers[method] as (p: unknown) => unknown
        return { ok: true, value: await handler(parsed.data) }
      } catch (e) {
        const error = toApiError(e)
        if (error.code === 'internal') log?.error('request failed', { method, error: (e as Error)?.message, stack: (e as Error)?.stack })
        return { ok: false, error }
      }
    },
    subscribe(event, listener) {
      return engine.on(event, listener)
    }
  }
}
