// The executor boundary: the engine hands partitions to an executor and gets results back. The
// first executor is the local Piscina pool; a distributed one can take its place later.
import type { Worker } from 'node:worker_threads'
import { Piscina } from 'piscina'
import type { BatchResult, PartitionResult, PartitionTask } from '../../shared/partition-task'
import { builtFile } from './paths'

export interface Executor {
  run(task: PartitionTask, signal: AbortSignal): Promise<PartitionResult>
  /** Several small partitions as one task, run in order by one worker (see runBatch in partition-worker.ts). */
  runBatch(tasks: PartitionTask[], signal: AbortSignal): Promise<BatchResult[]>
  /** How many partitions it works on at once. */
  readonly threads: number
  destroy(): Promise<void>
}

const WORKER_FILE = 'partition-worker.js'
/** The message a Piscina worker sends once its module is loaded (piscina/dist/common.js READY). */
const PISCINA_READY = '_WORKER_READY'
/** How long destroy waits for a worker still loading its module. */
const WORKER_LOAD_WAIT_MS = 5000

/**
 * The built worker bundle. In the built app it sits beside the engine's bundle; when the engine
 * runs from source (tests), it is the one `npm run build` wrote to out/main.
 */
export function resolveWorkerPath(): string {
  if (process.env.BATCHERY_WORKER) return process.env.BATCHERY_WORKER
  return resolveBuiltWorker(WORKER_FILE)
}

/** A worker bundle of the build by file name (out/main/<file>). */
export function resolveBuiltWorker(file: string): string {
  const found = builtFile(import.meta.url, `main/${file}`)
  if (found) return found
  throw new Error(`The Batchery worker (${file}) was not found: run "npm run build" first.`)
}

export function createLocalExecutor(opts: { threads: number; memoryLimitMb?: number; workerPath?: string }): Executor {
  const pool = createWorkerPool<PartitionTask, PartitionResult>({ ...opts, workerPath: opts.workerPath ?? resolveWorkerPath() })
  return { ...pool, runBatch: (tasks, signal) => pool.runNamed('runBatch', tasks, signal) as Promise<BatchResult[]> }
}

/** A pool of worker threads running one worker bundle: tasks in, results out. */
export interface WorkerPool<T, R> {
  run(task: T, signal: AbortSignal): Promise<R>
  /** Runs another export of the worker bundle. */
  runNamed(name: string, task: unknown, signal: AbortSignal): Promise<unknown>
  readonly threads: number
  destroy(): Promise<void>
}

export function createWorkerPool<T, R>(opts: { threads: number; memoryLimitMb?: number; workerPath: string }): WorkerPool<T, R> {
  const pool = new Piscina({
    filename: opts.workerPath,
    minThreads: opts.threads,
    maxThreads: opts.threads,
    // Queue as much as the engine submits: tasks are small descriptions, not data.
    maxQueue: Infinity,
    idleTimeout: 30_000,
    ...(opts.memoryLimitMb ? { resourceLimits: { maxOldGenerationSizeMb: opts.memoryLimitMb } } : {})
  })
  // A worker terminated while it is still loading its module can abort the whole process
  // (Node 20: "FATAL ERROR: v8::ToLocalChecked Empty MaybeLocal" from the module loader). A run
  // that ends before every worker finished loading (all files refused, one tiny partition) would
  // destroy the pool at that moment, so destroy waits for each worker to report ready or exit.
  const ready = new Set<number>()
  const waitReady = (w: Worker): Promise<void> =>
    new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        w.off('message', onMessage)
        w.off('exit', done)
        ready.add(w.threadId)
        resolve()
      }
      const onMessage = (m: unknown): void => {
        if (typeof m === 'object' && m !== null && PISCINA_READY in m) done()
      }
      const timer = setTimeout(done, WORKER_LOAD_WAIT_MS)
      w.on('message', onMessage)
      w.once('exit', done)
    })
  // A task stopped on purpose (a halt, a timeout) can have its worker's answer already on the way;
  // Piscina then reports "Unexpected message from Worker" as an 'error' event, which would end the
  // process if nobody listened. The task's promise has settled already: nothing is lost.
  pool.on('error', () => {})
  const loading = pool.threads.map(waitReady)
  // Workers started later (replacing crashed ones) are announced only once ready.
  pool.on('workerCreate', (w: { id: number }) => ready.add(w.id))
  return {
    run: (task, signal) => pool.run(task, { signal }) as Promise<R>,
    runNamed: (name, task, signal) => pool.run(task, { signal, name }),
    threads: opts.threads,
    destroy: async () => {
      await Promise.all(loading)
      await Promise.all(pool.threads.filter((w) => !ready.has(w.threadId)).map(waitReady))
      await pool.destroy()
    }
  }
}
