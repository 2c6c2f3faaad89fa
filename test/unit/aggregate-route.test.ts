// The aggregate step's arithmetic and merging, route folder names, and the job checks for
// aggregate, route and split.
import { describe, expect, it } from 'vitest'
import { parseAggregateValue, parseJob } from '../../src/shared/job'
import { routeFolderName } from '../../src/shared/routes'
import { Aggregator, compareValues } from '../../src/workers/steps/aggregate'
import { RecordFailure } from '../../src/workers/steps/record-failure'
import { mulberry32 } from '../helpers/orders'

const rec = (o: Record<string, unknown>) => Object.assign(Object.create(null), o)

function summary(a: Aggregator): Record<string, unknown>[] {
  return [...a.rows()].map((r) => ({ ...r }))
}

describe('aggregate', () => {
  const spec = { by: ['k'], values: { n: 'count', s: 'sum(x)', a: 'avg(x)', lo: 'min(x)', hi: 'max(x)', d: 'distinct(x)' } }

  it('gives the same rows however the records are split into partitions', () => {
    const rnd = mulberry32(7)
    const records = Array.from({ length: 5000 }, () => rec({ k: ['a', 'b', 'c'][Math.floor(rnd() * 3)], x: (Math.floor(rnd() * 100000) / 100).toFixed(2) }))
    const whole = new Aggregator(spec, 'aggregate')
    for (const r of records) whole.add(r)
    const expected = summary(whole)
    for (const cuts of [[1], [17, 2500, 4999], [100, 200, 300, 4000]]) {
      const merged = new Aggregator(spec, 'aggregate')
      let from = 0
      for (const to of [...cuts, records.length]) {
        const part = new Aggregator(spec, 'aggregate')
        for (const r of records.slice(from, to)) part.add(r)
        for (const line of part.serialize().split('\n')) if (line) merged.mergeLine(line)
        from = to
      }
      expect(summary(merged)).toEqual(expected)
    }
    // and matches a plain computation
    for (const row of expected) {
      const xs = records.filter((r) => r.k === row.k).map((r) => Number(r.x))
      expect(row.n).toBe(xs.length)
      expect(row.s).toBeCloseTo(xs.reduce((s, v) => s + v, 0), 6)
      expect(Number(row.lo)).toBe(Math.min(...xs))
      expect(Number(row.hi)).toBe(Math.max(...xs))
    }
  })

  it('adds without float noise, skips blanks, and compares numbers as numbers', () => {
    const a = new Aggregator(spec, 'aggregate')
    for (const x of ['0.1', '0.2', '', null, '10', '9']) a.add(rec({ k: 'g', x }))
    expect(summary(a)).toEqual([{ k: 'g', n: 6, s: 19.3, a: 4.825, lo: '0.1', hi: '10', d: 4 }])
    const empty = new Aggregator(spec, 'aggregate')
    empty.add(rec({ k: 'g', x: '' }))
    expect(summary(empty)).toEqual([{ k: 'g', n: 1, s: 0, a: null, lo: null, hi: null, d: 0 }])
  })

  it('rejects a record whose value cannot be summed, without counting any of it', () => {
    const a = new Aggregator(spec, 'aggregate (step 2)')
    a.add(rec({ k: 'g', x: '1' }))
    expect(() => a.add(rec({ k: 'g', x: '1,5' }))).toThrow(RecordFailure)
    expect(() => a.add(rec({ k: 'h', x: 'abc' }))).toThrow(/s: sum\(x\) needs a number; "abc" is not one/)
    expect(summary(a)).toEqual([{ k: 'g', n: 1, s: 1, a: 1, lo: '1', hi: '1', d: 1 }])
  })

  it('stops past maxGroups with a message that names the columns and the limit', () => {
    const a = new Aggregator({ by: ['id'], values: { n: 'count' }, maxGroups: 3 }, 'aggregate')
    for (const id of ['1', '2', '3', '1']) a.add(rec({ id }))
    expect(() => a.add(rec({ id: '4' }))).toThrow(/more than 3 groups \("id"\)/)
  })

  it('orders values: numbers before text, numbers by value, text by code points', () => {
    expect(['b', '10', 'a', 9, '-1', 'B'].sort(compareValues)).toEqual(['-1', 9, '10', 'B', 'a', 'b'])
  })

  it('reads value functions plainly, with hints for mistakes', () => {
    expect(parseAggregateValue('count')).toEqual({ fn: 'count', column: null })
    expect(parseAggregateValue('count(*)')).toEqual({ fn: 'count', column: null })
    expect(parseAggregateValue('SUM( order total )')).toEqual({ fn: 'sum', column: 'order total' })
    expect(parseAggregateValue('summ(x)')).toEqual({ problem: expect.stringContaining('did you mean "sum"') })
    expect(parseAggregateValue('count(x)')).toEqual({ problem: expect.stringContaining('write "distinct(x)"') })
    expect(parseAggregateValue('avg')).toEqual({ problem: 'avg needs a column, like "avg(total)"' })
  })
})

