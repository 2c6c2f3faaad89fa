// The aggregate step: one row per group with count, sum, avg, min, max and distinct counts.
//
// Each worker folds its partition's records into partial aggregates and stages them (one JSON line
// per group, groups in the order they first appeared). At assembly the engine merges the partials
// of an output's partitions in input order, so the result is the same however the input was
// partitioned: groups come out in order of first appearance, sums are added with compensation and
// rounded to 15 significant digits (0.1 + 0.2 is 0.3, not 0.30000000000000004, whatever the order
// of additions), min and max compare numbers as numbers.
//
// Memory is bounded by the number of groups (aggregate.maxGroups, default 100,000) and of
// distinct values held (MAX_DISTINCT_VALUES); past either the run stops and says which.
import type { Rec } from '../../shared/expression'
import { DEFAULT_MAX_GROUPS, parseAggregateValue, type AggregateFunction } from '../../shared/step-limits'
import { RecordFailure } from './record-failure'

export interface AggregateSpec {
  by: string[]
  values: Record<string, string>
  maxGroups?: number
}

/** Different values all distinct(...) of one run hold at most, over all groups. */
export const MAX_DISTINCT_VALUES = 2_000_000

/** A limit of the aggregate was passed: the run stops (not a failed record: every record is fine). */
export class AggregateLimitError extends Error {
  override name = 'AggregateLimitError'
}

interface Value {
  name: string
  fn: AggregateFunction
  column: string | null
}

/** sum and avg: a Neumaier-compensated sum and how many values went in. */
interface SumCell {
  s: number
  c: number
  n: number
}

type Cell = number | SumCell | { v: unknown } | Set<string>

interface Group {
  key: unknown[]
  cells: Cell[]
}

/** A value that counts: not missing, not blank. Blank cells are skipped by every function but count. */
function present(v: unknown): boolean {
  return v !== null && v !== undefined && v !== ''
}

function asNumber(v: unknown): number {
  if (typeof v === 'number') return v
  if (typeof v === 'string') {
    const t = v.trim()
    if (t !== '') {
      const n = Number(t)
      if (Number.isFinite(n)) return n
    }
  }
  return NaN
}

function addTo(cell: SumCell, x: number): void {
  const t = cell.s + x
  cell.c += Math.abs(cell.s) >= Math.abs(x) ? cell.s - t + x : x - t + cell.s
  cell.s = t
}

/** Numbers (and numeric text) before text; numbers by value, text by code points. */
export function compareValues(a: unknown, b: unknown): number {
  const na = asNumber(a)
  const nb = asNumber(b)
  const aNum = !Number.isNaN(na)
  const bNum = !Number.isNaN(nb)
  if (aNum && bNum) return na < nb ? -1 : na > nb ? 1 : 0
  if (aNum !== bNum) return aNum ? -1 : 1
  const sa = typeof a === 'string' ? a : JSON.stringify(a)
  const sb = typeof b === 'string' ? b : JSON.stringify(b)
  return sa < sb ? -1 : sa > sb ? 1 : 0
}

/** A sum as an analyst expects to read it: float noise from the order of additions removed. */
function roundSum(x: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(15))
}

export class Aggregator {
  private readonly values: Value[]
  private readonly by: string[]
  private readonly maxGroups: number
  private readonly groups = new Map<string, Group>()
  private distinctHeld = 0

  constructor(
    readonly spec: AggregateSpec,
    private readonly label: string
  ) {
    this.by = spec.by
    this.maxGroups = spec.maxGroups ?? DEFAULT_MAX_GROUPS
    this.values = Object.entries(spec.values).map(([name, text]) => {
      const parsed = parseAggregateValue(text)
      if ('problem' in parsed) throw new Error(`${name}: ${parsed.problem}`)
      return { name, fn: parsed.fn, column: parsed.column }
    })
  }

  /** The summary's columns: the group-by columns, then the values. */
  get columns(): string[] {
    return [...this.by, ...this.values.map((v) => v.name)]
  }

  get size(): number {
    return this.groups.size
  }

  private groupFor(key: unknown[], keyText: string): Group {
    let g = this.groups.get(keyText)
    if (!g) {
      if (this.groups.size >= this.maxGroups) {
        throw new AggregateLimitError(
          `the summary has more than ${this.maxGroups.toLocaleString('en-US')} groups (${this.by.map((c) => `"${c}"`).join(', ') || 'no columns'}), the most this job holds; group by fewer or coarser columns, or raise aggregate.maxGroups (at most 1,000,000)`
        )
      }
      g = { key, cells: this.values.map((v) => emptyCell(v.fn)) }
      this.groups.set(keyText, g)
    }
    return g
  }

