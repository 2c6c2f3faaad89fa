// An invalid job gets every problem at once, each with its path and a suggestion, and no run starts.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, tempDir, writeJob } from '../helpers/cli'

function jobDir(): string {
  const dir = tempDir()
  mkdirSync(join(dir, 'in'))
  writeFileSync(join(dir, 'in', 'o.csv'), 'id,amount,quantity,status,country\n1,2.50,2,paid,de\n')
  return dir
}

const base = {
  name: 'orders',
  kind: 'records',
  input: { folder: 'in', include: ['*.csv'], format: 'csv' },
  output: { folder: 'out', format: 'jsonl' }
}

describe('checking a job file', () => {
  it('lists every problem with its path and a did-you-mean, exits 4 and starts no run', () => {
    const dir = jobDir()
    const home = tempDir()
    const file = writeJob(dir, {
      ...base,
      steps: [
        { validate: { id: { type: 'integer', required: true }, quantiy: { type: 'integer' } } },
        { filter: "stauts != 'cancelled'" },
        { derive: { total: 'round(amout * quantity, 2)', country: 'uper(country)' } },
        { dedup: ['id'] }
      ],
      policy: { concurency: 2 }
    })
    const r = cli(['run', file, '--home', home])
    expect(r.code).toBe(4)
    // structural problems come first and stop the column checks: fix the shape, then the names
    expect(r.stderr).toContain('steps[3].dedup: unknown step "dedup"; did you mean "dedupe"?')
    expect(r.stderr).toContain('policy.concurency: unknown field "concurency"; did you mean "concurrency"?')
    expect(r.stderr).toContain('No run was started.')
    expect(existsSync(join(dir, 'out'))).toBe(false)
    expect(cli(['runs', '--home', home, '--json']).stdout.trim()).toBe('[]')
  })

  it('checks column names and expressions against the input header', () => {
    const dir = jobDir()
    const file = writeJob(dir, {
      ...base,
      steps: [
        { validate: { id: { type: 'integer', required: true }, quantiy: { type: 'integer' } } },
        { filter: "stauts != 'cancelled'" },
        { derive: { total: 'round(amout * quantity, 2)', country: 'uper(country)', bad: 'amount * (' } },
        { dedupe: ['id'] }
      ]
    })
    const r = cli(['run', file, '--home', tempDir()])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('steps[0].validate.quantiy: unknown column "quantiy"; did you mean "quantity"?')
    expect(r.stderr).toContain('steps[1].filter: unknown column "stauts"; did you mean "status"?')
    expect(r.stderr).toContain('steps[2].derive.total: unknown column "amout"; did you mean "amount"?')
    expect(r.stderr).toMatch(/steps\[2\]\.derive\.country: unknown function "uper"; did you mean "upper"\?/)
    expect(r.stderr).toMatch(/steps\[2\]\.derive\.bad: .+/)
    expect(r.stderr).toContain('has 5 problems')
  })

  it('names a missing input folder', () => {
    const dir = tempDir()
    const file = writeJob(dir, { ...base, input: { ...base.input, folder: 'nowhere' } })
    const r = cli(['run', file, '--home', tempDir()])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain(`input.folder: the input folder ${join(dir, 'nowhere')} does not exist`)
  })

  it('explains a job file that is not JSON, with the line', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'job.json'), '{\n  "name": "x",\n  "kind": "records",\n}\n')
    const r = cli(['run', join(dir, 'job.json'), '--home', tempDir()])
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/not valid JSON: .*line 4/)
  })

  it('explains a missing job file', () => {
    const r = cli(['run', join(tempDir(), 'nope.json'), '--home', tempDir()])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('the job file does not exist')
  })

  it('rejects a dedupe that is followed by a step that can drop records', () => {
    const dir = jobDir()
    const file = writeJob(dir, { ...base, steps: [{ dedupe: ['id'] }, { filter: 'amount > 1' }] })
    const r = cli(['check', file])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('dedupe must come after every step that can filter or reject records')
  })

  it('`check` accepts the shipped example', () => {
    const r = cli(['check', join(import.meta.dirname, '..', '..', 'resources', 'examples', 'orders-clean', 'job.json')])
    expect(r.stdout).toContain('is valid')
    expect(r.code).toBe(0)
  })
})
