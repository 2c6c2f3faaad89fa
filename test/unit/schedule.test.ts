// Due times as pure functions of a trigger and a clock: cron with time zones and daylight saving
// in both directions, intervals, grace, and the catch-up policies.
import { describe, expect, it } from 'vitest'
import { parseJob } from '../../src/shared/job'
import { decideCatchUp, dueTimesBetween, graceMs, isTempName, nextDueTimes, triggerKey, type Due, type TimeTrigger } from '../../src/main/engine/schedule'

const H = 3_600_000
const utc = (s: string): number => Date.parse(s)

/** Local wall-clock "YYYY-MM-DD HH:MM" of each time in a zone. */
function local(times: number[], tz: string): string[] {
  return times.map((t) => new Date(t).toLocaleString('sv-SE', { timeZone: tz }).slice(0, 16))
}

describe('cron across daylight-saving changes', () => {
  const zones = [
    // zone, spring-forward day, fall-back day, a time in the skipped hour, a time in the repeated hour
    { tz: 'Europe/Berlin', spring: '2026-03-29', fall: '2026-10-25', gap: '30 2 * * *', repeat: '30 2 * * *' },
    { tz: 'America/New_York', spring: '2026-03-08', fall: '2026-11-01', gap: '30 2 * * *', repeat: '30 1 * * *' }
  ]
  for (const z of zones) {
    describe(z.tz, () => {
      const daysAround = (day: string): [number, number] => [utc(`${day}T00:00:00Z`) - 3 * 24 * H, utc(`${day}T00:00:00Z`) + 3 * 24 * H]

      it('a daily time inside the skipped spring hour runs once that day, right after the jump', () => {
        const [from, to] = daysAround(z.spring)
        const times = dueTimesBetween({ cron: z.gap, timezone: z.tz }, 0, from, to)
        const days = local(times, z.tz).map((s) => s.slice(0, 10))
        expect(new Set(days).size).toBe(days.length) // never twice a day
        expect(days).toContain(z.spring) // never skipped
        expect(local(times, z.tz)).toContain(`${z.spring} 03:00`)
        // every other day at its usual time
        for (const s of local(times, z.tz)) if (!s.startsWith(z.spring)) expect(s.slice(11)).toBe(z.gap === '30 2 * * *' ? '02:30' : s.slice(11))
      })

      it('a daily time inside the repeated autumn hour runs once that day', () => {
        const [from, to] = daysAround(z.fall)
        const times = dueTimesBetween({ cron: z.repeat, timezone: z.tz }, 0, from, to)
        const days = local(times, z.tz).map((s) => s.slice(0, 10))
        expect(new Set(days).size).toBe(days.length)
        expect(days.filter((d) => d === z.fall)).toHaveLength(1)
        expect(times.length).toBe(6)
      })

      it('an hourly job runs every real hour: 23 on the spring day, 25 on the autumn day, never twice at one instant', () => {
        const dayBounds = (day: string): [number, number] => {
          // from local midnight to the next local midnight, found by scanning the due times
          const all = dueTimesBetween({ cron: '0 * * * *', timezone: z.tz }, 0, utc(`${day}T00:00:00Z`) - 24 * H, utc(`${day}T00:00:00Z`) + 48 * H)
          const ofDay = all.filter((t) => local([t], z.tz)[0]?.startsWith(day))
          return [ofDay[0] as number, ofDay[ofDay.length - 1] as number]
        }
        for (const [day, expected] of [[z.spring, 23], [z.fall, 25]] as const) {
          const [first, last] = dayBounds(day)
          const times = dueTimesBetween({ cron: '0 * * * *', timezone: z.tz }, 0, first - 1, last)
          expect(times).toHaveLength(expected)
          expect(new Set(times).size).toBe(times.length)
          for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBe(H)
        }
      })
    })
  }

  it('honours the time zone: 07:00 on weekdays in Berlin is 06:00 UTC in winter, 05:00 in summer', () => {
    const t: TimeTrigger = { cron: '0 7 * * 1-5', timezone: 'Europe/Berlin' }
    expect(nextDueTimes(t, 0, utc('2026-11-27T12:00:00Z'), 2).map((x) => new Date(x).toISOString())).toEqual([
      '2026-11-30T06:00:00.000Z', // Friday afternoon → Monday
      '2026-12-01T06:00:00.000Z'
    ])
    expect(new Date(nextDueTimes(t, 0, utc('2026-06-01T00:00:00Z'), 1)[0] as number).toISOString()).toBe('2026-06-01T05:00:00.000Z')
  })

  it('takes an optional seconds field', () => {
    const times = dueTimesBetween({ cron: '*/20 * * * * *' }, 0, utc('2026-01-01T00:00:00Z'), utc('2026-01-01T00:01:00Z'))
    expect(times.map((x) => new Date(x).toISOString().slice(14, 19))).toEqual(['00:20', '00:40', '01:00'])
  })
})