  private hold(n: number, v: Value): void {
    this.distinctHeld += n
    if (this.distinctHeld > MAX_DISTINCT_VALUES) {
      throw new AggregateLimitError(
        `distinct(${v.column}) holds more than ${MAX_DISTINCT_VALUES.toLocaleString('en-US')} different values over all groups, the most an aggregate keeps in memory`
      )
    }
  }

  /** Fold one record in. A value that cannot be summed rejects the record before anything changes. */
  add(rec: Rec): void {
    const n = this.values.length
    // Check first: a record is either counted whole or failed whole.
    for (let i = 0; i < n; i++) {
      const v = this.values[i] as Value
      if (v.fn !== 'sum' && v.fn !== 'avg') continue
      const x = rec[v.column as string]
      if (present(x) && Number.isNaN(asNumber(x))) {
        throw new RecordFailure('AGGREGATE_ERROR', `${v.name}: ${v.fn}(${v.column}) needs a number; "${String(typeof x === 'object' ? JSON.stringify(x) : x)}" is not one`, this.label)
      }
    }
    const key = this.by.map((c) => (Object.hasOwn(rec, c) ? (rec[c] ?? null) : null))
    const g = this.groupFor(key, JSON.stringify(key))
    for (let i = 0; i < n; i++) {
      const v = this.values[i] as Value
      if (v.fn === 'count') {
        g.cells[i] = (g.cells[i] as number) + 1
        continue
      }
      const x = rec[v.column as string]
      if (!present(x)) continue
      const cell = g.cells[i] as Cell
      if (v.fn === 'sum' || v.fn === 'avg') {
        addTo(cell as SumCell, asNumber(x))
        ;(cell as SumCell).n++
      } else if (v.fn === 'min' || v.fn === 'max') {
        const c = cell as { v: unknown }
        if (c.v === null || (v.fn === 'min' ? compareValues(x, c.v) < 0 : compareValues(x, c.v) > 0)) c.v = x
      } else {
        const set = cell as Set<string>
        const k = JSON.stringify(x)
        if (!set.has(k)) {
          set.add(k)
          this.hold(1, v)
        }
      }
    }
  }

  /** Staged form: one JSON line per group, in order of first appearance. */
  serialize(): string {
    let out = ''
    for (const g of this.groups.values()) {
      out += JSON.stringify([g.key, g.cells.map((c) => cellToJson(c))]) + '\n'
    }
    return out
  }

  /** Merge one staged line of another partition's partial, which comes after everything merged so far. */
  mergeLine(line: string): void {
    const [key, cells] = JSON.parse(line) as [unknown[], unknown[]]
    const g = this.groupFor(key, JSON.stringify(key))
    for (let i = 0; i < this.values.length; i++) {
      const v = this.values[i] as Value
      const other = cells[i]
      if (v.fn === 'count') g.cells[i] = (g.cells[i] as number) + (other as number)
      else if (v.fn === 'sum' || v.fn === 'avg') {
        const [s, c, n] = other as [number, number, number]
        const cell = g.cells[i] as SumCell
        addTo(cell, s)
        addTo(cell, c)
        cell.n += n
      } else if (v.fn === 'min' || v.fn === 'max') {
        const x = (other as [unknown])[0] ?? null
        const c = g.cells[i] as { v: unknown }
        if (x !== null && (c.v === null || (v.fn === 'min' ? compareValues(x, c.v) < 0 : compareValues(x, c.v) > 0))) c.v = x
      } else {
        const set = g.cells[i] as Set<string>
        let added = 0
        for (const k of other as string[]) if (!set.has(k)) (set.add(k), added++)
        this.hold(added, v)
      }
    }
  }

  /** The summary rows, one per group, in order of first appearance. */
  *rows(): Generator<Rec> {
    for (const g of this.groups.values()) {
      const rec: Rec = Object.create(null)
      this.by.forEach((c, i) => (rec[c] = g.key[i] ?? null))
      this.values.forEach((v, i) => (rec[v.name] = finalValue(v.fn, g.cells[i] as Cell)))
      yield rec
    }
  }
}

function emptyCell(fn: AggregateFunction): Cell {
  if (fn === 'count') return 0
  if (fn === 'sum' || fn === 'avg') return { s: 0, c: 0, n: 0 }
  if (fn === 'min' || fn === 'max') return { v: null }
  return new Set<string>()
}

function cellToJson(c: Cell): unknown {
  if (typeof c === 'number') return c
  if (c instanceof Set) return [...c]
  if ('s' in c) return [c.s, c.c, c.n]
  return [c.v]
}

function finalValue(fn: AggregateFunction, c: Cell): unknown {
  if (fn === 'count') return c as number
  if (fn === 'distinct') return (c as Set<string>).size
  if (fn === 'sum') return roundSum((c as SumCell).s + (c as SumCell).c)
  if (fn === 'avg') {
    const { s, c: comp, n } = c as SumCell
    return n === 0 ? null : roundSum((s + comp) / n)
  }
  return (c as { v: unknown }).v
}
