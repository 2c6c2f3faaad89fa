// Promise 6: a bad script or a dying worker costs a partition attempt, never the run or the app.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, lastJson, readJsonl, tempDir, writeJob } from '../helpers/cli'

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'scripts')

function scriptJob(script: string, policy: Record<string, unknown> = {}): string {
  const dir = tempDir()
  mkdirSync(join(dir, 'in'))
  const rows = ['id,kind', ...Array.from({ length: 300 }, (_, i) => `${i},${i % 50 === 7 ? 'bad' : 'ok'}`)]
  writeFileSync(join(dir, 'in', 'r.csv'), rows.join('\n') + '\n')
  return writeJob(dir, {
    name: 'scripted',
    kind: 'records',
    input: { folder: 'in', format: 'csv' },
    steps: [{ script: { module: join(FIXTURES, script), adds: ['checked'] } }],
    output: { folder: 'out', format: 'jsonl' },
    policy: { concurrency: 2, chunkSize: 1024, ...policy }
  })
}

describe('worker faults', () => {
  it('a script that throws for a record fails that record only', () => {
    const home = tempDir()
    const file = scriptJob('throws-on-some.mjs')
    const r = lastJson(cli(['run', file, '--home', home, '--json']).stdout)
    expect(r.status).toBe('partial')
    expect(r.counts).toMatchObject({ in: 300, out: 294, failed: 6 })
    const report = cli(['report', r.runId, '--home', home]).stdout
    expect(report).toMatch(/6\s+SCRIPT_ERROR\s+script \(step 1\): cannot handle record …\s+first at r\.csv:9: cannot handle record 7\n/)
    expect(readJsonl(join(file, '..', 'out', 'r.jsonl'))[0]).toEqual({ id: '0', kind: 'ok', checked: 'yes' })
  })

  it('a worker that calls process.exit is retried, and the run finishes whole', () => {
    const file = scriptJob('exits-once.mjs')
    const marker = join(file, '..', 'crashed.marker')
    const home = tempDir()
    const run = cli(['run', file, '--home', home, '--json'], { BATCHERY_TEST_MARKER: marker })
    expect(existsSync(marker)).toBe(true)
    const r = lastJson(run.stdout)
    expect(r.status).toBe('succeeded')
    expect(r.counts).toMatchObject({ in: 300, out: 300, failed: 0 })
    expect(readJsonl(join(file, '..', 'out', 'r.jsonl')).map((x) => Number(x.id))).toEqual(Array.from({ length: 300 }, (_, i) => i))
  })

  it('a partition that kills its worker every time is set aside after its attempts, and the run goes on', () => {
    const file = scriptJob('always-exits.mjs', { retries: 1 })
    const home = tempDir()
    const run = cli(['run', file, '--home', home, '--json'])
    expect(run.signal).toBeNull()
    expect(run.code).toBe(2)
    const r = lastJson(run.stdout)
    expect(r.status).toBe('partial')
    // every record is accounted for, as a failed record that can be re-run later
    expect(r.counts).toMatchObject({ in: 300, out: 0, failed: 300 })
    const report = cli(['report', r.runId, '--home', home]).stdout
    expect(report).toMatch(/300\s+QUARANTINED\s+read: this part of r\.csv made Batchery's worker stop … times \(worker exited with code: …\); its records were set aside/)
    expect(readJsonl(join(file, '..', 'out', 'r.jsonl'))).toEqual([])
  })

  it('a partition that takes the whole process down is found out running alone, set aside, and nothing is lost', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    writeFileSync(join(dir, 'in', 'a.csv'), 'id,kind\n1,ok\n2,ok\n')
    writeFileSync(join(dir, 'in', 'b.csv'), 'id,kind\n3,ok\n')
    const file = writeJob(dir, {
      name: 'killer',
      kind: 'records',
      input: { folder: 'in', format: 'csv' },
      steps: [{ script: join(FIXTURES, 'kills-process.mjs') }],
      output: { folder: 'out', format: 'jsonl' },
      policy: { concurrency: 1 }
    })
    const home = tempDir()
    const first = cli(['run', file, '--home', home, '--json'])
    expect(first.signal).toBe('SIGKILL')
    const runId = (JSON.parse(cli(['runs', '--home', home, '--json']).stdout) as { runId: string }[])[0]?.runId as string
    const outcomes: (string | null)[] = []
    for (let i = 0; i < 16; i++) {
      const r = cli(['resume', runId, '--home', home, '--json'])
      outcomes.push(r.signal)
      if (!r.signal) {
        expect(lastJson(r.stdout)).toMatchObject({ status: 'partial', counts: { in: 3, out: 0, failed: 3 } })
        break
      }
    }
    // each partition is charged only for deaths while it ran alone (three times), then set aside
    expect(outcomes.at(-1)).toBeNull()
    expect(outcomes.filter((o) => o === 'SIGKILL').length).toBeGreaterThanOrEqual(6)
  })

  it('Ctrl+C stops a run resumably (exit 5), and the resume writes the whole output', () => {
    const file = scriptJob('interrupts-once.mjs')
    const marker = join(file, '..', 'interrupted.marker')
    const home = tempDir()
    const stopped = cli(['run', file, '--home', home, '--json'], { BATCHERY_TEST_MARKER: marker })
    expect(stopped.stderr).toContain('Stopping…')
    expect(stopped.code).toBe(5)
    const s = lastJson(stopped.stdout)
    expect(s.status).toBe('interrupted')
    expect(existsSync(join(file, '..', 'out', 'r.jsonl'))).toBe(false)
    const resumed = cli(['resume', s.runId, '--home', home, '--json'], { BATCHERY_TEST_MARKER: marker })
    expect(resumed.code).toBe(0)
    expect(lastJson(resumed.stdout).counts).toMatchObject({ in: 300, out: 300, failed: 0 })
    expect(readJsonl(join(file, '..', 'out', 'r.jsonl')).map((x) => Number(x.id))).toEqual(Array.from({ length: 300 }, (_, i) => i))
  })

  it('an input file that changes while the run reads it stops the run and writes nothing', () => {
    const file = scriptJob('appends-to-input.mjs')
    const input = join(file, '..', 'in', 'r.csv')
    const r = cli(['run', file, '--home', tempDir(), '--json'], { BATCHERY_TEST_MARKER: join(file, '..', 'm'), BATCHERY_TEST_INPUT: input })
    expect(r.code).toBe(3)
    const s = lastJson(r.stdout)
    expect(s.status).toBe('failed')
    expect(s.message).toContain('r.csv changed while the run was reading it')
    expect(existsSync(join(file, '..', 'out', 'r.jsonl'))).toBe(false)
  })

  it('a script that fails to load stops the run at once and says why', () => {
    const file = scriptJob('throws-at-load.mjs', { retries: 0 })
    const run = cli(['run', file, '--home', tempDir(), '--json'])
    expect(run.code).toBe(3)
    expect(lastJson(run.stdout).message).toContain('this script is broken')
  })
})