describe('route folder names', () => {
  it('are safe on every file system and the same everywhere', () => {
    expect(routeFolderName('DE')).toBe('DE')
    expect(routeFolderName('a/b\\c:d')).toBe('a_b_c_d')
    expect(routeFolderName('')).toBe('(blank)')
    expect(routeFolderName(null)).toBe('(blank)')
    expect(routeFolderName('  ')).toBe('(blank)')
    expect(routeFolderName('..')).toBe('__')
    expect(routeFolderName('x.')).toBe('x_')
    expect(routeFolderName('con')).toBe('_con')
    expect(routeFolderName(12.5)).toBe('12.5')
    expect(routeFolderName(true)).toBe('true')
    expect(routeFolderName('x'.repeat(300))).toHaveLength(100)
  })
})

describe('job checks for aggregate, route and split', () => {
  const job = (steps: unknown[], output: Record<string, unknown> = {}) => ({
    name: 'j',
    kind: 'records',
    input: { folder: 'in', format: 'csv' },
    steps,
    output: { folder: 'out', format: 'csv', ...output }
  })
  const problems = (j: unknown) => {
    const r = parseJob(j)
    return r.ok ? [] : r.problems
  }

  it('accepts the documented shapes', () => {
    expect(problems(job([{ filter: 'x > 1' }, { aggregate: { by: ['country'], values: { n: 'count', t: 'sum(total)' } } }]))).toEqual([])
    expect(problems(job([{ route: { by: 'country' } }, { dedupe: ['id'] }], { split: { records: 1000 } }))).toEqual([])
    expect(problems(job([{ route: { when: { big: 'total > 100' }, otherwise: 'rest' } }], { split: { bytes: '10MB' } }))).toEqual([])
  })

  it('says where aggregate and route may stand, and what they need', () => {
    expect(problems(job([{ aggregate: { values: { n: 'count' } } }, { filter: 'x' }]))).toContainEqual({ path: 'steps[0]', message: expect.stringContaining('must be the last step') })
    expect(problems(job([{ dedupe: ['id'] }, { aggregate: { values: { n: 'count' } } }]))).toContainEqual({ path: 'steps[1]', message: expect.stringContaining('distinct(column)') })
    expect(problems(job([{ aggregate: { by: ['n'], values: { n: 'count' } } }]))).toContainEqual({ path: 'steps[0].aggregate.values.n', message: expect.stringContaining('also a column of "by"') })
    expect(problems(job([{ aggregate: { values: {} } }]))).toContainEqual({ path: 'steps[0].aggregate.values', message: expect.stringContaining('at least one value') })
    expect(problems(job([{ aggregate: { values: { n: 'count' }, maxGroup: 5 } }]))).toContainEqual({ path: 'steps[0].aggregate.maxGroup', message: expect.stringContaining('did you mean "maxGroups"') })
    expect(problems(job([{ route: {} }]))).toContainEqual({ path: 'steps[0].route', message: expect.stringContaining('needs one of "by"') })
    expect(problems(job([{ route: { by: 'x', otherwise: 'y' } }]))).toContainEqual({ path: 'steps[0].route.otherwise', message: 'applies to "when" only' })
    expect(problems(job([{ route: { when: { 'a/b': 'x' } } }]))).toContainEqual({ path: 'steps[0].route.when.a/b', message: expect.stringContaining('cannot contain') })
    expect(problems(job([], { split: {} }))).toContainEqual({ path: 'output.split', message: expect.stringContaining('needs "records"') })
    expect(problems(job([], { format: 'xlsx', split: { bytes: '1MB' } }))).toContainEqual({ path: 'output.split.bytes', message: expect.stringContaining('by "records"') })
  })
})
