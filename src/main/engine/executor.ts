// The executor boundary: the engine hands partitions to an executor and gets results back. The
// first executor is the local Piscina pool; a distributed one can take its place later.
import { Piscina } from 'piscina'
import type { PartitionResult, PartitionTask } from '../../shared/partition-task'
import { builtFile } from './paths'

export interface Executor {
  run(task: PartitionTask, signal: AbortSignal): Promise<PartitionResult>
  /** How many partitions it works on at once. */
  readonly threads: number
  destroy(): Promise<void>
}

const WORKER_FILE = 'partition-worker.js'

/**
 * The built worker bundle. In the built app it sits beside the engine's bundle; when the engine
 * runs from source (tests), it is the one `npm run build` wrote to out/main.
 */
export function resolveWorkerPath(): string {
  if (process.env.BATCHERY_WORKER) return process.env.BATCHERY_WORKER
  const found = builtFile(import.meta.url, `main/${WORKER_FILE}`)
  if (found) return found
  throw new Error(`The Batchery worker (${WORKER_FILE}) was not found: run "npm run build" first.`)
}

export function createLocalExecutor(opts: { threads: number; memoryLimitMb?: number; workerPath?: string }): Executor {
  const pool = new Piscina({
    filename: opts.workerPath ?? resolveWorkerPath(),
    minThreads: opts.threads,
    maxThreads: opts.threads,
    // Queue as much as the engine submits: tasks are small descriptions, not data.
    maxQueue: Infinity,
    idleTimeout: 30_000,
    ...(opts.memoryLimitMb ? { resourceLimits: { maxOldGenerationSizeMb: opts.memoryLimitMb } } : {})
  })
  return {
    run: (task, signal) => pool.run(task, { signal }) as Promise<PartitionResult>,
    threads: opts.threads,
    destroy: () => pool.destroy()
  }
}
