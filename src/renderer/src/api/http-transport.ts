// The contract over HTTP (calls) and a WebSocket (events), for the UI served by `batchery serve`.
import type { ApiError, EventName, Events, MethodName, Params, Result, Results, Transport } from '../../../shared/api'

export type ConnectionState = 'connecting' | 'open' | 'closed'

/** Reconnect backoff: starts small so a server restart is barely noticed, capped so it keeps trying. */
const RECONNECT_MIN_MS = 500
const RECONNECT_MAX_MS = 10_000

type Listener = (payload: unknown) => void

function failure(code: ApiError['code'], message: string): Result<never> {
  return { ok: false, error: { code, message } }
}

function isResult(value: unknown): value is Result<unknown> {
  if (typeof value !== 'object' || value === null) return false
  const v = value as { ok?: unknown; error?: unknown }
  if (v.ok === true) return true
  return v.ok === false && typeof v.error === 'object' && v.error !== null
}

export class HttpTransport implements Transport {
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly stateListeners = new Set<(state: ConnectionState) => void>()
  private socket: WebSocket | null = null
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private attempt = 0
  private state: ConnectionState = 'closed'
  private everOpened = false

  constructor(private readonly token: string | null) {}

  async call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<Results[M]>> {
    let response: Response
    try {
      response = await fetch('/api/call', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(this.token ? { Authorization: `Bearer ${this.token}` } : {})
        },
        body: JSON.stringify({ method, params })
      })
    } catch {
      return failure('internal', 'Batchery cannot be reached. Check that "batchery serve" is still running, then try again.')
    }
    if (response.status === 401 || response.status === 403) {
      return failure(
        'internal',
        'Batchery did not accept this page\'s key (a new one is made each time "batchery serve" starts). Open the address it printed, which ends with ?token=…'
      )
    }
    let body: unknown
    try {
      body = await response.json()
    } catch {
      return failure('internal', `Batchery answered with something unexpected (HTTP ${response.status}). Try again.`)
    }
    if (!isResult(body)) return failure('internal', `Batchery answered with something unexpected (HTTP ${response.status}). Try again.`)
    return body as Result<Results[M]>
  }

  subscribe<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
    let set = this.listeners.get(event)
    if (!set) {
      set = new Set()
      this.listeners.set(event, set)
    }
    const l = listener as Listener
    set.add(l)
    this.ensureSocket()
    return () => {
      set.delete(l)
    }
  }

  /** Follow the event connection (for a "reconnecting" notice and to refetch after a gap). */
  onConnectionState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener)
    listener(this.state)
    return () => {
      this.stateListeners.delete(listener)
    }
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return
    this.state = state
    for (const l of this.stateListeners) l(state)
  }

  private ensureSocket(): void {
    // Without the key the server refuses the socket; retrying would only make noise.
    if (this.socket || this.retryTimer || !this.token) return
    this.connect()
  }

  private connect(): void {
    this.retryTimer = null
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws'
    const url = `${scheme}://${window.location.host}/api/events?token=${encodeURIComponent(this.token ?? '')}`
    this.setState('connecting')
    let socket: WebSocket
    try {
      socket = new WebSocket(url)
    } catch {
      this.scheduleReconnect()
      return
    }
    this.socket = socket
    socket.onopen = () => {
      this.attempt = 0
      this.everOpened = true
      this.setState('open')
    }
    socket.onmessage = (message) => {
      if (typeof message.data !== 'string') return
      let parsed: unknown
      try {
        parsed = JSON.parse(message.data)
      } catch {
        return
      }
      if (typeof parsed !== 'object' || parsed === null) return
      const { event, payload } = parsed as { event?: unknown; payload?: unknown }
      if (typeof event !== 'string') return
      const set = this.listeners.get(event)
      if (!set) return
      for (const l of [...set]) {
        try {
          l(payload)
        } catch (e) {
          // One broken listener must not stop the others from hearing the event.
          console.error(e)
        }
      }
    }
    socket.onclose = () => {
      if (this.socket === socket) this.socket = null
      this.setState('closed')
      this.scheduleReconnect()
    }
    socket.onerror = () => {
      // onclose follows and schedules the reconnect.
    }
  }

  private scheduleReconnect(): void {
    if (this.retryTimer) return
    this.attempt++
    const cap = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** (this.attempt - 1))
    const delay = cap / 2 + Math.random() * (cap / 2)
    this.retryTimer = setTimeout(() => this.connect(), delay)
  }

  /** True once the event connection has opened at least once (so a later close is a real drop). */
  get hasConnected(): boolean {
    return this.everOpened
  }
}
