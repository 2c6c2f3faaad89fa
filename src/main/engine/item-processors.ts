// What handles one item of a files job: a command (a child process per file, spawned from the
// engine's thread: it only waits) or a JavaScript module (called in the worker threads). Both
// answer with the same outcome: exit code or error, runtime, and the bounded tails of what the
// item printed. The engine decides what an outcome means for the run.
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { FilesJob } from '../../shared/job'
import type { FileItemTask, FileItemTaskResult } from '../../workers/file-task-worker'
import { expandCommand, itemValues, shellQuote } from './command-template'
import { createWorkerPool, resolveBuiltWorker } from './executor'
import { resolveIn } from './paths'
import { spawnCollect, type SpawnDone, type SpawnRequest } from './spawn-collect'

/** After a timeout's SIGTERM, the process tree gets this long before SIGKILL. */
const KILL_GRACE_MS = 2000
/** The environment variable that marks every process of a run (found again after a crash). */
export const RUN_ENV = 'BATCHERY_RUN_ID'

export interface ItemSpec {
  idx: number
  seq: number
  /** The input file, absolute. */
  file: string
  /** Relative to the job's input folder, with / separators. */
  relPath: string
  /** This attempt's staging folder, absolute. */
  out: string
}

export interface ItemOutcome {
  ok: boolean
  startedAt: number
  runtimeMs: number
  exitCode: number | null
  signal: string | null
  timedOut: boolean
  /** Stopped by the engine (the run was stopped, halted or cancelled): says nothing about the item. */
  aborted: boolean
  /** Why it failed, in plain words. */
  message: string | null
  /** Nothing can work (the module cannot be loaded): the run stops. */
  fatal: string | null
  stdout: string
  stderr: string
}

export interface ItemProcessor {
  /** The exact command for people and the joblog. */
  describe(item: ItemSpec): string
  run(item: ItemSpec, timeoutMs: number, signal: AbortSignal): Promise<ItemOutcome>
  /** Kill whatever is still running, at once and synchronously (the process is exiting). */
  killAll(): void
  destroy(): Promise<void>
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean)
  const l = lines[lines.length - 1] ?? ''
  return l.length > 200 ? l.slice(0, 200) + '…' : l
}

function valuesOf(item: ItemSpec, baseDir: string): ReturnType<typeof itemValues> {
  return itemValues({ path: item.file, relPath: item.relPath, seq: item.seq, out: item.out }, baseDir)
}

/** An item's exact command as one line (shell-quoted arguments), or the module call. */
export function describeItem(job: FilesJob, baseDir: string, item: ItemSpec): string {
  if (job.module !== undefined) return `${job.module}${job.export ? `#${job.export}` : ''} ${shellQuote(valuesOf(item, baseDir).path)}`
  return expandCommand(job, valuesOf(item, baseDir)).display
}

