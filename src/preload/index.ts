// The preload puts the engine's contract on window.api and nothing else: call(method, params),
// subscribe(event, listener), pathForFile(file) for dropped files, pickFolder(options) for the
// native folder dialog, and capability flags. The page never sees ipcRenderer, an IPC event object
// or a generic send.
//
// The desktop app reaches only folders the user chose (src/main/electron/folder-grants.ts). A path
// from pathForFile is one the user chose by dropping it (or picking it with a file input): the page
// cannot make webUtils give a path for a file it made itself. So pathForFile tells main about the
// path on a channel of its own, before the page can use it; the page cannot send on that channel.
// IPC messages from one page arrive in order, so main has granted the path before any call that
// names it.
//
// It runs sandboxed and is built as CommonJS, so it imports 'electron' and nothing else (type
// imports vanish at build time). The channel names are repeated from src/main/electron/ipc.ts
// for that reason.
import { contextBridge, ipcRenderer, webUtils } from 'electron'
import type { ApiError, Result } from '../shared/api'

const CALL_CHANNEL = 'batchery:call'
const EVENT_CHANNEL = 'batchery:event'
const DROPPED_PATH_CHANNEL = 'batchery:dropped-path'
const PICK_FOLDER = 'dialogs.pickFolder'

type Listener = (payload: unknown) => void

const listeners = new Map<string, Set<Listener>>()

// One IPC listener for all subscriptions; each page listener receives only the payload.
ipcRenderer.on(EVENT_CHANNEL, (_event, message: unknown) => {
  if (typeof message !== 'object' || message === null) return
  const { event, payload } = message as { event?: unknown; payload?: unknown }
  if (typeof event !== 'string') return
  const set = listeners.get(event)
  if (!set) return
  for (const listener of [...set]) {
    try {
      listener(payload)
    } catch {
      // A page listener that throws must not stop the others; the page reports its own errors.
    }
  }
})

function failure(code: ApiError['code'], message: string): Result<never> {
  return { ok: false, error: { code, message } }
}

/** Calls a method of the contract (or one main answers itself); always resolves with a Result, never rejects. */
function call(method: string, params: unknown): Promise<Result<unknown>> {
  if (typeof method !== 'string') return Promise.resolve(failure('unknown_method', 'Unknown request without a name.'))
  try {
    return ipcRenderer.invoke(CALL_CHANNEL, method, params).then(
      (result: Result<unknown>) => result,
      () => failure('internal', 'Batchery could not be reached. Try again in a moment.')
    )
  } catch {
    // Params that cannot be copied to the main process (functions, DOM nodes...).
    return Promise.resolve(failure('invalid_params', `The request ${method} has parameters that cannot be sent.`))
  }
}

const api = {
  /** Calls a method of the contract; always resolves with a Result, never rejects. */
  call(method: string, params: unknown): Promise<Result<unknown>> {
    return call(method, params)
  },

  /** Listens to one event; returns the function that stops listening. */
  subscribe(event: string, listener: Listener): () => void {
    if (typeof event !== 'string' || typeof listener !== 'function') return () => {}
    let set = listeners.get(event)
    if (!set) {
      set = new Set()
      listeners.set(event, set)
    }
    set.add(listener)
    return () => {
      const current = listeners.get(event)
      if (!current) return
      current.delete(listener)
      if (current.size === 0) listeners.delete(event)
    }
  },

  /** The real path of a dropped file or folder; '' when it has none (e.g. made in the page). Main grants it. */
  pathForFile(file: File): string {
    let path: string
    try {
      path = webUtils.getPathForFile(file)
    } catch {
      return ''
    }
    if (typeof path !== 'string' || path === '') return ''
    try {
      ipcRenderer.send(DROPPED_PATH_CHANNEL, path)
    } catch {
      // Main could not be told: calls naming the path will be refused with a plain message.
    }
    return path
  },

  /** The native folder dialog; resolves with { path } of the folder chosen (and granted), or { path: null } when cancelled. */
  pickFolder(options?: { purpose?: 'input' | 'output' | 'archive'; defaultPath?: string }): Promise<Result<unknown>> {
    const params: Record<string, unknown> = {}
    if (options && typeof options === 'object') {
      if (typeof options.purpose === 'string') params.purpose = options.purpose
      if (typeof options.defaultPath === 'string') params.defaultPath = options.defaultPath
    }
    return call(PICK_FOLDER, params)
  },

  capabilities: Object.freeze({ desktop: true })
}

contextBridge.exposeInMainWorld('api', api)
