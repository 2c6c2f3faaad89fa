// The typed client every screen uses: call a method by name and get its value, or an
// ApiCallError carrying the engine's plain-language error.
import type { ApiError, EventName, Events, MethodName, Params, ProblemView, Results } from '../../../shared/api'
import { getTransport } from './transport'

export class ApiCallError extends Error {
  readonly error: ApiError

  constructor(error: ApiError, options?: { cause?: unknown }) {
    super(error.message, options)
    this.name = 'ApiCallError'
    this.error = error
  }

  get code(): ApiError['code'] {
    return this.error.code
  }

  get problems(): ProblemView[] {
    return this.error.problems ?? []
  }
}

export async function call<M extends MethodName>(method: M, params: Params<M>): Promise<Results[M]> {
  let result
  try {
    result = await getTransport().call(method, params)
  } catch (e) {
    throw new ApiCallError({ code: 'internal', message: 'Batchery could not be reached. Try again in a moment.' }, { cause: e })
  }
  if (result.ok) return result.value
  throw new ApiCallError(result.error)
}

export function subscribe<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
  return getTransport().subscribe(event, listener)
}

/** The plain message and problems of anything thrown, for showing to an analyst. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiCallError) return e.error
  return { code: 'internal', message: 'Something went wrong. Try again; if it keeps happening, restart Batchery.' }
}
