// The engine process of the desktop app: an Electron utilityProcess that main starts and
// supervises. It holds the worker pool and the only SQLite writer, so a fault that aborts a
// whole process (a huge allocation in a worker) takes down this process, not the app's window.
// It imports nothing from electron: it speaks to main over process.parentPort.
import type { EventName, Result } from '../shared/api'
import { createDispatcher } from './engine/dispatcher'
import { Engine } from './engine/engine'
import { Scheduler, SchedulerBusyError } from './engine/scheduler'
import { defaultHome } from './engine/paths'
import { engineLogger } from './engine/log'

type FromMain = { type: 'call'; id: number; method: string; params: unknown } | { type: 'shutdown' }
type ToMain =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: Result<unknown> }
  | { type: 'event'; event: EventName; payload: unknown }
  | { type: 'fatal'; message: string }

interface ParentPort {
  on(event: 'message', listener: (e: { data: FromMain }) => void): void
  postMessage(message: ToMain): void
}

const port = (process as unknown as { parentPort?: ParentPort }).parentPort
if (!port) throw new Error('engine-host runs inside an Electron utility process')
const parent: ParentPort = port

const EVENTS: EventName[] = ['run.progressed', 'run.stateChanged', 'jobs.changed']

try {
  const engine = new Engine(defaultHome())
  const log = engineLogger(engine.home)
  const dispatcher = createDispatcher(engine, log)
  for (const event of EVENTS) dispatcher.subscribe(event, (payload) => parent.postMessage({ type: 'event', event, payload }))
  // Schedules and folder watches run here, so they keep running while the window is closed
  // (the app stays in the tray). Another Batchery (a daemon) may already run them for this home.
  const scheduler = new Scheduler(engine, { log })
  try {
    scheduler.start()
  } catch (e) {
    if (!(e instanceof SchedulerBusyError)) throw e
    log.warn('schedules are run by another Batchery process', { message: e.message })
  }
  parent.on('message', ({ data }) => {
    if (data.type === 'call') {
      void dispatcher.call(data.method, data.params).then((result) => parent.postMessage({ type: 'result', id: data.id, result }))
    } else if (data.type === 'shutdown') {
      void scheduler
        .stop()
        .then(() => engine.shutdown())
        .then(() => {
          engine.close()
          process.exit(0)
        })
    }
  })
  log.info('engine process started', { home: engine.home, pid: process.pid })
  parent.postMessage({ type: 'ready' })
} catch (e) {
  parent.postMessage({ type: 'fatal', message: (e as Error)?.message ?? String(e) })
  process.exit(1)
}
