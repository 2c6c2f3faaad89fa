// The real daemon (`batchery daemon`) on a temp folder: a file copied in slowly runs once, after it
// stops growing; a daemon killed with SIGKILL while due times are pending runs each due time
// exactly once after a restart; `jobs add/list/show/enable/disable` and `backfill` from the CLI.
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { BIN, cli, cliAsync, ROOT, tempDir, writeJob } from '../helpers/cli'
import { orderRows, ordersCsv } from '../helpers/orders'

interface Daemon {
  child: ChildProcess
  out: () => string
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<void>
  stop: () => Promise<void>
}

const daemons: ChildProcess[] = []
afterEach(() => {
  for (const c of daemons.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

function startDaemon(home: string): Daemon {
  const child = spawn(process.execPath, [BIN, 'daemon', '--home', home], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  daemons.push(child)
  let out = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (out += d))
  const exited = new Promise<void>((r) => child.on('exit', () => r()))
  return {
    child,
    out: () => out,
    waitFor: async (re, timeoutMs = 30_000) => {
      const until = Date.now() + timeoutMs
      while (!re.test(out)) {
        if (Date.now() > until) throw new Error(`daemon output never matched ${re}:\n${out}`)
        if (child.exitCode !== null) throw new Error(`daemon exited (${child.exitCode}):\n${out}`)
        await sleep(50)
      }
    },
    stop: async () => {
      child.kill('SIGTERM')
      await exited
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function job(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    name: 'daemon-job',
    kind: 'records',
    input: { folder: 'in', include: ['*.csv'], format: 'csv' },
    steps: [{ filter: "status != 'cancelled'" }],
    output: { folder: 'out', format: 'jsonl', layout: 'per-input' },
    policy: { concurrency: 2 },
    ...extra
  }
}

describe('batchery daemon', () => {
  it('runs a file that is copied in slowly once, after it has stopped growing, and not its temporary name', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    const home = join(dir, 'home')
    const file = writeJob(dir, job({ triggers: [{ watch: true, settle: '1500ms' }] }))
    expect(cli(['jobs', 'add', file, '--home', home]).code).toBe(0)
    const d = startDaemon(home)
    await d.waitFor(/is running the schedules/)
    // A download in progress: a .part name first, then renamed, then still growing for ~4 s.
    const rows = orderRows(2000, 9)
    const csv = ordersCsv(rows)
    const lines = csv.split('\n')
    const part = join(dir, 'in', 'orders.csv.part')
    writeFileSync(part, lines.slice(0, 200).join('\n') + '\n')
    await sleep(1200)
    const target = join(dir, 'in', 'orders.csv')
    const { renameSync } = await import('node:fs')
    renameSync(part, target)
    const chunk = Math.ceil((lines.length - 200) / 10)
    for (let i = 0; i < 10; i++) {
      appendFileSync(target, lines.slice(200 + i * chunk, 200 + (i + 1) * chunk).join('\n') + (i < 9 ? '\n' : ''))
      await sleep(400)
    }
    const lastWrite = Date.now()
    await d.waitFor(/Run \S+ of daemon-job: \w+/, 30_000)
    const startedAfterMs = Date.now() - lastWrite
    await sleep(2500) // no second run for the same file
    await d.stop()
    const runs = JSON.parse(cli(['runs', '--home', home, '--json']).stdout) as { runId: string; status: string; counts: { in: number } }[]
    expect(runs).toHaveLength(1)
    expect(runs[0]?.status).toBe('succeeded')
    expect(runs[0]?.counts.in).toBe(rows.length)
    console.log(`watch-to-run: the run had finished ${startedAfterMs} ms after the file's last write (settle 1500 ms)`)
    expect(startedAfterMs).toBeGreaterThanOrEqual(1400)
  }, 60_000)

  it('killed with SIGKILL while due times are pending, it runs each due time exactly once after a restart', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    writeFileSync(join(dir, 'in', 'a.csv'), ordersCsv(orderRows(300, 5)))
    const home = join(dir, 'home')
    const slow = join(ROOT, 'test', 'fixtures', 'scripts', 'slow.mjs')
    const file = writeJob(
      dir,
      job({ triggers: [{ every: '1s' }], catchUp: 'all', catchUpLimit: 100, overlap: 'queue', steps: [{ script: slow }], policy: { concurrency: 1 } })
    )
    expect(cli(['jobs', 'add', file, '--home', home]).code).toBe(0)
    let d = startDaemon(home)
    await d.waitFor(/run \S+ started/)
    await sleep(2500)
    process.kill(-(d.child.pid as number), 'SIGKILL')
    await sleep(2000) // due times pass while nothing runs
    d = startDaemon(home)
    await d.waitFor(/is running the schedules/)
    await sleep(5000)
    await d.stop()

    const db = new Database(join(home, 'batchery.db'), { readonly: true })
    try {
      const dues = db.prepare('SELECT * FROM due_times ORDER BY due_at').all() as { id: number; due_at: number; status: string; run_id: string | null; missed: number }[]
      const runs = db.prepare("SELECT id, status, trigger FROM runs WHERE json_extract(trigger, '$.kind') = 'every'").all() as { id: string; status: string; trigger: string }[]
      expect(dues.length).toBeGreaterThanOrEqual(8)
      // Due times are one second apart, each recorded once.
      for (let i = 1; i < dues.length; i++) expect((dues[i]?.due_at as number) - (dues[i - 1]?.due_at as number)).toBe(1000)
      // Each run belongs to exactly one due time and each started due time to exactly one run.
      const started = dues.filter((x) => x.status === 'started')
      expect(new Set(started.map((x) => x.run_id)).size).toBe(started.length)
      expect(runs.map((r) => r.id).sort()).toEqual(started.map((x) => x.run_id).sort())
      const dueIds = runs.map((r) => (JSON.parse(r.trigger) as { dueId: number }).dueId)
      expect(new Set(dueIds).size).toBe(dueIds.length)
      // Times that passed while the daemon was dead were found as missed (and, catch-up "all", run).
      expect(dues.some((x) => x.missed === 1)).toBe(true)
      // Nothing was dropped: every due time started, or waits in the queue for the next start.
      expect(dues.every((x) => x.status === 'started' || x.status === 'waiting' || x.status === 'due')).toBe(true)
      // The run the kill interrupted was resumed and finished: no run is left running.
      expect(runs.filter((r) => r.status === 'running' || r.status === 'queued')).toEqual([])
      expect(runs.filter((r) => r.status === 'succeeded').length).toBeGreaterThanOrEqual(2)
      expect(d.out()).toMatch(/resumed an interrupted scheduled run/)
    } finally {
      db.close()
    }
    // The output is whole: every record once (the job's only step passes records through).
    const out = readFileSync(join(dir, 'out', 'a.jsonl'), 'utf8')
    expect(out.trim().split('\n').length).toBe(300)
    expect(new Set(out.trim().split('\n')).size).toBe(300)
  }, 90_000)
})

describe('a job added while the daemon runs', () => {
  it('is picked up within a second: its first due times run on time, none is recorded as missed', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    writeFileSync(join(dir, 'in', 'a.csv'), ordersCsv(orderRows(10, 50)))
    const home = join(dir, 'home')
    const d = startDaemon(home)
    await d.waitFor(/is running the schedules/)
    await sleep(1500)
    expect(cli(['jobs', 'add', writeJob(dir, job({ triggers: [{ every: '2s' }] })), '--home', home]).code).toBe(0)
    await sleep(5500)
    await d.stop()
    const db = new Database(join(home, 'batchery.db'), { readonly: true })
    try {
      const dues = db.prepare('SELECT missed, status FROM due_times').all() as { missed: number; status: string }[]
      expect(dues.length).toBeGreaterThanOrEqual(2)
      expect(dues.filter((x) => x.missed === 1)).toEqual([])
      expect(dues.every((x) => x.status === 'started')).toBe(true)
    } finally {
      db.close()
    }
  }, 30_000)
})

describe('jobs and backfill from the CLI', () => {
  it('adds, lists, shows, disables and enables a job; backfills by modified date with a dry run first', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    const home = join(dir, 'home')
    const days = ['2026-11-01', '2026-11-02', '2026-11-05']
    days.forEach((day, i) => {
      const f = join(dir, 'in', `orders-${i}.csv`)
      writeFileSync(f, ordersCsv(orderRows(20, 30 + i)))
      const t = new Date(`${day}T12:00:00`)
      utimesSync(f, t, t)
    })
    const file = writeJob(dir, job({ triggers: [{ cron: '0 7 * * 1-5', timezone: 'Europe/Berlin' }], incremental: true }))
    const added = cli(['jobs', 'add', file, '--home', home])
    expect(added.code).toBe(0)
    expect(added.stdout).toMatch(/Schedule of "daemon-job": on/)
    expect(added.stdout).toMatch(/cron "0 7 \* \* 1-5" \(Europe\/Berlin\): next \d{4}-\d{2}-\d{2} \d{2}:00/)

    const list = JSON.parse(cli(['jobs', 'list', '--home', home, '--json']).stdout) as { name: string; enabled: boolean; nextDueAt: string }[]
    expect(list).toEqual([expect.objectContaining({ name: 'daemon-job', enabled: true })])
    const berlinHour = new Date(list[0]?.nextDueAt as string).toLocaleString('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' })
    expect(berlinHour).toBe('07:00')

    expect(cli(['jobs', 'disable', 'daemon-job', '--home', home]).stdout).toMatch(/is off/)
    expect((JSON.parse(cli(['jobs', 'list', '--home', home, '--json']).stdout) as { enabled: boolean }[])[0]?.enabled).toBe(false)
    expect(cli(['jobs', 'enable', 'daemon-job', '--home', home]).stdout).toMatch(/is on/)
    const unknown = cli(['jobs', 'enable', 'nope', '--home', home])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/There is no saved job named "nope"/)

    const dry = cli(['backfill', 'daemon-job', '--from', '2026-11-01', '--to', '2026-11-02', '--dry-run', '--home', home])
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/2 runs would start/)
    expect(dry.stdout).toMatch(/files modified on 2026-11-01: 1 file/)
    expect(dry.stdout).toMatch(/orders-0\.csv/)
    expect(dry.stdout).not.toMatch(/orders-2\.csv/)
    expect(JSON.parse(cli(['runs', '--home', home, '--json']).stdout)).toEqual([])

    const real = cli(['backfill', 'daemon-job', '--from', '2026-11-01', '--to', '2026-11-02', '--home', home])
    expect(real.code).toBe(0)
    expect(real.stdout).toMatch(/Backfill 1\/2 \(files modified on 2026-11-01\)/)
    expect(real.stdout).toMatch(/Backfill 2\/2 \(files modified on 2026-11-02\)/)
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['orders-0.jsonl', 'orders-1.jsonl'])

    const show = cli(['jobs', 'show', 'daemon-job', '--home', home])
    expect(show.stdout).toMatch(/Ledger: 2 input file versions processed/)
    const bad = cli(['backfill', 'daemon-job', '--from', '1 Nov', '--home', home])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/--from: "1 Nov" is not a day like 2026-11-28/)
  }, 60_000)

  it('runs over given files only (like a drop), and refuses a second run of a job that is running', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    mkdirSync(join(dir, 'elsewhere'))
    const home = join(dir, 'home')
    writeFileSync(join(dir, 'in', 'a.csv'), ordersCsv(orderRows(500, 40)))
    writeFileSync(join(dir, 'in', 'b.csv'), ordersCsv(orderRows(20, 41)))
    writeFileSync(join(dir, 'elsewhere', 'dropped.csv'), ordersCsv(orderRows(20, 42)))
    const file = writeJob(dir, job({}))
    const only = cli(['run', file, '--home', home, '--json', '--files', join(dir, 'in', 'b.csv'), join(dir, 'elsewhere', 'dropped.csv')])
    expect(only.code).toBe(0)
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['b.jsonl', 'dropped.jsonl'])

    const slow = writeJob(dir, job({ steps: [{ script: join(ROOT, 'test', 'fixtures', 'scripts', 'slow.mjs') }], policy: { concurrency: 1 } }), 'slow.json')
    writeFileSync(join(dir, 'in', 'a.csv'), ordersCsv(orderRows(3000, 40))) // about 6 s of work
    const first = cliAsync(['run', slow, '--home', home])
    // Once the first run is going, a second run of the same job is refused.
    const until = Date.now() + 30_000
    const running = (): boolean =>
      (JSON.parse(cli(['runs', '--home', home, '--json']).stdout) as { status: string }[]).some((r) => r.status === 'running')
    while (!running()) {
      if (Date.now() > until) throw new Error('the first run never started')
      await sleep(100)
    }
    const second = cli(['run', slow, '--home', home])
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(/daemon-job is already running \(run \S+\); wait for it to finish or cancel it\./)
    expect((await first).code).toBe(0)
  }, 90_000)
})
