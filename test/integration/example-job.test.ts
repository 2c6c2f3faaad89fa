// The shipped example, run as a new user would: through the CLI, on real files, with a real
// SQLite home. Its data holds one of each kind of bad row; every record must be accounted for.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, copyExample, lastJson, readJsonl, tempDir, treeSnapshot } from '../helpers/cli'

describe('the example job orders-clean', () => {
  const dir = copyExample('orders-clean')
  const home = tempDir()
  const inputBefore = treeSnapshot(join(dir, 'in'))
  const run = cli(['run', join(dir, 'job.json'), '--home', home, '--json'])
  const result = lastJson(run.stdout)

  it('finishes as partial (succeeded with failed records) and exits 2', () => {
    expect(run.stderr).toBe('')
    expect(result.status).toBe('partial')
    expect(run.code).toBe(2)
  })

  it('accounts for every record: in = out + filtered + duplicates + failed', () => {
    const c = result.counts
    expect(c).toEqual({ in: 21, out: 10, filtered: 2, deduped: 2, failed: 7 })
    expect(c.in).toBe(c.out + c.filtered + c.deduped + c.failed)
    expect(result.outputs.reduce((s, o) => s + o.records, 0)).toBe(c.out)
  })

  it('writes one JSON-lines file per input, in input order, with typed and derived values', () => {
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['orders-2026-01.jsonl', 'orders-2026-02.jsonl'])
    const jan = readJsonl(join(dir, 'out', 'orders-2026-01.jsonl'))
    expect(jan.map((r) => r.id)).toEqual([1001, 1002, 1004, 1008, 1011, 1014])
    const r1011 = jan.find((r) => r.id === 1011) as Record<string, unknown>
    // validated columns become numbers; derived ones are computed; untouched ones stay as read
    expect(r1011).toMatchObject({ amount: 12.5, quantity: 4, total: 50, country: 'US', date: '2026-01-07', sku: 'SKU-009' })
    expect(jan.find((r) => r.id === 1002)).toMatchObject({ customer: 'Grace Hopper, Rear Admiral', total: 55 })
    expect(jan.find((r) => r.id === 1004)?.note).toBe('note with "quotes"')
    expect(jan.find((r) => r.id === 1008)?.note).toBe('two-line note:\r\nsecond line')
    const feb = readJsonl(join(dir, 'out', 'orders-2026-02.jsonl'))
    // 1004 already came in January: dedupe keeps the first occurrence across files
    expect(feb.map((r) => r.id)).toEqual([2001, 2003, 2006, 2007])
    expect(feb.find((r) => r.id === 2006)?.total).toBe(199)
  })

  it('leaves the input folder exactly as it was', () => {
    expect(treeSnapshot(join(dir, 'in'))).toEqual(inputBefore)
  })

  it('reports each failed record with its file, line, step and a plain message', () => {
    const csvFile = join(tempDir(), 'failed.csv')
    const report = cli(['report', result.runId, '--home', home, '--csv', csvFile])
    expect(report.code).toBe(0)
    expect(report.stdout).toContain('7 of 21 records failed')
    expect(report.stdout).toMatch(/FIELD_COUNT\s+read: expected … fields \(as in the header\), found …\s+first at orders-2026-01.csv:11: expected 9 fields \(as in the header\), found 6/)
    const lines = readFileSync(csvFile, 'utf8').trim().split('\n')
    expect(lines[0]).toBe('file,line,step,code,message,raw')
    const rows = lines.slice(1)
    expect(rows).toHaveLength(7)
    const at = (file: string, line: number): string | undefined => rows.find((r) => r.startsWith(`${file},${line},`))
    expect(at('orders-2026-01.csv', 6)).toContain('OUT_OF_RANGE,amount: must be at least 0')
    expect(at('orders-2026-01.csv', 7)).toContain('WRONG_TYPE')
    expect(at('orders-2026-01.csv', 8)).toContain('REQUIRED,id: a value is required')
    expect(at('orders-2026-01.csv', 11)).toContain('FIELD_COUNT')
    expect(at('orders-2026-01.csv', 12)).toContain('quantity')
    expect(at('orders-2026-01.csv', 15)).toContain('PARSE_ERROR')
    expect(at('orders-2026-02.csv', 6)).toContain('amount')
  })

  it('lists the run in `runs --json`', () => {
    const runs = JSON.parse(cli(['runs', '--home', home, '--json']).stdout) as { runId: string; job: string; status: string; counts: unknown }[]
    expect(runs[0]).toMatchObject({ runId: result.runId, job: 'orders-clean', status: 'partial', counts: result.counts })
  })

  it('gives byte-identical outputs when run again', () => {
    const again = lastJson(cli(['run', join(dir, 'job.json'), '--home', home, '--json']).stdout)
    expect(again.runId).not.toBe(result.runId)
    expect(again.outputs.map((o) => o.sha256)).toEqual(result.outputs.map((o) => o.sha256))
  })
})
