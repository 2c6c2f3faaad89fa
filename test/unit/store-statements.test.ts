// The Store keeps its prepared statements (src/main/engine/store/store.ts): reusing one must
// never change a result, and a statement read with .iterate() is never shared, so two
// iterations of the failed records can be open at once and other queries run meanwhile.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/main/engine/store/open-db'
import { Store } from '../../src/main/engine/store/store'
import { tempDir } from '../helpers/cli'

function runWithFailures(n: number): { store: Store; epoch: number } {
  const store = new Store(openDatabase(join(tempDir(), 'b.db')))
  const v = store.saveJobVersion('j', 'h', '{}', '/tmp', null)
  store.createRun('r1', v)
  const epoch = store.claim('r1', 1, 'h')
  const parts = [0, 1, 2].map((idx) => ({ idx, file_index: 0, start: idx, end: idx + 1, first_line: 1, last_of_file: idx === 2 ? 1 : 0 }))
  store.savePlan('r1', [{ file_index: 0, path: '/x', rel_path: 'x.csv', size: 3, mtime_ms: 1, sha256: 'a', header: null }], parts, [])
  for (const p of parts) {
    const failures = Array.from({ length: n }, (_, i) => ({ line: p.idx * 100 + i + 2, step: 'read', code: 'PARSE_ERROR' as const, message: `bad "x${i}" at ${i}`, raw: `raw ${p.idx} ${i}` }))
    const r = { counts: { in: n + 1, out: 1, filtered: 0, failed: n }, failures, stagedBytes: 1, keysBytes: 0, durationMs: 1 }
    expect(store.startAttempt('r1', p.idx, false)).toBe(1)
    expect(store.commitPartition('r1', epoch, p.idx, 0, r)).toBe(true)
    store.endAttempt('r1', p.idx)
  }
  return { store, epoch }
}

describe('the store reuses prepared statements', () => {
  it('gives the same answers on every call', () => {
    const { store } = runWithFailures(4)
    for (let k = 0; k < 3; k++) {
      expect(store.run('r1')?.records_in).toBe(15)
      expect(store.partitions('r1').map((p) => p.state)).toEqual(['committed', 'committed', 'committed'])
      expect(store.partitionProgress('r1')).toEqual({ total: 3, done: 3, pending: 0 })
      expect(store.failedPage('r1', { offset: 0, limit: 5 }).total).toBe(12)
      expect(store.failedPage('r1', { code: 'PARSE_ERROR', search: 'x1', offset: 0, limit: 50 }).rows.map((r) => r.line)).toEqual([3, 103, 203])
      expect(store.failedPage('r1', { offset: 10, limit: 5 }).rows.map((r) => r.line)).toEqual([204, 205])
      expect(store.failureGroups('r1')).toHaveLength(1)
    }
    // A second attempt counts on from the first, through the same statements.
    expect(store.startAttempt('r1', 0, true)).toBe(2)
  })

  it('keeps two iterations of the failed records open at once, with other queries in between', () => {
    const { store } = runWithFailures(3)
    const a = store.failedRecords('r1')
    const b = store.failedRecords('r1')
    const lines: number[] = []
    for (let k = 0; k < 9; k++) {
      const x = a.next()
      const y = b.next()
      expect(x.done).toBe(false)
      expect(y.value).toEqual(x.value)
      lines.push((x.value as { line: number }).line)
      // Reads through cached statements while both iterations are open.
      expect(store.run('r1')?.failed).toBe(9)
      expect(store.failedPage('r1', { offset: k, limit: 1 }).rows[0]?.line).toBe(lines[k])
    }
    expect(a.next().done).toBe(true)
    expect(b.next().done).toBe(true)
    expect(lines).toEqual([2, 3, 4, 102, 103, 104, 202, 203, 204])
    // And a fresh iteration after both have ended.
    expect([...store.failedRecords('r1')].map((r) => r.line)).toEqual(lines)
  })
})
