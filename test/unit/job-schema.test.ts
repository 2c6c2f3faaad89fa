// Job-file rules that keep outputs where the job says: a merged output's name is a name, not a path.
import { describe, expect, it } from 'vitest'
import { parseJob } from '../../src/shared/job'

const base = { name: 'j', kind: 'records', input: { folder: 'in', format: 'csv' } }
const problems = (name: string): string[] => {
  const r = parseJob({ ...base, output: { folder: 'out', format: 'csv', layout: 'merged', name } })
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)
}

describe('output.name', () => {
  it.each(['../../x', 'sub/x', 'a\\\\b', 'C:x', '..', ' . '])('refuses %j: it would leave the output folder', (name) => {
    expect(problems(name)[0]).toMatch(/^output\.name: /)
  })
  it.each(['orders-clean', 'Orders 2026 (all)', 'x.y'])('accepts %j', (name) => expect(problems(name)).toEqual([]))
})
