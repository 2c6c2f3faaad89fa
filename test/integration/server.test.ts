// The headless server: the same API the desktop app uses, over HTTP and a WebSocket, driven the
// way the page drives it. Also what it refuses: no token, a foreign Origin, a foreign Host.
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from '../helpers/cli'
import { exampleSteps } from '../helpers/orders'
import { serve, type Served } from '../helpers/server'

let s: Served
let data: string

const exampleJob = (name: string, input: string, output: string, extra: Record<string, unknown> = {}) => ({
  name,
  kind: 'records',
  input: { folder: input, include: ['*.csv'], format: 'csv' },
  steps: exampleSteps(),
  output: { folder: output, format: 'jsonl' },
  ...extra
})

beforeAll(async () => {
  data = tempDir()
  cpSync(join(ROOT, 'resources', 'examples', 'orders-clean', 'in'), join(data, 'in'), { recursive: true })
  s = await serve(tempDir())
})

afterAll(async () => {
  expect(await s.stop()).toBe(0)
})

describe('batchery serve', () => {
  it('previews a folder: format, delimiter, header, column types, first rows', async () => {
    const p = await s.value('inputs.preview', { folder: join(data, 'in') })
    expect(p).toMatchObject({ format: 'csv', delimiter: ',', header: true, encoding: 'utf8' })
    expect(p.files.map((f) => f.relPath)).toEqual(['orders-2026-01.csv', 'orders-2026-02.csv'])
    expect(p.columns.find((c) => c.name === 'id')?.type).toBe('integer')
    expect(p.columns.find((c) => c.name === 'date')?.type).toBe('date')
    expect(p.columns.find((c) => c.name === 'amount')?.type).toBe('number')
    expect(p.rows[0]?.[0]).toBe('1001')
  })

  it('validates a job with every problem and its path', async () => {
    const job = exampleJob('bad', join(data, 'in'), join(data, 'out'))
    job.steps[2] = { derive: { total: 'round(amout * quantity, 2)', country: 'upper(country)' } }
    const r = await s.value('jobs.validate', { job })
    expect(r.problems).toEqual([{ path: 'steps[2].derive.total', message: 'unknown column "amout"; did you mean "amount"?' }])
    expect(r.columns).toContain('amount')
    const saved = await s.call('jobs.save', { job })
    expect(saved.ok).toBe(false)
    if (!saved.ok) expect(saved.error.code).toBe('invalid_job')
  })

  it('dry-runs the first records without writing anything', async () => {
    const r = await s.value('runs.dryRun', { job: exampleJob('orders', join(data, 'in'), join(data, 'dry-out')), limit: 5 })
    expect(r.counts.in).toBe(5)
    expect(r.output.map((o) => o.id)).toEqual([1001, 1002, 1004])
    expect(r.counts).toEqual({ in: 5, out: 3, filtered: 1, deduped: 0, failed: 1 })
    expect(r.failures[0]).toMatchObject({ file: 'orders-2026-01.csv', line: 6, code: 'OUT_OF_RANGE' })
    expect(existsSync(join(data, 'dry-out'))).toBe(false)
  })

  it('saves a job, runs it, reports progress and state over the WebSocket, and shows the run', async () => {
    const saved = await s.value('jobs.save', { job: exampleJob('orders', join(data, 'in'), join(data, 'out')) })
    expect(saved).toMatchObject({ name: 'orders', version: 1, lastRun: null })
    const ended = s.waitFor('run.stateChanged', (p) => p.job === 'orders' && p.to === 'partial')
    const started = s.waitFor('run.stateChanged', (p) => p.job === 'orders' && p.to === 'running')
    const { runId } = await s.value('runs.start', { job: 'orders' })
    expect((await started).from).toBe('queued')
    expect((await ended).runId).toBe(runId)
    const detail = await s.value('runs.get', { runId })
    expect(detail.counts).toEqual({ in: 21, out: 10, filtered: 2, deduped: 2, failed: 7 })
    expect(detail.outputs.map((o) => o.records)).toEqual([6, 4])
    expect(detail.partitions.every((p) => p.state === 'committed')).toBe(true)
    expect(detail.latencyMs.p50).toBeGreaterThan(0)
    const jobs = await s.value('jobs.list', {})
    expect(jobs[0]).toMatchObject({ name: 'orders', lastRun: { runId, status: 'partial' }, successRate: 1 })
    const log = await s.value('runs.log', { runId })
    expect(log.lines.some((l) => l.includes('run committed'))).toBe(true)
  })

  it('groups, searches and exports the failed records', async () => {
    const runId = (await s.value('runs.list', { job: 'orders' }))[0]?.runId as string
    const groups = await s.value('runs.failureGroups', { runId })
    expect(groups.reduce((n, g) => n + g.count, 0)).toBe(7)
    // one group per column and rule; the value that differs per record is blanked in the pattern
    expect(groups.filter((g) => g.code === 'WRONG_TYPE').map((g) => g.pattern).sort()).toEqual([
      'amount: "…" is not a number',
      'id: "…" is not a whole number',
      'quantity: "…" is not a whole number'
    ])
    const found = await s.value('runs.failures', { runId, search: 'Hamilton' })
    expect(found.total).toBe(1)
    expect(found.rows[0]).toMatchObject({ file: 'orders-2026-01.csv', line: 7, code: 'WRONG_TYPE' })
    const byCode = await s.value('runs.failures', { runId, code: 'PARSE_ERROR' })
    expect(byCode.rows.map((r) => r.line)).toEqual([15])
    const csv = await fetch(`${s.origin}/api/runs/${runId}/failures.csv?token=${s.token}`)
    expect(csv.headers.get('content-type')).toContain('text/csv')
    const lines = (await csv.text()).trim().split('\n')
    expect(lines[0]).toBe('file,line,step,code,message,raw')
    expect(lines).toHaveLength(8)
  })

  it('re-runs only the failed records after the job is fixed', async () => {
    const runId = (await s.value('runs.list', { job: 'orders' }))[0]?.runId as string
    // the fix: amounts may be negative now (refunds)
    const fixed = exampleJob('orders', join(data, 'in'), join(data, 'out'))
    fixed.steps[0] = { validate: { id: { type: 'integer', required: true }, amount: { type: 'number' }, quantity: { type: 'integer' } } }
    expect((await s.value('jobs.save', { job: fixed })).version).toBe(2)
    const done = s.waitFor('run.stateChanged', (p) => p.job === 'orders' && (p.to === 'partial' || p.to === 'succeeded') && p.runId !== runId)
    const re = await s.value('runs.rerunFailed', { runId })
    expect((await done).runId).toBe(re.runId)
    const detail = await s.value('runs.get', { runId: re.runId })
    // 7 failed before; the negative amount now passes, the other 6 still fail
    expect(detail.counts).toMatchObject({ in: 7, out: 1, failed: 6 })
    const out = readFileSync(join(data, 'out', `rerun-${runId}`, 'orders-2026-01.jsonl'), 'utf8')
    expect(JSON.parse(out.trim())).toMatchObject({ id: 1005, amount: -4, total: -4 })
    // the original outputs are untouched and the job's current version is still the saved one
    expect(readFileSync(join(data, 'out', 'orders-2026-01.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(6)
    expect((await s.value('jobs.get', { name: 'orders' })).version).toBe(2)
  })

  it('pauses, resumes and cancels a run', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    writeFileSync(join(dir, 'in', 's.csv'), 'id,v\n' + Array.from({ length: 1500 }, (_, i) => `${i},x`).join('\n') + '\n')
    const job = {
      name: 'slow',
      kind: 'records',
      input: { folder: join(dir, 'in'), format: 'csv' },
      steps: [{ script: join(ROOT, 'test', 'fixtures', 'scripts', 'slow.mjs') }],
      output: { folder: join(dir, 'out'), format: 'jsonl' },
      policy: { chunkSize: 1024, concurrency: 2 }
    }
    await s.value('jobs.save', { job })
    const progressed = s.waitFor('run.progressed', (p) => p.job === 'slow' && p.partitionsDone >= 1)
    const { runId } = await s.value('runs.start', { job: 'slow' })
    await progressed
    const paused = s.waitFor('run.stateChanged', (p) => p.runId === runId && p.to === 'paused')
    expect((await s.value('runs.pause', { runId })).status).toBe('paused')
    await paused
    expect((await s.value('runs.get', { runId })).status).toBe('paused')
    const resumed = s.waitFor('run.stateChanged', (p) => p.runId === runId && p.to === 'running')
    await s.value('runs.resume', { runId })
    expect((await resumed).from).toBe('paused')
    const cancelled = s.waitFor('run.stateChanged', (p) => p.runId === runId && p.to === 'cancelled')
    await s.value('runs.cancel', { runId })
    await cancelled
    const detail = await s.value('runs.get', { runId })
    expect(detail.status).toBe('cancelled')
    expect(detail.outputs).toEqual([])
    expect(existsSync(join(dir, 'out', 's.jsonl'))).toBe(false)
  })

  it('refuses requests without the token, from a foreign Origin, or for a foreign Host', async () => {
    const body = JSON.stringify({ method: 'jobs.list', params: {} })
    const noToken = await fetch(`${s.origin}/api/call`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
    expect(noToken.status).toBe(401)
    const foreign = await fetch(`${s.origin}/api/call`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${s.token}`, Origin: 'http://evil.example' },
      body
    })
    expect(foreign.status).toBe(403)
    const csv = await fetch(`${s.origin}/api/runs/x/failures.csv`)
    expect(csv.status).toBe(401)
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host
    const port = new URL(s.origin).port
    const status = await new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', headers: { Host: `evil.example:${port}` } }, (res) => resolve(res.statusCode ?? 0))
      req.end()
    })
    expect(status).toBe(421)
    const wsRefused = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/events?token=${s.token}`, { headers: { Origin: 'http://evil.example' } })
      ws.on('open', () => resolve(false))
      ws.on('error', () => resolve(true))
    })
    expect(wsRefused).toBe(true)
    const wsNoToken = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/events`)
      ws.on('open', () => resolve(false))
      ws.on('error', () => resolve(true))
    })
    expect(wsNoToken).toBe(true)
    // the page itself is served with a strict CSP
    const page = await fetch(`${s.origin}/`)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    const traversal = await fetch(`${s.origin}/..%2f..%2fpackage.json`)
    expect(traversal.status).toBe(404)
  })

  it('rejects malformed requests with a plain error, never a crash', async () => {
    const r = await s.call('runs.get', { runId: 42 } as never)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.code).toBe('invalid_params')
    const unknown = await s.call('nope.nothing' as never, {} as never)
    if (!unknown.ok) expect(unknown.error.code).toBe('unknown_method')
    const missing = await s.call('runs.get', { runId: 'no-such-run' })
    if (!missing.ok) expect(missing.error).toMatchObject({ code: 'not_found' })
  })
})
