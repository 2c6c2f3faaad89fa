// Supervises the engine process: forwards calls and correlates results by id, re-emits events,
// and restarts the process with backoff when it dies, giving up with a visible error after
// repeated fast crashes. Plain Node: the process comes from an injected fork(), so tests drive
// it with a fake child (an EventEmitter with postMessage and kill).
//
// The protocol over the engine host's parentPort:
//   parent -> child  { type: 'call', id, method, params }, { type: 'shutdown' } (stop runs, exit)
//   child -> parent  { type: 'ready' } once at start, { type: 'result', id, result },
//                    { type: 'event', event, payload }, { type: 'fatal', message }
import type { ApiError, EventName, Result } from '../../shared/api'
import type { Logger } from '../engine/log'

export type ParentMessage = { type: 'call'; id: number; method: string; params: unknown } | { type: 'shutdown' }

/** The part of an Electron UtilityProcess the supervisor uses. */
export interface EngineChild {
  postMessage(message: ParentMessage): void
  kill(): boolean
  on(event: 'message', listener: (message: unknown) => void): unknown
  on(event: 'exit', listener: (code: number) => void): unknown
}

export type EngineState = 'idle' | 'starting' | 'ready' | 'restarting' | 'failed' | 'stopping' | 'stopped'

export interface EngineStatus {
  state: EngineState
  /** For 'restarting' and 'failed': what happened, in plain words. */
  message: string | null
}

export interface RestartPolicy {
  /** The first restart waits this long; each fast crash in a row doubles it. */
  baseDelayMs: number
  maxDelayMs: number
  /** After this many fast crashes in a row the supervisor stops restarting and reports failure. */
  maxFastCrashes: number
  /** A process that ran this long after becoming ready was healthy: its crash starts a new count. */
  stableAfterMs: number
  /** A process that has not said 'ready' by then is treated as crashed (opening and migrating the database included). */
  startTimeoutMs: number
  /** How long stop() lets the engine stop its runs and exit by itself before killing it. */
  shutdownTimeoutMs: number
  /** How long stop() then waits for the killed process to exit before giving up on it. */
  killTimeoutMs: number
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxFastCrashes: 5,
  stableAfterMs: 60_000,
  startTimeoutMs: 60_000,
  // Runs left by a kill are marked interrupted at the next start and resume, so quitting never
  // waits long for partitions in flight.
  shutdownTimeoutMs: 10_000,
  killTimeoutMs: 3_000
}

/** The wait before restart number `crashesInARow` (1-based): base, 2x, 4x... capped. */
export function restartDelay(crashesInARow: number, policy: Pick<RestartPolicy, 'baseDelayMs' | 'maxDelayMs'> = DEFAULT_RESTART_POLICY): number {
  const n = Math.max(1, Math.floor(crashesInARow))
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(n - 1, 30))
}

export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>)
}

export const ENGINE_RESTARTING: ApiError = { code: 'internal', message: 'The engine stopped unexpectedly and is restarting; try again.' }
export const ENGINE_QUITTING: ApiError = { code: 'internal', message: 'Batchery is quitting.' }

export interface SupervisorOptions {
  fork: () => EngineChild
  onEvent: (event: EventName, payload: unknown) => void
  onStatus?: (status: EngineStatus) => void
  policy?: Partial<RestartPolicy>
  clock?: Clock
  log?: Pick<Logger, 'info' | 'warn' | 'error'>
}

type Resolve = (result: Result<unknown>) => void

interface QueuedCall {
  id: number
  method: string
  params: unknown
  resolve: Resolve
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null
}

function isResult(v: unknown): v is Result<unknown> {
  if (!isObject(v)) return false
  if (v.ok === true) return 'value' in v
  return v.ok === false && isObject(v.error) && typeof v.error.code === 'string' && typeof v.error.message === 'string'
}

export class EngineSupervisor {
  private readonly policy: RestartPolicy
  private readonly clock: Clock
  private state: EngineState = 'idle'
  private child: EngineChild | null = null
  private nextId = 0
  /** Calls sent to the current process, waiting for their result. */
  private readonly pending = new Map<number, Resolve>()
  /** Calls made while no process was ready; sent when one is. */
  private queue: QueuedCall[] = []
  private readyAt: number | null = null
  private fastCrashes = 0
  private lastReason: string | null = null
  private failure: string | null = null
  private timer: unknown = null
  private stopWaiters: (() => void)[] = []

