// The scheduler with a fake clock over the real engine: real runs, real worker threads, a real
// SQLite file. Due times run at most once (also across a restart), missed times follow the
// catch-up policy, overlapping due times follow the overlap policy, and the ledger makes a
// scheduled run take only what is new.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Engine } from '../../src/main/engine/engine'
import { loadJob } from '../../src/main/engine/job-check'
import { Scheduler, setJobEnabled, type DueTimeRow } from '../../src/main/engine/scheduler'
import { ROOT, readJsonl, tempDir } from '../helpers/cli'
import { orderRows, ordersCsv } from '../helpers/orders'

const H = 3_600_000
const T0 = Date.parse('2026-11-28T06:00:00Z')

interface Rig {
  dir: string
  engine: Engine
  clock: { t: number; now(): number }
  scheduler: Scheduler
  dues(): (DueTimeRow & { run_status: string | null })[]
  settle(): Promise<void>
  restart(): Promise<void>
}

const open: Engine[] = []
afterEach(async () => {
  for (const e of open.splice(0)) {
    await e.shutdown()
    e.close()
  }
})

function rig(job: Record<string, unknown>, files: Record<string, string> = { 'a.csv': ordersCsv(orderRows(50, 1)) }): Rig {
  const dir = tempDir()
  mkdirSync(join(dir, 'in'))
  for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, 'in', n), c)
  const def = {
    name: 'sched',
    kind: 'records',
    input: { folder: 'in', include: ['*.csv'], format: 'csv' },
    steps: [{ filter: "status != 'cancelled'" }],
    output: { folder: 'out', format: 'jsonl', layout: 'per-input' },
    policy: { concurrency: 1 },
    ...job
  }
  const clock = { t: T0, now: () => clock.t }
  const home = join(dir, 'home')
  let engine = new Engine(home)
  open.push(engine)
  const loaded = loadJob(def, dir, null)
  engine.store.saveJobVersion('sched', loaded.hash, loaded.definition, loaded.baseDir, null)
  setJobEnabled(engine, 'sched', true, T0)
  const r: Rig = {
    dir,
    engine,
    clock,
    scheduler: new Scheduler(engine, { clock }),
    dues: () =>
      r.engine.store.db
        .prepare('SELECT d.*, r.status AS run_status FROM due_times d LEFT JOIN runs r ON r.id = d.run_id ORDER BY d.due_at, d.id')
        .all() as (DueTimeRow & { run_status: string | null })[],
    settle: async () => {
      // Runs end in the background; an end may start a waiting due time.
      for (let i = 0; i < 200; i++) {
        const ids = r.engine.activeRunIds
        if (!ids.length) {
          await new Promise((res) => setTimeout(res, 20))
          if (!r.engine.activeRunIds.length) return
          continue
        }
        await Promise.all(ids.map((id) => r.engine.settled(id)))
      }
    },
    restart: async () => {
      await r.scheduler.stop()
      r.engine.close()
      open.splice(open.indexOf(r.engine), 1)
      engine = new Engine(home)
      open.push(engine)
      r.engine = engine
      r.scheduler = new Scheduler(engine, { clock })
    }
  }
  return r
}