describe('intervals', () => {
  it('count from their anchor, never from when the scheduler woke', () => {
    const anchor = utc('2026-11-28T10:00:07Z')
    const t: TimeTrigger = { every: '15m' }
    expect(dueTimesBetween(t, anchor, anchor, anchor + H)).toEqual([1, 2, 3, 4].map((k) => anchor + k * 15 * 60_000))
    // a wake-up at an odd moment finds the same times
    expect(dueTimesBetween(t, anchor, anchor + 17 * 60_000 + 123, anchor + 46 * 60_000)).toEqual([anchor + 30 * 60_000, anchor + 45 * 60_000])
    expect(nextDueTimes(t, anchor, anchor + 15 * 60_000, 2)).toEqual([anchor + 30 * 60_000, anchor + 45 * 60_000])
  })

  it('over an hour of simulated time woken at random moments, every due time is found exactly once, with no drift', () => {
    let seed = 7
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const anchor = utc('2026-11-28T08:00:00Z')
    const t: TimeTrigger = { every: '1m' }
    let cursor = anchor
    const found: number[] = []
    while (cursor < anchor + H) {
      const now = Math.min(anchor + H, cursor + Math.floor(rand() * 150_000))
      found.push(...dueTimesBetween(t, anchor, cursor, now))
      cursor = now
    }
    expect(found).toEqual(Array.from({ length: 60 }, (_, i) => anchor + (i + 1) * 60_000))
  })
})

describe('grace: how late a due time may be found and still be on time', () => {
  it('is half the gap to the next time, at most a minute', () => {
    expect(graceMs({ every: '2s' }, 0, 2000)).toBe(1000)
    expect(graceMs({ every: '1h' }, 0, H)).toBe(60_000)
    expect(graceMs({ cron: '0 7 * * *', timezone: 'UTC' }, 0, utc('2026-11-28T07:00:00Z'))).toBe(60_000)
  })
})

describe('catch-up policies', () => {
  const dues = (missed: number, onTime: number): Due[] => [
    ...Array.from({ length: missed }, (_, i) => ({ triggerKey: 'every:3600000', dueAt: (i + 1) * H, missed: true })),
    ...Array.from({ length: onTime }, (_, i) => ({ triggerKey: 'every:3600000', dueAt: (missed + i + 1) * H, missed: false }))
  ]

  it('none: every missed time is recorded as missed and none runs', () => {
    const d = decideCatchUp(dues(5, 0), 'none', 10)
    expect(d.filter((x) => x.run)).toHaveLength(0)
    expect(d.every((x) => x.note?.includes('catch-up is "none"'))).toBe(true)
  })

  it('latest: the newest missed time runs once, the others say which run covered them', () => {
    const d = decideCatchUp(dues(5, 0), 'latest', 10)
    expect(d.filter((x) => x.run).map((x) => x.dueAt)).toEqual([5 * H])
    expect(d.filter((x) => !x.run)).toHaveLength(4)
    expect(d[0]?.note).toMatch(/covered by the run for/)
  })

  it('latest with an on-time time: the on-time run covers the missed ones', () => {
    const d = decideCatchUp(dues(3, 1), 'latest', 10)
    expect(d.filter((x) => x.run).map((x) => x.dueAt)).toEqual([4 * H])
  })

  it('all: each missed time runs, oldest first, up to the limit; the rest are recorded', () => {
    const d = decideCatchUp(dues(5, 1), 'all', 3)
    expect(d.filter((x) => x.run).map((x) => x.dueAt)).toEqual([1 * H, 2 * H, 3 * H, 6 * H])
    expect(d.filter((x) => !x.run).every((x) => x.note?.includes('catchUpLimit'))).toBe(true)
  })
})

