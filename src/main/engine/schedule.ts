// Due times, as pure functions of a trigger and a clock: what the scheduler records and runs. Cron
// times come from croner, which handles time zones and daylight saving the way cron always has:
// a time that falls in the spring-forward gap runs once, right after it; a time that falls in the
// repeated autumn hour runs once, the first time; patterns that run every hour keep running every
// real hour (23 or 25 times on those days).
import { Cron } from 'croner'
import { parseDurationMs, type AnyJob, type Trigger } from '../../shared/job'

export type TimeTrigger = Trigger & ({ cron: string } | { every: string })

/** A stable name for a trigger: due times are recorded under it. */
export function triggerKey(t: Trigger): string {
  if (t.cron !== undefined) return `cron:${t.cron.trim().split(/\s+/).join(' ')}${t.timezone ? `@${t.timezone}` : ''}`
  if (t.every !== undefined) return `every:${parseDurationMs(t.every)}`
  return 'watch'
}

export function isTimeTrigger(t: Trigger): t is TimeTrigger {
  return t.cron !== undefined || t.every !== undefined
}

export function timeTriggers(job: AnyJob): TimeTrigger[] {
  return job.triggers.filter(isTimeTrigger)
}

export function watchTrigger(job: AnyJob): (Trigger & { watch: true }) | undefined {
  return job.triggers.find((t) => t.watch === true) as (Trigger & { watch: true }) | undefined
}

/** Upper bound on due times computed in one go (a years-long sleep with a per-second cron). */
const MAX_DUE_TIMES = 10_000

/**
 * The trigger's due times d with from < d <= to. An interval counts from its anchor (when the
 * schedule began), so its times do not drift with how late the scheduler woke up.
 */
export function dueTimesBetween(t: TimeTrigger, anchor: number, from: number, to: number, max = MAX_DUE_TIMES): number[] {
  const out: number[] = []
  if (to <= from) return out
  if (t.every !== undefined) {
    const step = parseDurationMs(t.every)
    let k = Math.max(1, Math.floor((from - anchor) / step) + 1)
    for (let d = anchor + k * step; d <= to && out.length < max; d = anchor + ++k * step) if (d > from) out.push(d)
    return out
  }
  const cron = new Cron(t.cron as string, { timezone: t.timezone, paused: true })
  let d: Date | null = new Date(from)
  while (out.length < max) {
    d = cron.nextRun(d)
    if (!d || d.getTime() > to) break
    out.push(d.getTime())
  }
  return out
}

/** The next `n` due times after `after`. */
export function nextDueTimes(t: TimeTrigger, anchor: number, after: number, n: number): number[] {
  if (t.every !== undefined) {
    const step = parseDurationMs(t.every)
    const k = Math.max(1, Math.floor((after - anchor) / step) + 1)
    return Array.from({ length: n }, (_, i) => anchor + (k + i) * step)
  }
  return dueTimesBetween(t, anchor, after, Number.MAX_SAFE_INTEGER, n)
}

/**
 * How late a due time may be found and still count as on time: half the gap to the trigger's
 * next time, at most a minute. Later than that, the machine was asleep or Batchery closed, and
 * the job's catch-up policy decides.
 */
export function graceMs(t: TimeTrigger, anchor: number, dueAt: number): number {
  const next = nextDueTimes(t, anchor, dueAt, 1)[0] ?? dueAt + 120_000
  return Math.max(1, Math.min(60_000, Math.floor((next - dueAt) / 2)))
}

export interface Due {
  triggerKey: string
  dueAt: number
  missed: boolean
}

export interface DueDecision extends Due {
  run: boolean
  /** Why it does not run, for the due-times list. */
  note: string | null
}

/**
 * What to do with the due times found at one wake-up, by the job's catch-up policy. On-time times
 * always run. Missed ones: none runs none; latest runs the newest once (or none, when an on-time
 * run follows anyway); all runs each, oldest first, up to the limit.
 */
export function decideCatchUp(dues: Due[], catchUp: AnyJob['catchUp'], limit: number): DueDecision[] {
  const sorted = [...dues].sort((a, b) => a.dueAt - b.dueAt || (a.triggerKey < b.triggerKey ? -1 : 1))
  const missed = sorted.filter((d) => d.missed)
  const onTime = sorted.filter((d) => !d.missed)
  const runMissed = new Set<Due>()
  const notes = new Map<Due, string>()
  if (catchUp === 'none') {
    for (const d of missed) notes.set(d, 'missed; not run (catch-up is "none")')
  } else if (catchUp === 'latest') {
    const latest = missed[missed.length - 1]
    const cover = onTime[0] ?? latest
    for (const d of missed) {
      if (d === cover) runMissed.add(d)
      else notes.set(d, `missed; covered by the run for ${stamp((cover as Due).dueAt)} (catch-up is "latest")`)
    }
  } else {
    missed.forEach((d, i) => {
      if (i < limit) runMissed.add(d)
      else notes.set(d, `missed; not run: more than ${limit} missed times (catchUpLimit)`)
    })
  }
  return sorted.map((d) => {
    const run = !d.missed || runMissed.has(d)
    return { ...d, run, note: run ? null : (notes.get(d) ?? null) }
  })
}

/** A time as an analyst reads it, in this computer's zone: 2026-11-28 07:00. */
export function stamp(ms: number): string {
  const d = new Date(ms)
  const p = (n: number): string => String(n).padStart(2, '0')
  const s = d.getSeconds() ? `:${p(d.getSeconds())}` : ''
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}${s}`
}

/** Temporary and partial names that a watched folder ignores until they are renamed. */
const TEMP_NAME = /(^|\/)(\.|~\$)|\.(tmp|temp|part|partial|crdownload|download|swp)$/i

export function isTempName(relPath: string): boolean {
  return TEMP_NAME.test(relPath)
}
