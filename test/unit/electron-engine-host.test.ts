// The IPC handler and the supervisor against the real engine: out/main/engine-host.js runs in a
// child process whose process.parentPort is a small stand-in over Node's IPC (structured clone,
// like a utilityProcess), over a real SQLite home in a temp folder. A call goes page -> IPC
// handler -> supervisor -> engine host -> dispatcher -> engine and back; a run's events come back
// the same way; a SIGKILL fails the call in flight and the engine comes back with its data.
import { type ChildProcess, fork } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { IpcMainInvokeEvent, WebContents } from 'electron'
import { afterAll, describe, expect, it } from 'vitest'
import type { EventName, Events, Result, RunDetail } from '../../src/shared/api'
import { ENGINE_RESTARTING, type EngineState, EngineSupervisor, type ParentMessage } from '../../src/main/electron/engine-supervisor'
import { createCallHandler } from '../../src/main/electron/ipc'
import { APP_ORIGIN } from '../../src/main/electron/security'
import { ROOT, tempDir } from '../helpers/cli'

const HOST = join(ROOT, 'out', 'main', 'engine-host.js')

// What Electron gives a utility process, rebuilt over Node's IPC channel.
const SHIM = `
process.parentPort = {
  on(event, listener) { if (event === 'message') process.on('message', (data) => listener({ data })) },
  postMessage(message) { process.send(message) }
}
await import(process.env.BATCHERY_TEST_ENGINE_HOST)
`

/** A forked Node process dressed as a UtilityProcess: postMessage, kill, 'message', 'exit'. */
class NodeChild extends EventEmitter {
  constructor(readonly process: ChildProcess) {
    super()
    process.on('message', (m) => this.emit('message', m))
    process.on('exit', (code, signal) => this.emit('exit', code ?? (signal ? 128 : 0)))
    // Writing to a process that just died reports EPIPE here; its 'exit' is what counts.
    process.on('error', () => {})
  }
  postMessage(message: ParentMessage): void {
    this.process.send(message)
  }
  kill(): boolean {
    return this.process.kill()
  }
}

function setup() {
  const home = tempDir('batchery-engine-host-')
  const shim = join(home, 'parent-port-shim.mjs')
  writeFileSync(shim, SHIM)
  const children: NodeChild[] = []
  const events: { event: EventName; payload: unknown }[] = []
  const eventWaiters: { test: (e: { event: EventName; payload: unknown }) => boolean; resolve: (payload: unknown) => void }[] = []
  const stateWaiters: { state: EngineState; resolve: () => void }[] = []

  const supervisor = new EngineSupervisor({
    fork: () => {
      const child = new NodeChild(
        fork(shim, [], {
          env: { ...process.env, BATCHERY_HOME: home, BATCHERY_TEST_ENGINE_HOST: pathToFileURL(HOST).href },
          serialization: 'advanced',
          stdio: ['ignore', 'ignore', 'inherit', 'ipc']
        })
      )
      children.push(child)
      return child
    },
    onEvent: (event, payload) => {
      const e = { event, payload }
      events.push(e)
      for (const w of [...eventWaiters]) {
        if (w.test(e)) {
          eventWaiters.splice(eventWaiters.indexOf(w), 1)
          w.resolve(payload)
        }
      }
    },
    onStatus: (status) => {
      for (const w of [...stateWaiters]) {
        if (w.state === status.state) {
          stateWaiters.splice(stateWaiters.indexOf(w), 1)
          w.resolve()
        }
      }
    }
  })

  const untilState = (state: EngineState) => new Promise<void>((resolve) => stateWaiters.push({ state, resolve }))
  const untilEvent = <E extends EventName>(event: E, test: (p: Events[E]) => boolean) =>
    new Promise<Events[E]>((resolve) => eventWaiters.push({ test: (e) => e.event === event && test(e.payload as Events[E]), resolve: (p) => resolve(p as Events[E]) }))

  // The page's side: calls arrive through the real IPC handler from our own top-level frame.
  const handler = createCallHandler({
    allowedOrigins: [APP_ORIGIN],
    isOurWindow: () => true,
    forward: (method, params) => supervisor.call(method, params)
  })
  const page = { sender: { id: 1 } as WebContents, senderFrame: { url: 'app://batchery/index.html#/jobs', parent: null } } as unknown as IpcMainInvokeEvent
  const call = <T>(method: string, params: unknown) => handler(page, method, params) as Promise<Result<T>>

  return { home, supervisor, children, events, untilState, untilEvent, call }
}

