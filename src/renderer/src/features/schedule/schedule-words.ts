// Schedules in plain words for an analyst: what a cron expression or an interval means, what the
// catch-up and overlap policies do, and the next times a cron expression gives (computed here with
// the same cron library the engine uses, so the editor can show them before the job is saved).
import { Cron } from 'croner'
import type { ScheduleView } from '../../../../shared/api'

export type CatchUp = ScheduleView['catchUp']
export type Overlap = ScheduleView['overlap']

/** The time zone of this computer (what a new cron trigger starts with). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
  } catch {
    return 'UTC'
  }
}

/** Every time zone name the browser knows, for suggestions; empty where it cannot say. */
export function knownTimeZones(): string[] {
  try {
    return Intl.supportedValuesOf('timeZone')
  } catch {
    return []
  }
}

export const CRON_PRESETS: { key: string; label: string; cron: string }[] = [
  { key: 'weekdays', label: 'Weekdays at 07:00', cron: '0 7 * * 1-5' },
  { key: 'hourly', label: 'Every hour', cron: '0 * * * *' },
  { key: 'daily', label: 'Every day at 06:00', cron: '0 6 * * *' }
]

const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', timeZone: 'UTC' })
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', timeZone: 'UTC' })

/** 0 and 7 are Sunday, as in cron. */
function weekdayName(d: number): string {
  // 7 January 2024 was a Sunday.
  return weekdayFormat.format(new Date(Date.UTC(2024, 0, 7 + (d % 7))))
}

function clock(hour: number, minute: number): string {
  return clockFormat.format(new Date(Date.UTC(2000, 0, 1, hour, minute)))
}

function listWords(items: string[]): string {
  if (items.length <= 1) return items.join('')
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
}

function int(text: string, min: number, max: number): number | null {
  if (!/^\d+$/.test(text)) return null
  const n = Number(text)
  return n >= min && n <= max ? n : null
}

/** A list of plain numbers ("7", "7,12,17") in range, or null. */
function intList(text: string, min: number, max: number): number[] | null {
  const parts = text.split(',').map((p) => int(p, min, max))
  return parts.every((p) => p !== null) ? (parts as number[]) : null
}

function weekdaysWords(dow: string): string | null {
  const normal = dow.toUpperCase()
  const names: Record<string, number> = { SUN: 0, MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6 }
  const num = (s: string): number | null => (s in names ? (names[s] as number) : int(s, 0, 7))
  if (normal === '1-5' || normal === 'MON-FRI') return 'Monday to Friday'
  if (normal === '0,6' || normal === '6,0' || normal === 'SAT,SUN' || normal === '6-7') return 'on Saturdays and Sundays'
  const range = /^(\w+)-(\w+)$/.exec(normal)
  if (range) {
    const a = num(range[1] as string)
    const b = num(range[2] as string)
    return a !== null && b !== null ? `${weekdayName(a)} to ${weekdayName(b)}` : null
  }
  const days = normal.split(',').map(num)
  if (days.some((d) => d === null)) return null
  const words = (days as number[]).map(weekdayName)
  return days.length === 1 ? `every ${words[0]}` : `on ${listWords(words)}`
}

/**
 * A cron expression in words when it is one of the common shapes ("every day at 06:00",
 * "Monday to Friday at 07:00", "every 15 minutes"); null for anything else.
 */
export function describeCron(expr: string): string | null {
  let fields = expr.trim().split(/\s+/)
  if (fields.length === 6) {
    if (fields[0] !== '0') return null
    fields = fields.slice(1)
  }
  if (fields.length !== 5) return null
  const [min, hour, dom, month, dow] = fields as [string, string, string, string, string]
  if (month !== '*') return null
  const minute = int(min, 0, 59)
  const step = /^\*\/(\d+)$/.exec(min)
  if (hour === '*' && dom === '*' && dow === '*') {
    if (min === '*') return 'every minute'
    if (step) return `every ${Number(step[1])} minutes`
    if (minute === 0) return 'every hour, on the hour'
    if (minute !== null) return `every hour at ${minute} minute${minute === 1 ? '' : 's'} past`
    return null
  }
  const hours = intList(hour, 0, 23)
  if (minute === null || hours === null) {
    const hourStep = /^\*\/(\d+)$/.exec(hour)
    if (minute !== null && hourStep && dom === '*' && dow === '*') {
      return `every ${Number(hourStep[1])} hours, ${minute === 0 ? 'on the hour' : `at ${minute} minute${minute === 1 ? '' : 's'} past`}`
    }
    const hourRange = /^(\d+)-(\d+)$/.exec(hour)
    if (minute === 0 && hourRange && dom === '*') {
      const days = dow === '*' ? 'every day' : weekdaysWords(dow)
      const from = int(hourRange[1] as string, 0, 23)
      const to = int(hourRange[2] as string, 0, 23)
      if (days && from !== null && to !== null) return `${days}, every hour from ${clock(from, 0)} to ${clock(to, 0)}`
    }
    return null
  }
  const at = `at ${listWords(hours.map((h) => clock(h, minute)))}`
  if (dom === '*' && dow === '*') return `every day ${at}`
  if (dom === '*') {
    const days = weekdaysWords(dow)
    return days ? `${days} ${at}` : null
  }
  if (dow === '*') {
    const d = intList(dom, 1, 31)
    if (!d) return null
    return `on day ${listWords(d.map(String))} of every month ${at}`
  }
  return null
}

