// Start `batchery serve` as a user would, and talk to it as the page does.
import { spawn, type ChildProcess } from 'node:child_process'
import WebSocket from 'ws'
import type { EventName, Events, MethodName, Params, Result, Results } from '../../src/shared/api'
import { BIN } from './cli'

export interface Served {
  url: string
  origin: string
  token: string
  child: ChildProcess
  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<Results[M]>>
  value<M extends MethodName>(method: M, params: Params<M>): Promise<Results[M]>
  /** Resolves with the first event of that name for which `match` is true (sync on events, not sleeps). */
  waitFor<E extends EventName>(event: E, match: (p: Events[E]) => boolean): Promise<Events[E]>
  stop(): Promise<number | null>
}

export async function serve(home: string): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', '--home', home], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out)
      if (m) resolve(m[1] as string)
    })
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)))
  })
  const u = new URL(url)
  const token = u.searchParams.get('token') as string
  const origin = u.origin
  const ws = new WebSocket(`ws://${u.host}/api/events?token=${encodeURIComponent(token)}`)
  const waiters: { event: string; match: (p: never) => boolean; resolve: (p: never) => void }[] = []
  ws.on('message', (data) => {
    const { event, payload } = JSON.parse(String(data)) as { event: string; payload: never }
    for (const w of [...waiters]) {
      if (w.event === event && w.match(payload)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(payload)
      }
    }
  })
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  const call = async <M extends MethodName>(method: M, params: Params<M>): Promise<Result<Results[M]>> => {
    const res = await fetch(`${origin}/api/call`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, Origin: origin },
      body: JSON.stringify({ method, params })
    })
    return (await res.json()) as Result<Results[M]>
  }
  return {
    url,
    origin,
    token,
    child,
    call,
    async value(method, params) {
      const r = await call(method, params)
      if (!r.ok) throw new Error(`${method}: ${r.error.message} ${JSON.stringify(r.error.problems ?? [])}`)
      return r.value
    },
    waitFor(event, match) {
      return new Promise((resolve) => waiters.push({ event, match: match as (p: never) => boolean, resolve: resolve as (p: never) => void }))
    },
    stop() {
      ws.close()
      return new Promise((resolve) => {
        child.on('exit', (code) => resolve(code))
        child.kill('SIGTERM')
      })
    }
  }
}
