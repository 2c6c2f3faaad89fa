// Promise 5 (memory is bounded) when the input is many small files rather than one big one: the
// engine holds a row per file and per partition, so peak memory may grow with the number of
// files only slowly. Before the rows were kept lean, 12,000 files peaked at 1.8 times the peak of
// 2,000 (321 against 177 MB); now about 1.3 times (188 against 145 MB).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cliAsync, lastJson, tempDir, writeJob, type RunJson } from '../helpers/cli'
import { ordersCsv, orderRows } from '../helpers/orders'

type RunWithStats = RunJson & { stats?: { peakRssMb: number } }

/** One records run over `files` files of 10 rows (one output each): its counts and peak RSS. */
async function runOver(files: number): Promise<{ run: RunWithStats; expectedOut: number }> {
  const dir = tempDir()
  mkdirSync(join(dir, 'in'))
  const rows = orderRows(10, 3)
  const csv = ordersCsv(rows)
  for (let i = 0; i < files; i++) writeFileSync(join(dir, 'in', `${String(i).padStart(6, '0')}.csv`), csv)
  const job = writeJob(dir, {
    name: `many-${files}`,
    kind: 'records',
    input: { folder: 'in', include: ['*.csv'], format: 'csv' },
    steps: [{ filter: "status != 'cancelled'" }, { derive: { total: 'round(amount * quantity, 2)' } }],
    output: { folder: 'out', format: 'jsonl' },
    policy: { concurrency: 2 }
  })
  // Asynchronously: the printed list of 12,000 outputs is more than spawnSync's 1 MB buffer.
  const r = await cliAsync(['run', job, '--home', join(dir, 'home'), '--json'])
  expect(r.code, r.stderr).toBe(0)
  const kept = rows.filter((x) => x.status !== 'cancelled').length
  return { run: lastJson<RunWithStats>(r.stdout), expectedOut: kept * files }
}

describe('memory over many small files', () => {
  it('12,000 files peak at under 1.5 times the memory of 2,000, with every record accounted for', async () => {
    const small = await runOver(2_000)
    const large = await runOver(12_000)
    for (const { run, expectedOut } of [small, large]) {
      expect(run.status).toBe('succeeded')
      expect(run.counts.out).toBe(expectedOut)
      expect(run.counts.in).toBe(run.counts.out + run.counts.filtered)
    }
    const a = small.run.stats?.peakRssMb ?? 0
    const b = large.run.stats?.peakRssMb ?? 0
    expect(a).toBeGreaterThan(0)
    expect(b / a, `peak RSS ${b} MB over 12,000 files against ${a} MB over 2,000`).toBeLessThan(1.5)
  })
})
