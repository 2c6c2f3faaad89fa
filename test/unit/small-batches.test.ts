// How a run's partitions are handed out: small whole files in batches, in plan order, the rest alone.
import { describe, expect, it } from 'vitest'
import { BATCH_PARTITION_MAX_BYTES, smallBatches } from '../../src/main/engine/runner'
import type { PartitionRow } from '../../src/main/engine/store/store'

function part(idx: number, fileIndex: number, bytes: number, extra: Partial<PartitionRow> = {}): PartitionRow {
  return {
    run_id: 'r',
    idx,
    file_index: fileIndex,
    start: 10,
    end: 10 + bytes,
    first_line: 2,
    last_of_file: 1,
    state: 'pending',
    attempts: 0,
    staged_bytes: null,
    keys_bytes: null,
    records_in: null,
    records_out: null,
    filtered: null,
    failed: null,
    duration_ms: null,
    last_error: null,
    committed_at: null,
    in_flight: 0,
    solo: 0,
    suspect: 0,
    solo_deaths: 0,
    ...extra
  } as PartitionRow
}

const ids = (units: PartitionRow[][]): number[][] => units.map((u) => u.map((p) => p.idx))

describe('smallBatches', () => {
  it('puts small whole files together in plan order, at most 64 a batch, and every partition once', () => {
    const parts = Array.from({ length: 1000 }, (_, i) => part(i, i, 500))
    const units = smallBatches(parts, parts, () => true, 2)
    expect(units.every((u) => u.length <= 64)).toBe(true)
    expect(units.length).toBeGreaterThanOrEqual(8)
    expect(ids(units).flat()).toEqual(parts.map((p) => p.idx))
  })

  it('keeps both workers busy: a few files are spread over several batches', () => {
    const parts = Array.from({ length: 16 }, (_, i) => part(i, i, 500))
    expect(ids(smallBatches(parts, parts, () => true, 2))).toEqual([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11], [12, 13], [14, 15]])
    // too few to share: one task each
    const three = parts.slice(0, 3)
    expect(ids(smallBatches(three, three, () => true, 2))).toEqual([[0], [1], [2]])
  })

  it('leaves alone the partitions of split files, large files, workbooks and archives, and suspects', () => {
    const all = [
      part(0, 0, 500),
      part(1, 0, 500, { start: 600, last_of_file: 1 }), // file 0 has two partitions
      part(2, 1, BATCH_PARTITION_MAX_BYTES + 1), // too large
      part(3, 2, 500), // a zip (below)
      part(4, 3, 500, { solo_deaths: 1 }), // took the process down once
      ...Array.from({ length: 40 }, (_, i) => part(5 + i, 4 + i, 500))
    ]
    all[0] = { ...all[0], last_of_file: 0 } as PartitionRow
    const units = smallBatches(all, all, (p) => p.file_index !== 2, 2)
    const lone = units.filter((u) => u.length === 1).map((u) => (u[0] as PartitionRow).idx)
    expect(lone.slice(0, 5)).toEqual([0, 1, 2, 3, 4])
    expect(units.filter((u) => u.length > 1).flat().map((p) => p.idx)).toEqual(Array.from({ length: 40 }, (_, i) => 5 + i))
  })

  it('closes a batch at about 4 MB', () => {
    const parts = Array.from({ length: 200 }, (_, i) => part(i, i, 200 << 10))
    const units = smallBatches(parts, parts, () => true, 2)
    for (const u of units) expect(u.reduce((s, p) => s + p.end - p.start, 0)).toBeLessThanOrEqual(4 << 20)
    expect(ids(units).flat()).toEqual(parts.map((p) => p.idx))
  })
})
