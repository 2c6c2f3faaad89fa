// Many small files in one records run: they are handed to the workers in batches (one task and
// one commit for many files). Batching must change nothing a user can see: the same outputs,
// counts and failed records as one task per file, through kills, resumes and dying workers.
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { sha256, treeHashes } from '../helpers/cli'
import { dirWith, expectResumedLikeReference, failures, run, type Reference } from '../helpers/runs'
import { runLogPath } from '../../src/main/engine/log'

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'scripts')
const HEADER = 'id,customer,status,amount,quantity,note'

/** 240 small files, with filtered rows, failing rows, an empty file, a header-only file and one large file. */
function smallFolder(poison = false): string {
  const files: Record<string, string> = {}
  for (let f = 0; f < 240; f++) {
    const rows = [HEADER]
    for (let r = 0; r < 3 + (f % 9); r++) {
      const id = f * 100 + r
      if (r === 2 && f % 7 === 0) rows.push(`${id},c${f},new,12.5`) // too few fields
      else if (r === 1 && f % 5 === 0) rows.push(`${id},c${f},new,twelve,2,"not a number"`) // the derive fails
      else rows.push(`${id},"c${f}, ltd",${r % 4 === 0 ? 'cancelled' : 'new'},${(id % 97) + 0.25},${(r % 3) + 1},${poison && f === 150 && r === 0 ? 'poison' : 'plain'}`)
    }
    files[`batch/${String(f).padStart(4, '0')}.csv`] = rows.join('\n') + '\n'
  }
  files['batch/empty.csv'] = ''
  files['batch/header-only.csv'] = HEADER + '\n'
  const big = [HEADER]
  for (let i = 0; i < 12000; i++) big.push(`${900000 + i},big,${i % 4 === 0 ? 'cancelled' : 'new'},${i % 50},2,"a longer note, with a comma"`)
  files['batch/large.csv'] = big.join('\n') + '\n'
  return dirWith(files)
}

function job(extra: { steps?: unknown[]; output?: Record<string, unknown>; policy?: Record<string, unknown> } = {}) {
  return {
    name: 'small',
    kind: 'records',
    input: { folder: 'in', include: ['**/*.csv'], format: 'csv' },
    steps: extra.steps ?? [{ filter: "status != 'cancelled'" }, { derive: { total: 'round(amount * quantity, 2)', customer: 'upper(customer)' } }],
    output: { folder: 'out', format: 'jsonl', ...extra.output },
    policy: { concurrency: 2, chunkSize: '128KB', maxFailedRecords: 100000, ...extra.policy }
  }
}

function batchesIn(home: string, runId: string): { batches: number; tasks: number; partitions: number } | null {
  const line = readFileSync(runLogPath(home, runId), 'utf8')
    .split('\n')
    .find((l) => l.includes('small files handed out in batches'))
  return line ? (JSON.parse(line) as { batches: number; tasks: number; partitions: number }) : null
}