describe('triggers in the job file', () => {
  const base = { name: 'j', kind: 'records', input: { folder: 'in', format: 'csv' }, output: { folder: 'out', format: 'csv' } }
  const problems = (extra: Record<string, unknown>): string[] => {
    const r = parseJob({ ...base, ...extra })
    return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)
  }

  it('accepts the documented shape', () => {
    expect(
      problems({
        triggers: [{ cron: '0 7 * * 1-5', timezone: 'Europe/Berlin' }, { every: '15m' }, { watch: true, settle: '5s' }],
        catchUp: 'latest',
        overlap: 'queue',
        incremental: true
      })
    ).toEqual([])
  })

  it('explains bad cron times, time zones and mixed triggers in plain words', () => {
    expect(problems({ triggers: [{ cron: '0 7 * *' }] })[0]).toMatch(/^triggers\[0\]\.cron: "0 7 \* \*" has 4 fields; a cron time has 5/)
    expect(problems({ triggers: [{ cron: '61 7 * * *' }] })[0]).toMatch(/^triggers\[0\]\.cron: "61 7 \* \* \*" is not a valid cron time/)
    expect(problems({ triggers: [{ cron: '0 7 * * *', timezone: 'Mars/Olympus' }] })[0]).toMatch(/triggers\[0\]\.timezone: "Mars\/Olympus" is not a time zone/)
    expect(problems({ triggers: [{ cron: '0 7 * * *', every: '1h' }] })[0]).toMatch(/triggers\[0\]: a trigger is one of cron, every or watch; this one has cron and every/)
    expect(problems({ triggers: [{}] })[0]).toMatch(/triggers\[0\]: a trigger needs one of/)
    expect(problems({ triggers: [{ every: 'often' }] })[0]).toMatch(/triggers\[0\]\.every: a duration like/)
    expect(problems({ triggers: [{ evry: '1h' }] })).toContain('triggers[0].evry: unknown field "evry"; did you mean "every"?')
    expect(problems({ catchUp: 'some' })[0]).toMatch(/catchUp: must be one of "none", "latest", "all"/)
  })

  it('names triggers stably, so a due time is recorded under the same key across restarts', () => {
    expect(triggerKey({ cron: ' 0  7 * * 1-5 ', timezone: 'Europe/Berlin' })).toBe('cron:0 7 * * 1-5@Europe/Berlin')
    expect(triggerKey({ every: '15m' })).toBe(triggerKey({ every: '900s' }))
    expect(triggerKey({ watch: true })).toBe('watch')
  })
})

describe('watched folders ignore temporary names', () => {
  it.each([
    ['report.csv.tmp', true],
    ['report.csv.part', true],
    ['~$report.xlsx', true],
    ['.report.csv.swp', true],
    ['sub/.hidden.csv', true],
    ['download.csv.crdownload', true],
    ['report.csv', false],
    ['sub/report-2026.csv', false]
  ])('%s → %s', (name, ignored) => expect(isTempName(name)).toBe(ignored))
})