const UNIT_WORDS: Record<string, [string, string]> = {
  ms: ['millisecond', 'milliseconds'],
  s: ['second', 'seconds'],
  m: ['minute', 'minutes'],
  h: ['hour', 'hours']
}

/** "15m" as "15 minutes"; null when it is not a duration. */
export function durationWords(text: string): string | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(text.trim())
  if (!m) return null
  const n = Number(m[1])
  const words = UNIT_WORDS[m[2] as string] as [string, string]
  return `${m[1]} ${n === 1 ? words[0] : words[1]}`
}

function msWords(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000]
  ] as const) {
    if (ms % size === 0) return durationWords(`${ms / size}${unit}`) ?? `${ms} ms`
  }
  return `${ms} ms`
}

function capitalize(s: string): string {
  return s ? s[0]?.toUpperCase() + s.slice(1) : s
}

/** One trigger of a job definition, as a sentence. */
export function describeTrigger(t: unknown): string {
  const o = typeof t === 'object' && t !== null ? (t as Record<string, unknown>) : {}
  if (typeof o.cron === 'string') {
    const words = describeCron(o.cron)
    const zone = typeof o.timezone === 'string' && o.timezone ? ` (${o.timezone} time)` : ''
    return words ? `${capitalize(words)}${zone}` : `At the times “${o.cron}”${zone}`
  }
  if (typeof o.every === 'string') return `Every ${durationWords(o.every) ?? o.every}`
  if (o.watch === true) {
    const settle = typeof o.settle === 'string' ? durationWords(o.settle) : null
    return `When files land in the input folder (once they stop changing for ${settle ?? '5 seconds'})`
  }
  return 'A trigger Batchery does not know'
}

/**
 * The engine's name for a trigger (`cron:<expr>@<zone>`, `every:<ms>`, `watch`) as a sentence;
 * the definition's trigger, when known, adds what the name leaves out (the settle time).
 */
export function describeTriggerKey(key: string, definition?: unknown): string {
  if (definition !== undefined) return describeTrigger(definition)
  if (key.startsWith('cron:')) {
    const rest = key.slice(5)
    const at = rest.lastIndexOf('@')
    return at > 0 ? describeTrigger({ cron: rest.slice(0, at), timezone: rest.slice(at + 1) }) : describeTrigger({ cron: rest })
  }
  if (key.startsWith('every:')) {
    const ms = Number(key.slice(6))
    return Number.isFinite(ms) ? `Every ${msWords(ms)}` : key
  }
  if (key === 'watch') return describeTrigger({ watch: true })
  return key
}

/** The engine's label of a due time's trigger (`cron "0 7 * * 1-5" (Europe/Berlin)`, `every 1 h`) in words. */
export function plainTriggerLabel(label: string): string {
  const cron = /^cron "(.*)"(?: \((.*)\))?$/.exec(label)
  if (cron) return describeTrigger({ cron: cron[1], timezone: cron[2] })
  const every = /^every (\d+) (h|min|s|ms)$/.exec(label)
  if (every) return `Every ${durationWords(`${every[1]}${every[2] === 'min' ? 'm' : every[2]}`) ?? label}`
  if (label === 'when files land in the input folder') return 'When files land in the input folder'
  return capitalize(label)
}

/** The next `n` times of a cron expression in a time zone, or null when it is not valid. */
export function nextCronTimes(expr: string, timezone: string | undefined, n: number, from = new Date()): number[] | null {
  if (!expr.trim()) return null
  const fields = expr.trim().split(/\s+/)
  if (fields.length < 5 || fields.length > 6) return null
  try {
    const cron = new Cron(expr, { timezone: timezone || undefined, paused: true })
    return cron.nextRuns(n, from).map((d) => d.getTime())
  } catch {
    return null
  }
}

export const CATCH_UP_CHOICES: { value: CatchUp; label: string }[] = [
  { value: 'latest', label: 'Run once, for the latest missed time' },
  { value: 'all', label: 'Run once for each missed time' },
  { value: 'none', label: 'Skip missed times' }
]

export const OVERLAP_CHOICES: { value: Overlap; label: string }[] = [
  { value: 'queue', label: 'Wait for it to finish, then run' },
  { value: 'skip', label: 'Skip this time' },
  { value: 'cancel', label: 'Stop the older run and start the new one' }
]

/** What happens to times missed while Batchery was closed or the computer asleep. */
export function catchUpWords(catchUp: CatchUp, limit?: number): string {
  switch (catchUp) {
    case 'none':
      return 'Times missed while Batchery was closed or the computer was asleep are skipped; the job waits for its next time.'
    case 'latest':
      return 'If Batchery was closed or the computer was asleep at one or more times, the job runs once when it is back, for the latest of them.'
    case 'all':
      return `If Batchery was closed or the computer was asleep, the job runs once for each missed time when it is back${limit ? ` (at most ${limit} of them)` : ''}.`
  }
}

/** What happens when a time comes while the job's previous run is still going. */
export function overlapWords(overlap: Overlap): string {
  switch (overlap) {
    case 'queue':
      return 'If the previous run is still going when a time comes, the new run waits for it to finish.'
    case 'skip':
      return 'If the previous run is still going when a time comes, that time is skipped.'
    case 'cancel':
      return 'If the previous run is still going when a time comes, it is stopped and the new run starts.'
  }
}

export function incrementalWords(incremental: boolean): string {
  return incremental
    ? 'Runs that start by themselves take only files that are new or changed since a run processed them. Runs you start yourself take every file.'
    : 'Every run takes all the files in the input folder.'
}