describe('scheduler (fake clock, real engine)', () => {
  it('runs each due time once, on time, and never again: not on a second tick, not after a restart', async () => {
    const r = rig({ triggers: [{ every: '1h' }] })
    r.scheduler.tick()
    expect(r.dues()).toHaveLength(0) // nothing due at the start
    r.clock.t = T0 + H + 500
    r.scheduler.tick()
    r.scheduler.tick()
    await r.settle()
    await r.restart()
    r.scheduler.tick()
    await r.settle()
    const dues = r.dues()
    expect(dues).toHaveLength(1)
    expect(dues[0]).toMatchObject({ due_at: T0 + H, missed: 0, status: 'started', run_status: 'succeeded' })
    const runs = r.engine.store.runs()
    expect(runs).toHaveLength(1)
    expect(JSON.parse(runs[0]?.trigger as string)).toMatchObject({ kind: 'every', dueAt: T0 + H, missed: false })
  })

  for (const [policy, ran, missedNotes] of [
    ['none', [] as number[], 5],
    ['latest', [5], 4],
    ['all', [1, 2, 3], 2]
  ] as const) {
    it(`after 5 h asleep, catch-up "${policy}" runs ${ran.length ? `due time${ran.length > 1 ? 's' : ''} ${ran.join(', ')}` : 'nothing'} and records every missed time`, async () => {
      const r = rig({ triggers: [{ every: '1h' }], catchUp: policy, catchUpLimit: 3 })
      r.scheduler.tick()
      r.clock.t = T0 + 5 * H + 10 * 60_000 // woke 10 minutes after the fifth due time
      r.scheduler.tick()
      await r.settle()
      const dues = r.dues()
      expect(dues.map((d) => d.due_at)).toEqual([1, 2, 3, 4, 5].map((k) => T0 + k * H))
      expect(dues.every((d) => d.missed === 1)).toBe(true)
      expect(dues.filter((d) => d.status === 'started').map((d) => (d.due_at - T0) / H)).toEqual(ran)
      expect(dues.filter((d) => d.status === 'started').every((d) => d.run_status === 'succeeded')).toBe(true)
      expect(dues.filter((d) => d.status === 'missed')).toHaveLength(missedNotes)
      expect(dues.filter((d) => d.status === 'missed').every((d) => (d.note ?? '').length > 10)).toBe(true)
      expect(r.engine.store.runs()).toHaveLength(ran.length)
    })
  }

  describe('overlap: a due time while the previous run is still going', () => {
    const slowJob = (overlap: string) => ({
      triggers: [{ every: '1m' }],
      overlap,
      steps: [{ script: join(ROOT, 'test', 'fixtures', 'scripts', 'slow.mjs') }]
    })
    const slowFiles = { 'a.csv': ordersCsv(orderRows(400, 2)) } // about a second of work

    it('skip: the second due time is recorded as skipped, naming the run that was going', async () => {
      const r = rig(slowJob('skip'), slowFiles)
      r.scheduler.tick()
      r.clock.t = T0 + 60_000
      r.scheduler.tick()
      r.clock.t = T0 + 120_000
      r.scheduler.tick()
      await r.settle()
      const dues = r.dues()
      expect(dues.map((d) => d.status)).toEqual(['started', 'skipped'])
      expect(dues[1]?.note).toContain(dues[0]?.run_id as string)
      expect(r.engine.store.runs()).toHaveLength(1)
    })

    it('queue: the second due time waits and runs after the first; never two at once', async () => {
      const r = rig(slowJob('queue'), slowFiles)
      r.scheduler.tick()
      r.clock.t = T0 + 60_000
      r.scheduler.tick()
      r.clock.t = T0 + 120_000
      r.scheduler.tick()
      expect(r.dues().map((d) => d.status)).toEqual(['started', 'waiting'])
      await r.settle()
      const dues = r.dues()
      expect(dues.map((d) => [d.status, d.run_status])).toEqual([['started', 'succeeded'], ['started', 'succeeded']])
      const runs = r.engine.store.runs().sort((a, b) => (a.started_at as number) - (b.started_at as number))
      expect(runs).toHaveLength(2)
      expect(runs[1]?.started_at as number).toBeGreaterThanOrEqual(runs[0]?.finished_at as number)
    })

    it('cancel: the older run is cancelled and the new due time runs', async () => {
      const r = rig(slowJob('cancel'), slowFiles)
      r.scheduler.tick()
      r.clock.t = T0 + 60_000
      r.scheduler.tick()
      r.clock.t = T0 + 120_000
      r.scheduler.tick()
      await r.settle()
      const dues = r.dues()
      expect(dues.map((d) => [d.status, d.run_status])).toEqual([['started', 'cancelled'], ['started', 'succeeded']])
    })
  })

  it('incremental: the second scheduled run processes only the new file; a due time with nothing new starts no run', async () => {
    const r = rig({ triggers: [{ every: '1h' }], incremental: true }, { 'a.csv': ordersCsv(orderRows(30, 3)) })
    r.scheduler.tick()
    r.clock.t = T0 + H
    r.scheduler.tick()
    await r.settle()
    writeFileSync(join(r.dir, 'in', 'b.csv'), ordersCsv(orderRows(20, 4)))
    r.clock.t = T0 + 2 * H
    r.scheduler.tick()
    await r.settle()
    r.clock.t = T0 + 3 * H
    r.scheduler.tick()
    await r.settle()
    const dues = r.dues()
    expect(dues.map((d) => d.status)).toEqual(['started', 'started', 'skipped'])
    expect(dues[2]?.note).toMatch(/no new or changed input files/)
    const [first, second] = dues.map((d) => d.run_id as string)
    expect(r.engine.store.files(first as string).map((f) => f.rel_path)).toEqual(['a.csv'])
    expect(r.engine.store.files(second as string).map((f) => f.rel_path)).toEqual(['b.csv'])
    expect(readdirSync(join(r.dir, 'out')).sort()).toEqual(['a.jsonl', 'b.jsonl'])
    expect(readJsonl(join(r.dir, 'out', 'b.jsonl')).length).toBeGreaterThan(0)
    const ledger = r.engine.store.db.prepare('SELECT rel_path, run_id FROM ledger ORDER BY rel_path').all()
    expect(ledger).toEqual([
      { rel_path: 'a.csv', run_id: first },
      { rel_path: 'b.csv', run_id: second }
    ])
  })

  it('a file dropped onto the job from another folder is not a ledger entry, even with the name of an input file', async () => {
    const r = rig({ triggers: [{ every: '1h' }], incremental: true }, { 'a.csv': ordersCsv(orderRows(30, 3)) })
    r.scheduler.tick()
    r.clock.t = T0 + H
    r.scheduler.tick()
    await r.settle()
    const [first] = r.dues().map((d) => d.run_id as string)
    // Another a.csv, from elsewhere, dropped onto the job: it runs, and leaves the ledger alone.
    const elsewhere = tempDir()
    writeFileSync(join(elsewhere, 'a.csv'), ordersCsv(orderRows(7, 9)))
    const dropped = r.engine.startRun('sched', undefined, { trigger: { kind: 'drop', at: r.clock.t }, selection: { kind: 'files', paths: [join(elsewhere, 'a.csv')] } })
    await r.engine.settled(dropped)
    expect(r.engine.store.run(dropped)?.status).toBe('succeeded')
    const ledger = r.engine.store.db.prepare('SELECT rel_path, path, run_id FROM ledger').all()
    expect(ledger).toEqual([{ rel_path: 'a.csv', path: join(r.dir, 'in', 'a.csv'), run_id: first }])
    // So the input folder's a.csv is still known: the next due time finds nothing new.
    r.clock.t = T0 + 2 * H
    r.scheduler.tick()
    await r.settle()
    expect(r.dues().map((d) => d.status)).toEqual(['started', 'skipped'])
  })

  it('a file whose run failed is taken again by the next scheduled run', async () => {
    // maxFailedRecords 0 and a bad row: the first run fails, so a.csv stays out of the ledger.
    const bad = 'id,amount,quantity,status,country\n1,10,1,paid,de\nx,oops,1,paid,de\n'
    const r = rig({ triggers: [{ every: '1h' }], incremental: true, steps: [{ validate: { id: { type: 'integer' } } }], policy: { concurrency: 1, maxFailedRecords: 0 } }, { 'a.csv': bad })
    r.scheduler.tick()
    r.clock.t = T0 + H
    r.scheduler.tick()
    await r.settle()
    r.clock.t = T0 + 2 * H
    r.scheduler.tick()
    await r.settle()
    const dues = r.dues()
    expect(dues.map((d) => [d.status, d.run_status])).toEqual([['started', 'failed'], ['started', 'failed']])
    expect(r.engine.store.files(dues[1]?.run_id as string).map((f) => f.rel_path)).toEqual(['a.csv'])
  })

  it('archive: processed inputs move to the archive folder after the run commits, and the ledger says where', async () => {
    const r = rig({ triggers: [{ every: '1h' }], incremental: true, archive: { folder: 'in/done' } }, { 'a.csv': ordersCsv(orderRows(30, 6)), 'b.csv': ordersCsv(orderRows(30, 7)) })
    r.scheduler.tick()
    r.clock.t = T0 + H
    r.scheduler.tick()
    await r.settle()
    expect(readdirSync(join(r.dir, 'in')).sort()).toEqual(['done'])
    expect(readdirSync(join(r.dir, 'in', 'done')).sort()).toEqual(['a.csv', 'b.csv'])
    expect(readdirSync(join(r.dir, 'out')).sort()).toEqual(['a.jsonl', 'b.jsonl'])
    const ledger = r.engine.store.db.prepare('SELECT rel_path, archived_to FROM ledger ORDER BY rel_path').all()
    expect(ledger).toEqual([
      { rel_path: 'a.csv', archived_to: join(r.dir, 'in', 'done', 'a.csv') },
      { rel_path: 'b.csv', archived_to: join(r.dir, 'in', 'done', 'b.csv') }
    ])
    // The archive folder inside the input folder is never read again.
    r.clock.t = T0 + 2 * H
    r.scheduler.tick()
    await r.settle()
    expect(r.dues().map((d) => d.status)).toEqual(['started', 'skipped'])
  })

  it('a disabled job records no due times; enabling it starts its clock then, not before', async () => {
    const r = rig({ triggers: [{ every: '1h' }] })
    setJobEnabled(r.engine, 'sched', false)
    r.clock.t = T0 + 3 * H
    r.scheduler.tick()
    expect(r.dues()).toHaveLength(0)
    setJobEnabled(r.engine, 'sched', true, r.clock.t)
    r.clock.t = T0 + 4 * H + 1000
    r.scheduler.tick()
    await r.settle()
    expect(r.dues().map((d) => [d.due_at, d.missed, d.status])).toEqual([[T0 + 4 * H, 0, 'started']])
  })

  it('one scheduler per home: a second one is refused with a plain message', async () => {
    const r = rig({ triggers: [{ every: '1h' }] })
    const real = new Scheduler(r.engine)
    real.start()
    try {
      // The lease is this process's own: a scheduler from another process is refused.
      r.engine.store.db.prepare('UPDATE scheduler_lease SET owner_pid = ?').run(process.ppid)
      const other = new Scheduler(r.engine)
      expect(() => other.start()).toThrow(/already running the schedules of this home/)
    } finally {
      await real.stop()
    }
  })
})