describe('many small files in one run', () => {
  let dir: string
  let ref: Reference

  beforeAll(() => {
    dir = smallFolder()
    // The reference: one task per file.
    const one = run(dir, job(), undefined, { BATCHERY_SMALL_BATCH: '1' })
    expect(one.r.status).toBe('partial')
    expect(batchesIn(one.home, one.r.runId)).toBeNull()
    ref = { counts: one.r.counts, outputs: treeHashes(join(dir, 'out')), failures: failures(one.home, one.r.runId) }
  })

  it('writes the same outputs, counts and failed records in batches as one file per task', () => {
    const { r, home } = run(dir, job())
    const b = batchesIn(home, r.runId)
    expect(b, 'the run handed out batches').not.toBeNull()
    expect(b?.batches).toBeGreaterThan(4)
    // 242 single-partition files, in a few dozen tasks (the large file's partitions alone)
    expect(b?.tasks).toBeLessThan(60)
    expect(r.counts).toEqual(ref.counts)
    expect(r.counts.in).toBe(r.counts.out + r.counts.filtered + r.counts.failed)
    expect(treeHashes(join(dir, 'out'))).toEqual(ref.outputs)
    expect(failures(home, r.runId)).toEqual(ref.failures)
    // every small file has its output, the empty ones too
    expect(Object.keys(ref.outputs)).toHaveLength(243)
    expect(ref.failures.filter((f) => f.code === 'FIELD_COUNT')).toHaveLength(35)
  })

  it('merged into one CSV, batched and not, gives the same bytes', () => {
    const merged = job({ output: { format: 'csv', layout: 'merged' } })
    const a = run(dir, merged, undefined, { BATCHERY_SMALL_BATCH: '1' })
    const one = treeHashes(join(dir, 'out'))
    const b = run(dir, merged)
    expect(batchesIn(b.home, b.r.runId)).not.toBeNull()
    expect(b.r.counts).toEqual(a.r.counts)
    expect(treeHashes(join(dir, 'out'))).toEqual(one)
    rmSync(join(dir, 'out'), { recursive: true })
  })

  it("each small file's CSV output is whole: its header, its records, the sha256 the run reports", () => {
    const perInput = run(dir, job({ output: { format: 'csv' } }))
    const files = Object.keys(treeHashes(join(dir, 'out'))).sort()
    const bodies = files.map((name) => readFileSync(join(dir, 'out', name), 'utf8'))
    for (const o of perInput.r.outputs) expect(sha256(o.path), o.path).toBe(o.sha256)
    rmSync(join(dir, 'out'), { recursive: true })
    // The merged output is assembled record by record from the same staged partitions.
    run(dir, job({ output: { format: 'csv', layout: 'merged' } }))
    const merged = readFileSync(join(dir, 'out', 'small.csv'), 'utf8')
    const header = merged.slice(0, merged.indexOf('\n') + 1)
    expect(header).toBe('id,customer,status,amount,quantity,note,total\n')
    // (an empty input has no columns: its output is empty)
    const withColumns = bodies.filter((_, i) => files[i] !== 'batch/empty.csv')
    expect(withColumns).toHaveLength(242)
    for (const [i, b] of withColumns.entries()) expect(b.startsWith(header), files[i]).toBe(true)
    expect(withColumns.map((b) => b.slice(header.length)).join('')).toBe(merged.slice(header.length))
    rmSync(join(dir, 'out'), { recursive: true })
  })

  it('killed after a batch commits, then resumed: nothing lost, nothing twice', () => {
    expectResumedLikeReference(dir, job(), 'after-partition-commit:3', ref)
  })

  it('killed while the outputs are linked or renamed into place, then resumed', () => {
    for (const point of ['after-output-staged:100', 'after-rename:100', 'before-run-commit']) expectResumedLikeReference(dir, job(), point, ref)
  })

  it('killed after planning, before any batch ran, then resumed', () => {
    expectResumedLikeReference(dir, job(), 'after-plan', ref)
  })

  it('a file whose records kill the worker is set aside; the other files of its batch are written', () => {
    const poisoned = smallFolder(true)
    const steps = [{ script: { module: join(FIXTURES, 'exits-on-poison.mjs') } }]
    const clean = run(poisoned, job({ steps, policy: { retries: 1 } }), undefined, { BATCHERY_SMALL_BATCH: '1' })
    const outputs = treeHashes(join(poisoned, 'out'))
    const { r, home, code } = run(poisoned, job({ steps, policy: { retries: 1 } }))
    expect(code).toBe(2)
    expect(batchesIn(home, r.runId)).not.toBeNull()
    expect(r.counts).toEqual(clean.r.counts)
    expect(treeHashes(join(poisoned, 'out'))).toEqual(outputs)
    const quarantined = failures(home, r.runId).filter((f) => f.code === 'QUARANTINED')
    // the poisoned file's records, and only its
    expect(new Set(quarantined.map((f) => f.file))).toEqual(new Set(['batch/0150.csv']))
    expect(quarantined.length).toBeGreaterThan(0)
    expect(r.counts.in).toBe(r.counts.out + r.counts.filtered + r.counts.failed)
  })
})