/** Commands: one child process per item, with its whole process tree killed on timeout or stop. */
export function commandProcessor(job: FilesJob, baseDir: string, runId: string): ItemProcessor {
  const running = new Set<number>()
  const posix = process.platform !== 'win32'
  const spawner = createSpawner()
  const commandFor = (item: ItemSpec): ReturnType<typeof expandCommand> => expandCommand(job, valuesOf(item, baseDir))

  const killTree = (pid: number, signal: NodeJS.Signals): void => {
    if (posix) {
      try {
        // The child leads its own process group: this reaches everything it started.
        process.kill(-pid, signal)
      } catch {
        try {
          process.kill(pid, signal)
        } catch {
          // gone already
        }
      }
    } else {
      spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).on('error', () => {})
    }
  }

  return {
    describe: (item) => commandFor(item).display,
    killAll: () => {
      for (const pid of running) killTree(pid, 'SIGKILL')
    },
    destroy: async () => {
      for (const pid of running) killTree(pid, 'SIGKILL')
      spawner.close()
    },
    run: (item, timeoutMs, signal) =>
      new Promise<ItemOutcome>((resolvePromise) => {
        const cmd = commandFor(item)
        const startedAt = Date.now()
        const t0 = performance.now()
        let timedOut = false
        let aborted = false
        let pid: number | undefined
        /** Killed before its process id was known (the request was still on its way): killed when it is. */
        let killOnStart: NodeJS.Signals | null = null
        const kill = (sig: NodeJS.Signals): void => {
          if (pid !== undefined) killTree(pid, sig)
          else killOnStart = sig
        }
        let killTimer: NodeJS.Timeout | undefined
        const timer = setTimeout(() => {
          timedOut = true
          kill('SIGTERM')
          killTimer = setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS)
        }, timeoutMs)
        const onAbort = (): void => {
          aborted = true
          kill('SIGKILL')
        }
        signal.addEventListener('abort', onAbort)
        if (signal.aborted) onAbort()

        const request: SpawnRequest = {
          file: cmd.file,
          args: cmd.args,
          cwd: baseDir,
          env: { [RUN_ENV]: runId, BATCHERY_SEQ: String(item.seq), BATCHERY_OUT: item.out },
          detached: posix,
          windowsVerbatimArguments: !posix && job.shell
        }
        const started = (p: number | undefined): void => {
          pid = p
          if (p === undefined) return
          running.add(p)
          if (killOnStart) killTree(p, killOnStart)
        }
        const done = (d: SpawnDone): void => {
          clearTimeout(timer)
          clearTimeout(killTimer)
          signal.removeEventListener('abort', onAbort)
          if (pid !== undefined) running.delete(pid)
          const runtimeMs = performance.now() - t0
          const base = { startedAt, runtimeMs, stdout: d.stdout, stderr: d.stderr, timedOut, aborted, fatal: null }
          if (d.error) {
            const code = d.error.code
            const why = code === 'ENOENT' ? 'it was not found' : code === 'EACCES' ? 'it may not be run (permission denied)' : d.error.message
            resolvePromise({ ...base, ok: false, exitCode: null, signal: null, message: `the program ${JSON.stringify(cmd.file)} could not be started: ${why}` })
            return
          }
          let message: string | null = null
          if (timedOut) message = `the command took longer than the job's timeout (${job.policy.timeout}) and was stopped`
          else if (d.signal) message = `the command was killed by ${d.signal}${lastLine(base.stderr) ? ` (${JSON.stringify(lastLine(base.stderr))})` : ''}`
          else if (d.code !== 0) message = `the command ended with exit code ${d.code}${lastLine(base.stderr) ? ` (${JSON.stringify(lastLine(base.stderr))})` : ''}`
          resolvePromise({ ...base, ok: message === null && !aborted, exitCode: d.code, signal: d.signal, message })
        }
        spawner.start(request, started, done)
      })
  }
}

/** Starts commands and reports their process ids and outcomes (spawn-collect.ts). */
interface Spawner {
  start(request: SpawnRequest, started: (pid: number | undefined) => void, done: (d: SpawnDone) => void): void
  close(): void
}

/**
 * Commands started by the small helper process (spawn-helper.ts), or, if it cannot be started or
 * stops, from this process. A command in flight when the helper stops is reported as not started.
 */
