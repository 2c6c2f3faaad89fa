// Numbers, sizes, times and cell values as an analyst reads them.

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })
const decimalFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 })
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' })

export function formatCount(n: number): string {
  return numberFormat.format(n)
}

export function formatDecimal(n: number): string {
  return decimalFormat.format(n)
}

/** A rate: whole numbers from 100 up, one decimal below (12.5 MB/s, 166,033 records/s). */
export function formatRate(n: number): string {
  return Math.abs(n) >= 100 ? numberFormat.format(n) : decimalFormat.format(n)
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let v = bytes
  let unit = 'B'
  for (const u of units) {
    if (v < 1000) break
    v /= 1000
    unit = u
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${unit}`
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`
  const m = Math.floor(s / 60)
  const rest = Math.round(s % 60)
  if (m < 60) return `${m} min ${rest} s`
  const h = Math.floor(m / 60)
  return `${h} h ${m % 60} min`
}

export function formatDateTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—'
  return dateTimeFormat.format(new Date(ms))
}

export function formatTime(ms: number): string {
  return timeFormat.format(new Date(ms))
}

/** "3 minutes ago", or the date for anything older than a day. */
export function formatAgo(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return '—'
  const s = Math.round((now - ms) / 1000)
  if (s < 0) return formatDateTime(ms)
  if (s < 45) return 'just now'
  const m = Math.round(s / 60)
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'} ago`
  const h = Math.round(m / 60)
  if (h < 24) return `${h} hour${h === 1 ? '' : 's'} ago`
  return formatDateTime(ms)
}

export function formatPercent(share: number | null | undefined): string {
  if (share === null || share === undefined) return '—'
  return `${Math.round(share * 100)}%`
}

/** A value from a file or a record, as plain text. Never markup: the value is untrusted. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  try {
    return JSON.stringify(value)
  } catch {
    return String(value)
  }
}

/** The last part of a path, whichever separator the machine uses. */
export function baseName(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, '')
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'))
  return i >= 0 ? trimmed.slice(i + 1) : trimmed
}

const shortTimeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' })
const secondsTimeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' })
const dateTimeSecondsFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
const relativeDayFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

function startOfDay(ms: number): number {
  const d = new Date(ms)
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime()
}

/** A time near now as "today at 14:00" or "tomorrow at 07:00"; further away, the date and time. */
export function formatDueTime(ms: number | null | undefined, now = Date.now(), seconds = false): string {
  if (ms === null || ms === undefined) return '—'
  const days = Math.round((startOfDay(ms) - startOfDay(now)) / 86_400_000)
  if (days >= -1 && days <= 1) return `${relativeDayFormat.format(days, 'day')} at ${(seconds ? secondsTimeFormat : shortTimeFormat).format(new Date(ms))}`
  return seconds ? dateTimeSecondsFormat.format(new Date(ms)) : formatDateTime(ms)
}

/** The date and time, with seconds when the time is not on a whole minute (an interval's due times). */
export function formatDateTimeExact(ms: number): string {
  return ms % 60_000 === 0 ? formatDateTime(ms) : dateTimeSecondsFormat.format(new Date(ms))
}
