// The contract over Electron IPC: one invoke channel for calls, one channel for events, and one
// message channel on which the preload reports the path of a file or folder the user dropped (or
// picked with a file input), so main can grant it (folder-grants.ts). Main checks who is calling,
// what shape the call has and, through the guard, that the paths it names are in folders the user
// chose, then forwards; the engine's dispatcher validates params with the contract's schemas.
//
// Electron is only imported for its types: index.ts passes the real ipcMain, tests a fake.
import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent, WebContents } from 'electron'
import { methods, type ApiError, type Result } from '../../shared/api'
import type { Logger } from '../engine/log'
import { originOf } from './security'

export const CALL_CHANNEL = 'batchery:call'
export const EVENT_CHANNEL = 'batchery:event'
/** Preload -> main, fire and forget: the real path of something the user dropped (webUtils.getPathForFile). */
export const DROPPED_PATH_CHANNEL = 'batchery:dropped-path'

/** What the sender check needs to know about the frame a call came from. */
export interface SenderFrame {
  url: string
  isMainFrame: boolean
}

/**
 * A call is trusted only from the top-level frame of a page whose origin is exactly one of ours:
 * parsed with URL and compared whole, so "app://batchery.evil" or an iframe never pass.
 */
export function isTrustedSender(frame: SenderFrame | null | undefined, allowedOrigins: readonly string[]): boolean {
  if (!frame || frame.isMainFrame !== true || typeof frame.url !== 'string') return false
  const origin = originOf(frame.url)
  return origin !== null && allowedOrigins.includes(origin)
}

export type LocalMethod = (params: Record<string, unknown>) => Promise<Result<unknown>>

export type CheckedCall = { ok: true; method: string; params: Record<string, unknown> } | { ok: false; error: ApiError }

/** The method must be one the contract names (or one main answers itself); params an object. */
export function checkCall(method: unknown, params: unknown, localMethods: Readonly<Record<string, LocalMethod>> = {}): CheckedCall {
  if (typeof method !== 'string' || (!Object.hasOwn(methods, method) && !Object.hasOwn(localMethods, method))) {
    const name = typeof method === 'string' ? `"${method.slice(0, 100)}"` : 'without a name'
    return { ok: false, error: { code: 'unknown_method', message: `Unknown request ${name}.` } }
  }
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return { ok: false, error: { code: 'invalid_params', message: `The request ${method} is malformed: its parameters must be an object.` } }
  }
  return { ok: true, method, params: params as Record<string, unknown> }
}

export const REFUSED_SENDER: ApiError = {
  code: 'forbidden',
  message: 'This request was refused because it did not come from a Batchery window.'
}

const FORWARD_FAILED: ApiError = { code: 'internal', message: 'Something went wrong inside Batchery; try again.' }

export interface IpcOptions {
  /** The origins a calling page may have (see rendererEntry). */
  allowedOrigins: readonly string[]
  /** Whether these web contents belong to one of our windows. */
  isOurWindow: (contents: WebContents) => boolean
  /** The engine: forwards a call and resolves with its Result. */
  forward: (method: string, params: Record<string, unknown>) => Promise<Result<unknown>>
  /** Desktop-only methods main answers itself (they need the shell). */
  local?: Readonly<Record<string, LocalMethod>>
  /** Checked before a call is forwarded to the engine: null lets it through, an error refuses it. */
  guard?: (method: string, params: Record<string, unknown>) => Promise<ApiError | null>
  /** A path the preload saw the user drop, from a trusted sender (unchecked otherwise: validate it). */
  onDroppedPath?: (path: unknown) => void
  log?: Pick<Logger, 'warn' | 'error'>
}

function senderFrameOf(event: Pick<IpcMainInvokeEvent, 'senderFrame'>): SenderFrame | null {
  const frame = event.senderFrame
  if (!frame) return null // the frame navigated away or was destroyed before the call arrived
  return { url: frame.url, isMainFrame: frame.parent === null }
}

/** The handler for CALL_CHANNEL. It never throws: every outcome is a Result. */
export function createCallHandler(opts: IpcOptions): (event: IpcMainInvokeEvent, method: unknown, params: unknown) => Promise<Result<unknown>> {
  const local = opts.local ?? {}
  return async (event, method, params) => {
    try {
      const frame = senderFrameOf(event)
      if (!opts.isOurWindow(event.sender) || !isTrustedSender(frame, opts.allowedOrigins)) {
        opts.log?.warn('ipc call refused: untrusted sender', { url: frame?.url.slice(0, 200) ?? null, isMainFrame: frame?.isMainFrame ?? null })
        return { ok: false, error: REFUSED_SENDER }
      }
      const checked = checkCall(method, params, local)
      if (!checked.ok) return checked
      const handler = Object.hasOwn(local, checked.method) ? local[checked.method] : undefined
      if (handler) return await handler(checked.params)
      const refusal = opts.guard ? await opts.guard(checked.method, checked.params) : null
      if (refusal) return { ok: false, error: refusal }
      return await opts.forward(checked.method, checked.params)
    } catch (e) {
      opts.log?.error('ipc call failed', { error: (e as Error)?.message })
      return { ok: false, error: FORWARD_FAILED }
    }
  }
}

/** The listener for DROPPED_PATH_CHANNEL: passes the path on only from a trusted sender. It never throws. */
export function createDroppedPathListener(opts: IpcOptions): (event: IpcMainEvent, path: unknown) => void {
  return (event, path) => {
    try {
      const frame = senderFrameOf(event)
      if (!opts.isOurWindow(event.sender) || !isTrustedSender(frame, opts.allowedOrigins)) {
        opts.log?.warn('dropped path refused: untrusted sender', { url: frame?.url.slice(0, 200) ?? null })
        return
      }
      opts.onDroppedPath?.(path)
    } catch (e) {
      opts.log?.error('dropped path failed', { error: (e as Error)?.message })
    }
  }
}

/** Registers the call channel (and the dropped-path channel when asked); returns a function that removes them. */
export function registerIpc(ipcMain: Pick<IpcMain, 'handle' | 'removeHandler' | 'on' | 'removeListener'>, opts: IpcOptions): () => void {
  ipcMain.handle(CALL_CHANNEL, createCallHandler(opts))
  const dropped = opts.onDroppedPath ? createDroppedPathListener(opts) : null
  if (dropped) ipcMain.on(DROPPED_PATH_CHANNEL, dropped)
  return () => {
    ipcMain.removeHandler(CALL_CHANNEL)
    if (dropped) ipcMain.removeListener(DROPPED_PATH_CHANNEL, dropped)
  }
}

/** What travels on EVENT_CHANNEL: the event's name and its plain payload. */
export interface EventMessage {
  event: string
  payload: unknown
}

/** Sends an event to a page, unless the page is gone. */
export function sendEvent(contents: Pick<WebContents, 'isDestroyed' | 'send'>, event: string, payload: unknown): void {
  if (contents.isDestroyed()) return
  const message: EventMessage = { event, payload }
  contents.send(EVENT_CHANNEL, message)
}
