// Run log lines as the engine gives them: JSON (pino) or text like
// `2026-11-28T09:32:48.277Z info run started {"job":"orders"}`. Either way: time, level, message,
// and the other fields.

export interface LogLine {
  time: string | null
  level: 'info' | 'warn' | 'error' | 'debug' | 'other'
  message: string
  fields: string
}

const LEVEL_NUMBERS: Record<number, LogLine['level']> = { 10: 'debug', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'error' }
const LEVEL_NAMES: Record<string, LogLine['level']> = { trace: 'debug', debug: 'debug', info: 'info', warn: 'warn', warning: 'warn', error: 'error', fatal: 'error' }
const HIDDEN = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'runId', 'v'])
const TEXT_LINE = /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z?)\s+(\w+)\s+(.*?)(\s+\{.*\})?$/

function timeText(t: string | number): string {
  const d = new Date(t)
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleTimeString()
}

export function parseLogLine(line: string): LogLine {
  const trimmed = line.trim()
  if (trimmed.startsWith('{')) {
    try {
      const o = JSON.parse(trimmed) as Record<string, unknown>
      const level =
        typeof o.level === 'number' ? (LEVEL_NUMBERS[o.level] ?? 'other') : typeof o.level === 'string' ? (LEVEL_NAMES[o.level.toLowerCase()] ?? 'other') : 'other'
      const fields = Object.entries(o)
        .filter(([k]) => !HIDDEN.has(k))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ')
      return {
        time: typeof o.time === 'number' || typeof o.time === 'string' ? timeText(o.time) : null,
        level,
        message: typeof o.msg === 'string' ? o.msg : '',
        fields
      }
    } catch {
      // Not JSON after all: shown as text below.
    }
  }
  const m = TEXT_LINE.exec(trimmed)
  if (m) {
    const level = LEVEL_NAMES[(m[2] as string).toLowerCase()]
    if (level) return { time: timeText(m[1] as string), level, message: m[3] ?? '', fields: (m[4] ?? '').trim() }
  }
  return { time: null, level: 'other', message: line, fields: '' }
}