  constructor(private readonly opts: SupervisorOptions) {
    this.policy = { ...DEFAULT_RESTART_POLICY, ...opts.policy }
    this.clock = opts.clock ?? realClock
  }

  get status(): EngineStatus {
    return { state: this.state, message: this.state === 'failed' ? this.failure : this.state === 'restarting' ? this.lastReason : null }
  }

  /** Starts the engine process. */
  start(): void {
    if (this.state !== 'idle') return
    this.spawn()
  }

  /** After the supervisor gave up: try again from a clean count (the user asked to). */
  restart(): void {
    if (this.state !== 'failed') return
    this.fastCrashes = 0
    this.failure = null
    this.lastReason = null
    this.spawn()
  }

  /**
   * Calls a method in the engine. Never rejects: a call waits while the process starts or
   * restarts, and resolves with an error if the process dies while handling it.
   */
  call(method: string, params: unknown): Promise<Result<unknown>> {
    return new Promise((resolve) => {
      if (this.state === 'failed') return resolve({ ok: false, error: this.unavailable() })
      if (this.state === 'stopping' || this.state === 'stopped') return resolve({ ok: false, error: ENGINE_QUITTING })
      const call: QueuedCall = { id: ++this.nextId, method, params, resolve }
      if (this.state === 'ready' && this.child) this.send(this.child, call)
      else this.queue.push(call)
    })
  }

  /**
   * Stops the process for good (the app is quitting): asks the engine to stop its runs and exit,
   * kills it if it has not after shutdownTimeoutMs, and resolves once it exited (or, if even the
   * kill goes unanswered, after killTimeoutMs more).
   */
  stop(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve()
    const done = new Promise<void>((resolve) => this.stopWaiters.push(resolve))
    if (this.state === 'stopping') return done
    const wasReady = this.state === 'ready'
    this.setState('stopping')
    this.clearTimer()
    this.failAll(ENGINE_QUITTING)
    const child = this.child
    if (!child) {
      this.finishStop()
      return done
    }
    const kill = (why: string): void => {
      this.opts.log?.warn(`killing the engine: ${why}`)
      this.killQuietly(child)
      this.timer = this.clock.setTimeout(() => {
        this.opts.log?.warn('engine did not exit after being killed; leaving it', { waitedMs: this.policy.killTimeoutMs })
        this.child = null
        this.finishStop()
      }, this.policy.killTimeoutMs)
    }
    if (!wasReady) {
      kill('it was not ready to shut down')
      return done
    }
    try {
      child.postMessage({ type: 'shutdown' })
    } catch {
      kill('the shutdown request could not be sent')
      return done
    }
    this.timer = this.clock.setTimeout(() => kill(`it did not stop within ${this.policy.shutdownTimeoutMs} ms`), this.policy.shutdownTimeoutMs)
    return done
  }

  // -------------------------------------------------------------------------------------------

  private spawn(): void {
    this.clearTimer()
    this.readyAt = null
    this.setState('starting')
    let child: EngineChild
    try {
      child = this.opts.fork()
    } catch (e) {
      this.crashed(`the engine could not be started (${(e as Error)?.message ?? String(e)})`)
      return
    }
    this.child = child
    child.on('message', (message) => {
      if (this.child === child) this.onMessage(child, message)
    })
    child.on('exit', (code) => {
      if (this.child !== child) return // a process we already gave up on
      this.child = null
      if (this.state === 'stopping') {
        this.finishStop()
        return
      }
      this.crashed(`the engine exited with code ${code}`)
    })
    this.timer = this.clock.setTimeout(() => {
      this.abandon(child, `the engine did not start within ${Math.round(this.policy.startTimeoutMs / 1000)} s`)
    }, this.policy.startTimeoutMs)
  }

