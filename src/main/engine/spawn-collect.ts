// Starting one command and collecting what it printed: the part of running a files job's item
// that can happen in another process. The engine's process is large (SQLite, the run's state),
// and starting a child from it costs several milliseconds of its only thread (fork copies its
// page tables: 5.5 ms a command, measured); a small helper process (spawn-helper.ts) starts
// commands for a fraction of that, and the engine only sends it requests. (Not in the desktop
// app, whose Electron binary may not run as Node: there the engine starts commands itself.)
import { spawn } from 'node:child_process'

/** Per stream, the last this many bytes of what an item printed are kept. */
export const TAIL_BYTES = 64 * 1024
/** Once the command exited, how long its output pipes may stay open (a background child holding them). */
const CLOSE_WAIT_MS = 200

export interface SpawnRequest {
  file: string
  args: string[]
  cwd: string
  /** Added to the environment of the process that starts it. */
  env: Record<string, string>
  /** POSIX: the command leads its own process group, so its whole tree can be killed. */
  detached: boolean
  windowsVerbatimArguments: boolean
}

export interface SpawnDone {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** The command could not be started. */
  error?: { code?: string; message: string }
}

/** Keeps the last `limit` bytes of a stream. */
export class Tail {
  private chunks: Buffer[] = []
  private size = 0
  constructor(private readonly limit = TAIL_BYTES) {}

  push(b: Buffer): void {
    this.chunks.push(b)
    this.size += b.length
    while (this.chunks.length > 1 && this.size - (this.chunks[0] as Buffer).length >= this.limit) {
      this.size -= (this.chunks.shift() as Buffer).length
    }
  }

  toString(): string {
    let buf = Buffer.concat(this.chunks)
    if (buf.length > this.limit) {
      buf = buf.subarray(buf.length - this.limit)
      // Do not start inside a UTF-8 character.
      let i = 0
      while (i < 4 && i < buf.length && ((buf[i] as number) & 0xc0) === 0x80) i++
      buf = buf.subarray(i)
    }
    return buf.toString('utf8')
  }
}

/** Starts the command; `started` gets its process id (none if it could not start), `done` its outcome, once. */
export function spawnCollect(req: SpawnRequest, started: (pid: number | undefined) => void, done: (d: SpawnDone) => void): void {
  const stdout = new Tail()
  const stderr = new Tail()
  let settled = false
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
  const child = spawn(req.file, req.args, {
    cwd: req.cwd,
    env: { ...process.env, ...req.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: req.detached,
    windowsHide: true,
    windowsVerbatimArguments: req.windowsVerbatimArguments
  })
  started(child.pid)
  child.stdout?.on('data', (b: Buffer) => stdout.push(b))
  child.stderr?.on('data', (b: Buffer) => stderr.push(b))
  const finish = (error?: Error): void => {
    if (settled) return
    settled = true
    child.stdout?.destroy()
    child.stderr?.destroy()
    const out = { code: exit?.code ?? null, signal: exit?.signal ?? null, stdout: stdout.toString(), stderr: stderr.toString() }
    if (error) {
      const code = (error as NodeJS.ErrnoException).code
      done({ ...out, error: { message: error.message, ...(code ? { code } : {}) } })
    } else done(out)
  }
  child.on('error', (e) => finish(e))
  child.on('exit', (code, sig) => {
    exit = { code, signal: sig }
    // Output still in the pipes arrives before 'close'; a background process that kept them open is not waited for.
    const wait = setTimeout(() => finish(), CLOSE_WAIT_MS)
    child.on('close', () => {
      clearTimeout(wait)
      finish()
    })
  })
}