describe('the engine host behind the IPC handler', () => {
  const env = setup()

  afterAll(async () => {
    await env.supervisor.stop()
  })

  it('is built (npm run build writes out/main/engine-host.js)', () => {
    expect(existsSync(HOST), `${HOST} is missing: run "npm run build"`).toBe(true)
  })

  it('starts, answers calls, and lets the dispatcher validate params', async () => {
    const ready = env.untilState('ready')
    env.supervisor.start()
    await ready
    expect(await env.call('jobs.list', {})).toEqual({ ok: true, value: [] })
    const bad = await env.call('runs.get', {})
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.error.code).toBe('invalid_params')
    const missing = await env.call('runs.get', { runId: 'no-such-run' })
    expect(missing.ok).toBe(false)
    if (!missing.ok) expect(missing.error.code).toBe('not_found')
  })

  it('saves and runs a job; its state changes arrive as events', async () => {
    const jobDir = join(env.home, 'orders-clean')
    cpSync(join(ROOT, 'resources', 'examples', 'orders-clean'), jobDir, { recursive: true, filter: (src) => !src.endsWith('/out') })
    const definition = JSON.parse(readFileSync(join(jobDir, 'job.json'), 'utf8')) as unknown
    const saved = await env.call<{ name: string }>('jobs.save', { job: definition, baseDir: jobDir })
    expect(saved.ok && saved.value.name).toBe('orders-clean')

    const started = await env.call<{ runId: string }>('runs.start', { job: 'orders-clean' })
    if (!started.ok) throw new Error(started.error.message)
    const { runId } = started.value
    const ended = await env.untilEvent('run.stateChanged', (e) => e.runId === runId && !['queued', 'running'].includes(e.to))
    expect(ended.to).toBe('partial')
    expect(env.events.some((e) => e.event === 'jobs.changed')).toBe(true)

    const detail = await env.call<RunDetail>('runs.get', { runId })
    if (!detail.ok) throw new Error(detail.error.message)
    expect(detail.value.counts).toEqual({ in: 21, out: 10, filtered: 2, deduped: 2, failed: 7 })
  })

  it('fails the call in flight when the engine is killed, restarts it, and the data is still there', async () => {
    const first = env.children[env.children.length - 1]
    if (!first) throw new Error('no engine process')
    const restarted = env.untilState('restarting')
    const readyAgain = env.untilState('ready')
    first.process.kill('SIGKILL')
    // Sent to a process that is already dying: it can only end as the restart error.
    expect(await env.call('jobs.list', {})).toEqual({ ok: false, error: ENGINE_RESTARTING })
    await restarted
    await readyAgain
    expect(env.children.length).toBe(2)
    const jobs = await env.call<{ name: string }[]>('jobs.list', {})
    expect(jobs.ok && jobs.value.map((j) => j.name)).toEqual(['orders-clean'])
    const runs = await env.call<{ status: string }[]>('runs.list', {})
    expect(runs.ok && runs.value.map((r) => r.status)).toEqual(['partial'])
  })

  it('shuts the engine down cleanly on quit', async () => {
    const last = env.children[env.children.length - 1]
    if (!last) throw new Error('no engine process')
    const exited = new Promise<number | null>((resolve) => last.process.on('exit', (code) => resolve(code)))
    await env.supervisor.stop()
    expect(await exited).toBe(0)
    expect(env.supervisor.status.state).toBe('stopped')
  })
})