  private onMessage(child: EngineChild, message: unknown): void {
    if (!isObject(message)) return this.opts.log?.warn('engine sent a message that is not an object')
    switch (message.type) {
      case 'ready':
        if (this.state !== 'starting') return
        this.clearTimer()
        this.readyAt = this.clock.now()
        this.lastReason = null
        this.setState('ready')
        this.flush(child)
        return
      case 'result': {
        const id = message.id
        const resolve = typeof id === 'number' ? this.pending.get(id) : undefined
        if (!resolve) return this.opts.log?.warn('engine answered a call nobody is waiting for', { id: typeof id === 'number' ? id : null })
        this.pending.delete(id as number)
        resolve(isResult(message.result) ? message.result : { ok: false, error: { code: 'internal', message: 'The engine gave an answer Batchery does not understand.' } })
        return
      }
      case 'event':
        if (typeof message.event !== 'string') return
        try {
          this.opts.onEvent(message.event as EventName, message.payload)
        } catch (e) {
          this.opts.log?.error('event listener failed', { event: message.event, error: (e as Error)?.message })
        }
        return
      case 'fatal': {
        const reason = typeof message.message === 'string' && message.message !== '' ? message.message : 'the engine reported a fatal error'
        this.abandon(child, reason)
        return
      }
      default:
        this.opts.log?.warn('engine sent an unknown message', { type: String(message.type).slice(0, 50) })
    }
  }

  private send(child: EngineChild, call: QueuedCall): void {
    this.pending.set(call.id, call.resolve)
    try {
      child.postMessage({ type: 'call', id: call.id, method: call.method, params: call.params })
    } catch (e) {
      this.pending.delete(call.id)
      this.opts.log?.warn('could not send a call to the engine', { method: call.method, error: (e as Error)?.message })
      call.resolve({ ok: false, error: { code: 'internal', message: 'The request could not be handed to the engine; try again.' } })
    }
  }

  private flush(child: EngineChild): void {
    const queued = this.queue
    this.queue = []
    for (const call of queued) this.send(child, call)
  }

  /** Gives up on a process that is alive but useless (fatal error, never ready): kill it and treat it as a crash. */
  private abandon(child: EngineChild, reason: string): void {
    if (this.child !== child) return
    this.child = null
    this.killQuietly(child)
    this.crashed(reason)
  }

  private crashed(reason: string): void {
    this.clearTimer()
    // Calls in flight may have been what killed it, so they are not retried; queued ones wait.
    for (const resolve of this.pending.values()) resolve({ ok: false, error: ENGINE_RESTARTING })
    this.pending.clear()
    const lived = this.readyAt === null ? 0 : this.clock.now() - this.readyAt
    if (lived >= this.policy.stableAfterMs) this.fastCrashes = 0
    this.fastCrashes += 1
    this.lastReason = reason
    if (this.fastCrashes >= this.policy.maxFastCrashes) {
      this.failure = `Batchery's engine stopped ${this.fastCrashes} times in a row, so Batchery stopped restarting it. The last reason: ${reason}.`
      this.opts.log?.error('engine keeps crashing; giving up', { crashes: this.fastCrashes, reason })
      this.setState('failed')
      const queued = this.queue
      this.queue = []
      for (const call of queued) call.resolve({ ok: false, error: this.unavailable() })
      return
    }
    const delay = restartDelay(this.fastCrashes, this.policy)
    this.opts.log?.warn('engine stopped; restarting', { reason, crashesInARow: this.fastCrashes, delayMs: delay })
    this.setState('restarting')
    this.timer = this.clock.setTimeout(() => {
      this.timer = null
      if (this.state === 'restarting') this.spawn()
    }, delay)
  }

  private unavailable(): ApiError {
    return { code: 'internal', message: this.failure ?? "Batchery's engine is not running. Restart Batchery." }
  }

  private failAll(error: ApiError): void {
    for (const resolve of this.pending.values()) resolve({ ok: false, error })
    this.pending.clear()
    const queued = this.queue
    this.queue = []
    for (const call of queued) call.resolve({ ok: false, error })
  }

  private finishStop(): void {
    this.clearTimer()
    this.setState('stopped')
    const waiters = this.stopWaiters
    this.stopWaiters = []
    for (const w of waiters) w()
  }

  private killQuietly(child: EngineChild): void {
    try {
      child.kill()
    } catch (e) {
      this.opts.log?.warn('could not kill the engine process', { error: (e as Error)?.message })
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer)
    this.timer = null
  }

  private setState(state: EngineState): void {
    this.state = state
    try {
      this.opts.onStatus?.(this.status)
    } catch (e) {
      this.opts.log?.error('status listener failed', { error: (e as Error)?.message })
    }
  }
}
