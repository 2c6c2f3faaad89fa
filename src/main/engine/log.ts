// Logging through createLogger(scope) with an injected sink; the engine never calls console.
// Run logs are JSON lines (pino) in <home>/logs/<runId>.log, readable with any JSON-lines viewer.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(scope: string): Logger
}

export function createLogger(sink: pino.Logger, scope: string): Logger {
  const l = sink.child({ scope })
  return {
    info: (msg, fields) => l.info(fields ?? {}, msg),
    warn: (msg, fields) => l.warn(fields ?? {}, msg),
    error: (msg, fields) => l.error(fields ?? {}, msg),
    child: (s) => createLogger(sink, `${scope}.${s}`)
  }
}

/** A run's own log file, written synchronously so that a kill -9 loses nothing already logged. */
export function runLogSink(home: string, runId: string): pino.Logger {
  const dir = join(home, 'logs')
  mkdirSync(dir, { recursive: true })
  return pino({ base: { runId } }, pino.destination({ dest: join(dir, `${runId}.log`), sync: true, append: true }))
}

export function runLogPath(home: string, runId: string): string {
  return join(home, 'logs', `${runId}.log`)
}

export const silentLogger: Logger = {
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger
}

/** The engine's own log (requests that failed, start-up repairs), beside the run logs. */
export function engineLogger(home: string): Logger {
  const dir = join(home, 'logs')
  mkdirSync(dir, { recursive: true })
  return createLogger(pino(pino.destination({ dest: join(dir, 'engine.log'), sync: true, append: true })), 'engine')
}

/** An error's message, for logs and run messages. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
