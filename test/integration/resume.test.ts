// Promise 3 (exactly-once outputs) and 4 (no failed record lost): kill -9 the CLI at named
// moments of a run, resume it, and compare every byte with an uninterrupted run.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { cli, lastJson, tempDir, treeHashes, writeJob, type RunJson } from '../helpers/cli'
import { exampleSteps, orderRows, ordersCsv } from '../helpers/orders'

function makeJobDir(): string {
  const dir = tempDir()
  mkdirSync(join(dir, 'in', '2026'), { recursive: true })
  writeFileSync(join(dir, 'in', 'a.csv'), ordersCsv(orderRows(4000, 1)))
  writeFileSync(join(dir, 'in', 'b.csv'), ordersCsv(orderRows(3000, 2), '\r\n'))
  // a few broken rows, so failed records are part of what must survive a crash
  writeFileSync(join(dir, 'in', '2026', 'c.csv'), ordersCsv(orderRows(2000, 3)) + '77,short row\n"never closed,x,1,2,paid,\n88,Ok,de,1.00,x,paid,n\n')
  writeJob(dir, {
    name: 'resume-test',
    kind: 'records',
    input: { folder: 'in', include: ['**/*.csv'], format: 'csv' },
    steps: exampleSteps(),
    output: { folder: 'out', format: 'jsonl', layout: 'per-input' },
    // tiny partitions: dozens of checkpoints to crash between
    policy: { concurrency: 2, chunkSize: 16384, maxFailedRecords: 1000 }
  })
  return dir
}

let reference: RunJson
let referenceOut: Record<string, string>

beforeAll(() => {
  const dir = makeJobDir()
  const r = cli(['run', join(dir, 'job.json'), '--home', tempDir(), '--json'])
  expect(r.code).toBe(2)
  reference = lastJson(r.stdout)
  referenceOut = treeHashes(join(dir, 'out'))
})

const CRASH_POINTS = [
  'after-plan',
  'after-partition-commit:1',
  'after-partition-commit:7',
  'after-partition-commit:25',
  'after-output-staged:1',
  'after-output-staged:3',
  'before-rename',
  'after-rename:1',
  'before-run-commit',
  'after-run-commit'
]

describe('kill -9 during a run, then resume', () => {
  it('the reference run is sane', () => {
    const c = reference.counts
    expect(c.in).toBe(9003)
    expect(c.failed).toBeGreaterThanOrEqual(3)
    expect(c.in).toBe(c.out + c.filtered + c.deduped + c.failed)
    expect(Object.keys(referenceOut).sort()).toEqual(['2026/c.jsonl', 'a.jsonl', 'b.jsonl'])
  })

  for (const point of CRASH_POINTS) {
    it(`killed at ${point}: resumes to byte-identical outputs, nothing lost or doubled`, () => {
      const dir = makeJobDir()
      const home = tempDir()
      const crashed = cli(['run', join(dir, 'job.json'), '--home', home, '--json'], { BATCHERY_CRASH_AT: point })
      expect(crashed.signal).toBe('SIGKILL')

      // Whatever sits under a final output name is complete: identical to the reference.
      if (existsSync(join(dir, 'out'))) {
        for (const [name, hash] of Object.entries(treeHashes(join(dir, 'out')))) {
          if (name.endsWith('.partial')) continue
          expect(hash, `${name} after a crash at ${point}`).toBe(referenceOut[name])
        }
      }

      const runs = JSON.parse(cli(['runs', '--home', home, '--json']).stdout) as { runId: string; status: string }[]
      expect(runs).toHaveLength(1)
      const runId = (runs[0] as { runId: string }).runId
      if (point === 'after-run-commit') {
        // committed before the kill: nothing to resume, and the leftover staging is cleaned up
        expect(runs[0]?.status).toBe('partial')
        expect(existsSync(join(home, 'staging', runId))).toBe(false)
        expect(treeHashes(join(dir, 'out'))).toEqual(referenceOut)
        return
      }
      expect(runs[0]?.status).toBe('interrupted')

      const resumed = cli(['resume', runId, '--home', home, '--json'])
      expect(resumed.stderr).toBe('')
      expect(resumed.code).toBe(2)
      const r = lastJson(resumed.stdout)
      expect(r.runId).toBe(runId)
      expect(r.counts).toEqual(reference.counts)
      expect(r.outputs.map((o) => [o.records, o.sha256])).toEqual(reference.outputs.map((o) => [o.records, o.sha256]))
      // no temp or staging file left anywhere
      expect(treeHashes(join(dir, 'out'))).toEqual(referenceOut)
      expect(existsSync(join(home, 'staging', runId))).toBe(false)
      // each failed record once
      const report = JSON.parse(cli(['report', runId, '--home', home, '--json']).stdout) as { groups: { count: number }[] }
      expect(report.groups.reduce((s, g) => s + g.count, 0)).toBe(reference.counts.failed)
    })
  }

  it('resuming a run that is not interrupted is refused with a plain message', () => {
    const home = tempDir()
    const dir = makeJobDir()
    const done = lastJson(cli(['run', join(dir, 'job.json'), '--home', home, '--json']).stdout)
    const again = cli(['resume', done.runId, '--home', home])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('only interrupted runs can be resumed')
    expect(readdirSync(join(dir, 'out')).length).toBe(3)
  })

  it('refuses to resume when an input changed since the interruption', () => {
    const dir = makeJobDir()
    const home = tempDir()
    expect(cli(['run', join(dir, 'job.json'), '--home', home], { BATCHERY_CRASH_AT: 'after-partition-commit:3' }).signal).toBe('SIGKILL')
    writeFileSync(join(dir, 'in', 'a.csv'), ordersCsv(orderRows(10, 9)))
    const runId = (JSON.parse(cli(['runs', '--home', home, '--json']).stdout) as { runId: string }[])[0]?.runId as string
    const r = cli(['resume', runId, '--home', home, '--json'])
    expect(r.code).toBe(3)
    const s = lastJson(r.stdout)
    expect(s.status).toBe('failed')
    expect(s.message).toContain('a.csv was modified')
    expect(existsSync(join(dir, 'out', 'a.jsonl'))).toBe(false)
  })
})