function createSpawner(): Spawner {
  let helper: ChildProcess | null = null
  const pending = new Map<number, { started: (pid: number | undefined) => void; done: (d: SpawnDone) => void; pidSeen: boolean }>()
  let next = 1
  // Not inside the desktop app: its Electron binary may not run as Node (the runAsNode fuse is
  // off), so a fork would start a second app. There commands start from the engine's process.
  if (!process.versions.electron) {
    try {
      helper = fork(resolveBuiltWorker('spawn-helper.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] })
    } catch {
      helper = null
    }
  }
  const lost = (): void => {
    helper = null
    for (const [id, p] of pending) {
      pending.delete(id)
      if (!p.pidSeen) p.started(undefined)
      p.done({ code: null, signal: null, stdout: '', stderr: '', error: { message: "Batchery's helper that starts commands stopped; the file is tried again if the job allows retries" } })
    }
  }
  helper?.on('error', lost)
  helper?.on('exit', lost)
  helper?.on('message', (m: { id: number; pid?: number | null; done?: SpawnDone }) => {
    const p = pending.get(m.id)
    if (!p) return
    if (m.done) {
      pending.delete(m.id)
      p.done(m.done)
    } else {
      p.pidSeen = true
      p.started(m.pid ?? undefined)
    }
  })
  // The helper keeps this process alive only while a command runs; the run's end closes it.
  const channel = (): { ref(): void; unref(): void } | undefined => (helper as unknown as { channel?: { ref(): void; unref(): void } } | null)?.channel
  helper?.unref()
  channel()?.unref()
  return {
    start: (request, started, done) => {
      if (!helper?.connected) {
        spawnCollect(request, started, done)
        return
      }
      const id = next++
      if (!pending.size) channel()?.ref()
      pending.set(id, {
        started,
        done: (d) => {
          if (!pending.size) channel()?.unref()
          done(d)
        },
        pidSeen: false
      })
      helper.send({ id, request })
    },
    close: () => {
      if (helper?.connected) helper.disconnect()
    }
  }
}

/** Modules: the job's function called for each item in the worker threads. */
export function moduleProcessor(job: FilesJob, baseDir: string, threads: number): ItemProcessor {
  const module = resolveIn(baseDir, job.module as string)
  const pool = createWorkerPool<FileItemTask, FileItemTaskResult>({
    threads,
    memoryLimitMb: job.policy.memoryLimitMb,
    workerPath: process.env.BATCHERY_FILE_WORKER ?? resolveBuiltWorker('file-task-worker.js')
  })
  return {
    describe: (item) => describeItem(job, baseDir, item),
    killAll: () => {},
    destroy: () => pool.destroy(),
    run: async (item, timeoutMs, signal) => {
      const startedAt = Date.now()
      const t0 = performance.now()
      const timeout = AbortSignal.timeout(timeoutMs)
      const name = basename(item.file)
      const dot = name.lastIndexOf('.')
      const task: FileItemTask = {
        module,
        exportName: job.export,
        file: item.file,
        context: {
          out: item.out,
          name,
          stem: dot > 0 ? name.slice(0, dot) : name,
          ext: dot > 0 ? name.slice(dot + 1) : '',
          seq: item.seq,
          dir: dirname(item.file),
          rel: item.relPath
        }
      }
      const base = { startedAt, exitCode: null, signal: null, timedOut: false, aborted: false, fatal: null, stdout: '', stderr: '' }
      try {
        const r = await pool.run(task, AbortSignal.any([signal, timeout]))
        const runtimeMs = performance.now() - t0
        if (r.ok) return { ...base, ok: true, runtimeMs, exitCode: 0, message: null, stdout: r.stdout, stderr: r.stderr }
        const stderr = [r.stderr, r.stack].filter(Boolean).join('\n')
        if (r.load) return { ...base, ok: false, runtimeMs, message: r.message, fatal: r.message, stdout: r.stdout, stderr }
        return { ...base, ok: false, runtimeMs, exitCode: 1, message: `the module's function threw: ${r.message}`, stdout: r.stdout, stderr }
      } catch (e) {
        const runtimeMs = performance.now() - t0
        if (signal.aborted) return { ...base, ok: false, runtimeMs, aborted: true, message: 'stopped' }
        if (timeout.aborted) return { ...base, ok: false, runtimeMs, timedOut: true, message: `the module's function took longer than the job's timeout (${job.policy.timeout}) and was stopped` }
        return { ...base, ok: false, runtimeMs, exitCode: 1, message: `the worker running the module stopped: ${(e as Error)?.message ?? String(e)}`, stderr: (e as Error)?.stack ?? '' }
      }
    }
  }
}

/**
 * Processes a run started that outlived it (the engine was killed; commands run in process groups
 * of their own): found by the run's mark in their environment, and killed, so that a resumed run
 * never shares a staging folder with a leftover. Linux only (it reads /proc); elsewhere leftovers
 * finish on their own and write into a staging folder that is cleared again before each attempt.
 */
export function killLeftoverProcesses(runId: string): number {
  if (process.platform !== 'linux') return 0
  const mark = Buffer.from(`${RUN_ENV}=${runId}\0`)
  let killed = 0
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return 0
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue
    let env: Buffer
    try {
      env = readFileSync(`/proc/${e}/environ`)
    } catch {
      continue
    }
    const marked = env.subarray(0, mark.length).equals(mark) || env.indexOf(Buffer.concat([Buffer.from([0]), mark])) !== -1
    if (!marked) continue
    try {
      process.kill(Number(e), 'SIGKILL')
      killed++
    } catch {
      // gone already
    }
  }
  return killed
}
