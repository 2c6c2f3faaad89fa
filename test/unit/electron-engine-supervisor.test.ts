// The engine supervisor with a fake child (an EventEmitter with postMessage and kill) and a fake
// clock: calls and results by id, events, crashes failing the calls in flight, restarts with
// backoff, giving up after fast crashes, and stopping on quit. No sleeps: time is advanced.
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import type { ForkOptions, UtilityProcess } from 'electron'
import { createEngineProcess, ENGINE_SERVICE_NAME, engineForkArgs, engineHostPath } from '../../src/main/electron/engine-process'
import {
  type Clock,
  DEFAULT_RESTART_POLICY,
  ENGINE_QUITTING,
  ENGINE_RESTARTING,
  type EngineStatus,
  EngineSupervisor,
  type ParentMessage,
  restartDelay
} from '../../src/main/electron/engine-supervisor'

class FakeClock implements Clock {
  time = 0
  private timers: { id: number; at: number; fn: () => void }[] = []
  private nextId = 0
  now(): number {
    return this.time
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.nextId
    this.timers.push({ id, at: this.time + ms, fn })
    return id
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle)
  }
  /** Moves time forward, firing due timers in order (timers they set fire too if due). */
  advance(ms: number): void {
    const end = this.time + ms
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0]
      if (!due) break
      this.timers = this.timers.filter((t) => t !== due)
      this.time = due.at
      due.fn()
    }
    this.time = end
  }
  get pending(): number {
    return this.timers.length
  }
}

class FakeChild extends EventEmitter {
  sent: ParentMessage[] = []
  kills = 0
  throwOnPost = false
  postMessage(message: ParentMessage): void {
    if (this.throwOnPost) throw new Error('An object could not be cloned.')
    this.sent.push(message)
  }
  kill(): boolean {
    this.kills++
    return true
  }
  ready(): void {
    this.emit('message', { type: 'ready' })
  }
  calls(): Extract<ParentMessage, { type: 'call' }>[] {
    return this.sent.filter((m): m is Extract<ParentMessage, { type: 'call' }> => m.type === 'call')
  }
  reply(id: number, result: unknown): void {
    this.emit('message', { type: 'result', id, result })
  }
  exit(code: number): void {
    this.emit('exit', code)
  }
}

function setup(opts: { forkThrows?: () => boolean } = {}) {
  const clock = new FakeClock()
  const children: FakeChild[] = []
  const events: [string, unknown][] = []
  const statuses: EngineStatus[] = []
  const supervisor = new EngineSupervisor({
    fork: () => {
      if (opts.forkThrows?.()) throw new Error('spawn ENOENT')
      const child = new FakeChild()
      children.push(child)
      return child
    },
    onEvent: (event, payload) => events.push([event, payload]),
    onStatus: (s) => statuses.push(s),
    clock
  })
  const last = (): FakeChild => {
    const c = children[children.length - 1]
    if (!c) throw new Error('no child forked')
    return c
  }
  return { clock, children, events, statuses, supervisor, last }
}

