// The Piscina worker of files jobs with a module processor: calls the user's function
// `(file, context) => void | Promise<void>` for one input file. What the module prints with
// console.* is captured (bounded) as the item's stdout and stderr instead of reaching the
// terminal. It never touches SQLite; the engine's main thread records the result.
import { pathToFileURL } from 'node:url'
import { inspect } from 'node:util'

export interface FileItemContext {
  /** The item's staging folder: what the function writes here becomes its outputs. */
  out: string
  /** Base name, without the extension, the extension (without the dot), sequence number, folder. */
  name: string
  stem: string
  ext: string
  seq: number
  dir: string
  /** Path relative to the job's input folder, with / separators. */
  rel: string
}

export interface FileItemTask {
  module: string
  exportName?: string
  file: string
  context: FileItemContext
}

export type FileItemTaskResult =
  | { ok: true; stdout: string; stderr: string }
  /** load: the module or its function could not be loaded (every item would fail the same way). */
  | { ok: false; load: boolean; message: string; stack: string; stdout: string; stderr: string }

/** Bytes of console output kept per item, per stream (the tail). */
const TAIL_CHARS = 64 * 1024

type ItemFunction = (file: string, context: FileItemContext) => unknown

const loaded = new Map<string, Promise<ItemFunction>>()

class LoadError extends Error {}

function load(module: string, exportName: string | undefined): Promise<ItemFunction> {
  const key = `${module}\n${exportName ?? ''}`
  let p = loaded.get(key)
  if (!p) {
    p = import(pathToFileURL(module).href).then(
      (m: Record<string, unknown>) => {
        const fn = exportName ? m[exportName] : m.default
        if (typeof fn !== 'function') {
          const found = Object.keys(m).filter((k) => typeof m[k] === 'function')
          throw new LoadError(
            exportName
              ? `the module ${module} has no function exported as "${exportName}"${found.length ? ` (it exports ${found.join(', ')})` : ''}`
              : `the module ${module} has no default export that is a function${found.length ? ` (set "export" to one of ${found.join(', ')})` : ''}`
          )
        }
        return fn as ItemFunction
      },
      (e: unknown) => {
        throw new LoadError(`the module ${module} could not be loaded: ${e instanceof Error ? e.message : String(e)}`)
      }
    )
    loaded.set(key, p)
  }
  return p
}

class Tail {
  text = ''
  push(s: string): void {
    this.text += s
    if (this.text.length > TAIL_CHARS * 2) this.text = this.text.slice(-TAIL_CHARS)
  }
  toString(): string {
    return this.text.length > TAIL_CHARS ? this.text.slice(-TAIL_CHARS) : this.text
  }
}

const line = (args: unknown[]): string => args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' ') + '\n'

export default async function runFileItem(task: FileItemTask): Promise<FileItemTaskResult> {
  const stdout = new Tail()
  const stderr = new Tail()
  const saved = { log: console.log, info: console.info, debug: console.debug, warn: console.warn, error: console.error }
  // One task at a time per worker thread, so the console can be borrowed for its duration.
  console.log = console.info = console.debug = (...a: unknown[]) => stdout.push(line(a))
  console.warn = console.error = (...a: unknown[]) => stderr.push(line(a))
  try {
    let fn: ItemFunction
    try {
      fn = await load(task.module, task.exportName)
    } catch (e) {
      return { ok: false, load: true, message: (e as Error).message, stack: '', stdout: stdout.toString(), stderr: stderr.toString() }
    }
    await fn(task.file, task.context)
    return { ok: true, stdout: stdout.toString(), stderr: stderr.toString() }
  } catch (e) {
    const message = e instanceof Error ? e.message : `threw ${inspect(e)}`
    const stack = e instanceof Error && e.stack ? e.stack : ''
    return { ok: false, load: false, message, stack, stdout: stdout.toString(), stderr: stderr.toString() }
  } finally {
    Object.assign(console, saved)
  }
}