/** Lets promise callbacks run (no timers involved). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('restartDelay', () => {
  it('doubles from the base delay and is capped', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => restartDelay(n))).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000])
    expect(restartDelay(0)).toBe(500)
    expect(restartDelay(1000)).toBe(30000)
  })
})

describe('EngineSupervisor', () => {
  it('queues calls until the engine is ready, then correlates results by id', async () => {
    const { supervisor, last } = setup()
    supervisor.start()
    expect(supervisor.status.state).toBe('starting')
    const a = supervisor.call('jobs.list', {})
    const b = supervisor.call('runs.get', { runId: 'r1' })
    expect(last().sent).toEqual([])
    last().ready()
    expect(supervisor.status.state).toBe('ready')
    const [ca, cb] = last().calls()
    expect(ca).toMatchObject({ type: 'call', method: 'jobs.list', params: {} })
    expect(cb).toMatchObject({ type: 'call', method: 'runs.get', params: { runId: 'r1' } })
    // Answered out of order.
    last().reply(cb!.id, { ok: true, value: 'second' })
    last().reply(ca!.id, { ok: false, error: { code: 'not_found', message: 'no' } })
    expect(await a).toEqual({ ok: false, error: { code: 'not_found', message: 'no' } })
    expect(await b).toEqual({ ok: true, value: 'second' })
    // Once ready, calls go straight out.
    const c = supervisor.call('jobs.list', {})
    last().reply(last().calls()[2]!.id, { ok: true, value: [] })
    expect(await c).toEqual({ ok: true, value: [] })
  })

  it('re-emits events and ignores malformed messages', async () => {
    const { supervisor, last, events } = setup()
    supervisor.start()
    last().ready()
    last().emit('message', { type: 'event', event: 'run.stateChanged', payload: { runId: 'r1', to: 'running' } })
    last().emit('message', 'not an object')
    last().emit('message', null)
    last().emit('message', { type: 'event', event: 42 })
    last().emit('message', { type: 'mystery' })
    last().reply(999, { ok: true, value: 'nobody asked' })
    expect(events).toEqual([['run.stateChanged', { runId: 'r1', to: 'running' }]])
    const call = supervisor.call('jobs.list', {})
    last().reply(last().calls()[0]!.id, { nonsense: true })
    expect(await call).toEqual({ ok: false, error: { code: 'internal', message: 'The engine gave an answer Batchery does not understand.' } })
  })

  it('fails the calls in flight when the engine dies, restarts it after a delay, and sends queued calls to the new one', async () => {
    const { supervisor, last, children, clock, statuses } = setup()
    supervisor.start()
    last().ready()
    const inFlight = supervisor.call('runs.start', { job: 'orders' })
    last().exit(134)
    expect(await inFlight).toEqual({ ok: false, error: ENGINE_RESTARTING })
    expect(ENGINE_RESTARTING.message).toBe('The engine stopped unexpectedly and is restarting; try again.')
    expect(supervisor.status).toEqual({ state: 'restarting', message: 'the engine exited with code 134' })
    // A call made while restarting waits for the new process instead of failing.
    const waiting = supervisor.call('jobs.list', {})
    clock.advance(DEFAULT_RESTART_POLICY.baseDelayMs - 1)
    expect(children).toHaveLength(1)
    clock.advance(1)
    expect(children).toHaveLength(2)
    last().ready()
    last().reply(last().calls()[0]!.id, { ok: true, value: ['orders'] })
    expect(await waiting).toEqual({ ok: true, value: ['orders'] })
    expect(statuses.map((s) => s.state)).toEqual(['starting', 'ready', 'restarting', 'starting', 'ready'])
  })

  it('backs off on fast crashes and gives up with a visible error after five in a row', async () => {
    const { supervisor, last, children, clock, statuses } = setup()
    supervisor.start()
    const delays: number[] = []
    for (let i = 1; i <= 4; i++) {
      last().emit('message', { type: 'fatal', message: 'The database was written by a newer version of Batchery' })
      const before = children.length
      let waited = 0
      while (children.length === before) {
        clock.advance(100)
        waited += 100
      }
      delays.push(waited)
    }
    expect(delays).toEqual([500, 1000, 2000, 4000])
    const queued = supervisor.call('jobs.list', {})
    last().exit(1)
    expect(supervisor.status.state).toBe('failed')
    expect(supervisor.status.message).toContain('stopped 5 times in a row')
    expect(supervisor.status.message).toContain('the engine exited with code 1')
    expect(statuses[statuses.length - 1]?.state).toBe('failed')
    // Calls waiting for a process, and calls made now, get the failure at once.
    const q = await queued
    expect(q.ok).toBe(false)
    if (!q.ok) expect(q.error.message).toContain('stopped 5 times in a row')
    const late = await supervisor.call('jobs.list', {})
    expect(late.ok).toBe(false)
    clock.advance(10 * 60_000)
    expect(children).toHaveLength(5)
    // The user chose "Try again".
    supervisor.restart()
    expect(children).toHaveLength(6)
    last().ready()
    expect(supervisor.status.state).toBe('ready')
  })

  it('starts the count again after the engine ran well for a while', () => {
    const { supervisor, last, children, clock } = setup()
    supervisor.start()
    for (let i = 0; i < 10; i++) {
      last().ready()
      clock.advance(DEFAULT_RESTART_POLICY.stableAfterMs)
      last().exit(1)
      const before = children.length
      clock.advance(DEFAULT_RESTART_POLICY.baseDelayMs)
      expect(children.length, `crash ${i + 1}`).toBe(before + 1)
    }
    expect(supervisor.status.state).toBe('starting')
  })

  it('kills an engine that reports a fatal error, and ignores that process from then on', () => {
    const { supervisor, last, children, clock, events } = setup()
    supervisor.start()
    last().ready()
    const first = last()
    first.emit('message', { type: 'fatal', message: 'disk full' })
    expect(first.kills).toBe(1)
    expect(supervisor.status).toEqual({ state: 'restarting', message: 'disk full' })
    first.exit(1) // its exit after the kill is not a second crash
    first.emit('message', { type: 'event', event: 'jobs.changed', payload: { name: 'x' } })
    expect(events).toEqual([])
    clock.advance(DEFAULT_RESTART_POLICY.baseDelayMs)
    expect(children).toHaveLength(2)
  })

  it('treats an engine that never becomes ready as crashed', () => {
    const { supervisor, last, children, clock } = setup()
    supervisor.start()
    clock.advance(DEFAULT_RESTART_POLICY.startTimeoutMs)
    expect(children[0]!.kills).toBe(1)
    expect(supervisor.status.state).toBe('restarting')
    expect(supervisor.status.message).toContain('did not start within 60 s')
    clock.advance(DEFAULT_RESTART_POLICY.baseDelayMs)
    last().ready()
    expect(supervisor.status.state).toBe('ready')
  })

  it('treats a fork that throws as a crash', () => {
    let fail = true
    const { supervisor, children, clock, last } = setup({ forkThrows: () => fail })
    supervisor.start()
    expect(supervisor.status.state).toBe('restarting')
    expect(supervisor.status.message).toContain('spawn ENOENT')
    fail = false
    clock.advance(DEFAULT_RESTART_POLICY.baseDelayMs)
    expect(children).toHaveLength(1)
    last().ready()
    expect(supervisor.status.state).toBe('ready')
  })

  it('answers a call that cannot be posted with an error instead of hanging', async () => {
    const { supervisor, last } = setup()
    supervisor.start()
    last().ready()
    last().throwOnPost = true
    const r = await supervisor.call('jobs.list', {})
    expect(r.ok).toBe(false)
  })

  it('stops on quit: asks the engine to shut down, fails open calls, and does not restart it', async () => {
    const { supervisor, last, children, clock } = setup()
    supervisor.start()
    last().ready()
    const open = supervisor.call('runs.dryRun', { job: {} })
    let stopped = false
    const stopping = supervisor.stop().then(() => (stopped = true))
    expect(await open).toEqual({ ok: false, error: ENGINE_QUITTING })
    expect(last().sent[last().sent.length - 1]).toEqual({ type: 'shutdown' })
    expect(last().kills).toBe(0)
    await settle()
    expect(stopped).toBe(false)
    last().exit(0)
    await stopping
    expect(supervisor.status.state).toBe('stopped')
    expect(await supervisor.call('jobs.list', {})).toEqual({ ok: false, error: ENGINE_QUITTING })
    clock.advance(60_000)
    expect(children).toHaveLength(1)
  })

  it('kills an engine that does not shut down in time, and stops waiting if even that is ignored', async () => {
    const { supervisor, last, clock } = setup()
    supervisor.start()
    last().ready()
    let stopped = false
    const stopping = supervisor.stop().then(() => (stopped = true))
    clock.advance(DEFAULT_RESTART_POLICY.shutdownTimeoutMs - 1)
    expect(last().kills).toBe(0)
    clock.advance(1)
    expect(last().kills).toBe(1)
    clock.advance(DEFAULT_RESTART_POLICY.killTimeoutMs)
    await stopping
    expect(stopped).toBe(true)
    expect(supervisor.status.state).toBe('stopped')
  })

  it('stops at once while waiting to restart, and an engine still starting is killed rather than asked', async () => {
    const a = setup()
    a.supervisor.start()
    a.last().exit(1)
    await a.supervisor.stop()
    a.clock.advance(60_000)
    expect(a.children).toHaveLength(1)
    expect(a.clock.pending).toBe(0)

    const b = setup()
    b.supervisor.start()
    const stopping = b.supervisor.stop()
    expect(b.last().kills).toBe(1)
    expect(b.last().sent).toEqual([])
    b.last().exit(0)
    await stopping
    expect(b.supervisor.status.state).toBe('stopped')
  })
})

describe('createEngineProcess', () => {
  it('forks out/main/engine-host.js as a utility process with the data folder in BATCHERY_HOME', () => {
    const forks: [string, string[] | undefined, ForkOptions | undefined][] = []
    const child = new FakeChild()
    const utilityProcess = {
      fork(modulePath: string, args?: string[], options?: ForkOptions): UtilityProcess {
        forks.push([modulePath, args, options])
        return child as unknown as UtilityProcess
      }
    }
    const supervisor = createEngineProcess({
      utilityProcess,
      hostPath: engineHostPath('/opt/batchery/resources/app.asar/out/main'),
      userData: '/home/ana/.config/Batchery',
      env: { PATH: '/usr/bin', BATCHERY_HOME: '/somewhere/else' },
      onEvent: () => {}
    })
    supervisor.start()
    expect(forks).toEqual([
      [
        '/opt/batchery/resources/app.asar/out/main/engine-host.js',
        [],
        { serviceName: ENGINE_SERVICE_NAME, env: { PATH: '/usr/bin', BATCHERY_HOME: '/home/ana/.config/Batchery' } }
      ]
    ])
    expect(ENGINE_SERVICE_NAME).toBe('Batchery engine')
    expect(engineForkArgs('/x/engine-host.js', '/d', {})[2]).toEqual({ serviceName: 'Batchery engine', env: { BATCHERY_HOME: '/d' } })
  })
})
