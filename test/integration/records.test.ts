// Records jobs end to end through the CLI: determinism, dedupe across files and partitions,
// formats and encodings, untouched values, halt rules.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, lastJson, readJsonl, tempDir, treeHashes, writeJob } from '../helpers/cli'
import { exampleSteps, orderRows, ordersCsv, type OrderRow } from '../helpers/orders'

function dirWith(files: Record<string, string | Buffer>): string {
  const dir = tempDir()
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, 'in', name, '..'), { recursive: true })
    writeFileSync(join(dir, 'in', name), content)
  }
  return dir
}

const ordersJob = (policy: Record<string, unknown>, output: Record<string, unknown> = {}) => ({
  name: 'orders',
  kind: 'records',
  input: { folder: 'in', include: ['*.csv'], format: 'csv' },
  steps: exampleSteps(),
  output: { folder: 'out', format: 'jsonl', layout: 'per-input', ...output },
  policy
})

/** The expected output of ordersJob, computed independently: first occurrence of each id in file then row order. */
function expected(files: OrderRow[][]): { id: number; total: number; country: string }[][] {
  const seen = new Set<number>()
  return files.map((rows) =>
    rows
      .filter((r) => r.status !== 'cancelled')
      .filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)))
      .map((r) => ({ id: r.id, total: Math.round(Number(r.amount) * Number(r.quantity) * 100) / 100, country: r.country.toUpperCase() }))
  )
}

describe('records jobs', () => {
  const a = orderRows(6000, 11)
  const b = orderRows(5000, 12)
  const inputs = { 'a.csv': ordersCsv(a), 'b.csv': ordersCsv(b, '\r\n') }

  it('dedupes across files and partitions, keeping the first occurrence in input order', () => {
    const dir = dirWith(inputs)
    const r = lastJson(cli(['run', writeJob(dir, ordersJob({ concurrency: 2, chunkSize: 8192 })), '--home', tempDir(), '--json']).stdout)
    expect(r.status).toBe('succeeded')
    const [ea, eb] = expected([a, b])
    const got = ['a', 'b'].map((n) => readJsonl(join(dir, 'out', `${n}.jsonl`)).map((x) => ({ id: x.id, total: x.total, country: x.country })))
    expect(got[0]).toEqual(ea)
    expect(got[1]).toEqual(eb)
    expect(r.counts.deduped).toBeGreaterThan(1000)
    expect(r.counts.in).toBe(11000)
    expect(r.counts.in).toBe(r.counts.out + r.counts.filtered + r.counts.deduped + r.counts.failed)
  })

  it('gives byte-identical outputs at concurrency 1 and 2 and with tiny or default partitions', () => {
    const hashes = [
      { concurrency: 1 },
      { concurrency: 2 },
      { concurrency: 2, chunkSize: 1024 },
      { concurrency: 1, chunkSize: 3000 }
    ].map((policy) => {
      const dir = dirWith(inputs)
      const r = cli(['run', writeJob(dir, ordersJob(policy)), '--home', tempDir(), '--json'])
      expect(r.code).toBe(0)
      return treeHashes(join(dir, 'out'))
    })
    for (const h of hashes.slice(1)) expect(h).toEqual(hashes[0])
  })

  it('merges into one CSV file in input order, quoting what needs quotes', () => {
    const dir = dirWith(inputs)
    const r = lastJson(cli(['run', writeJob(dir, ordersJob({ chunkSize: 4096 }, { format: 'csv', layout: 'merged', name: 'all' })), '--home', tempDir(), '--json']).stdout)
    expect(r.outputs).toHaveLength(1)
    expect(r.outputs[0]?.path).toBe(join(dir, 'out', 'all.csv'))
    const text = readFileSync(join(dir, 'out', 'all.csv'), 'utf8')
    expect(text.startsWith('id,customer,country,amount,quantity,status,note,total\n')).toBe(true)
    const [ea, eb] = expected([a, b])
    expect(r.outputs[0]?.records).toBe((ea?.length ?? 0) + (eb?.length ?? 0))
    expect(text).toContain('"line one\nline two')
  })

  it('writes values no step touched exactly as read', () => {
    const dir = dirWith({ 'z.csv': 'zip,code,amount\n00123,007,1.50\n  x  ,0x1F,2\n' })
    writeJob(dir, {
      name: 'untouched',
      kind: 'records',
      input: { folder: 'in', format: 'csv' },
      steps: [{ derive: { double: 'amount * 2', plus: 'zip + 1' } }],
      output: { folder: 'out', format: 'jsonl' }
    })
    const r = cli(['run', join(dir, 'job.json'), '--home', tempDir(), '--json'])
    expect(lastJson(r.stdout).counts.out).toBe(2)
    const rows = readJsonl(join(dir, 'out', 'z.jsonl'))
    expect(rows[0]).toEqual({ zip: '00123', code: '007', amount: '1.50', double: 3, plus: 124 })
    expect(rows[1]).toMatchObject({ zip: '  x  ', code: '0x1F', double: 4 })
  })

  it('reads Latin-1 and Windows-1252 files by option, and flags invalid UTF-8 instead of garbling it', () => {
    const latin = Buffer.concat([Buffer.from('name,city\n'), Buffer.from([0x4a, 0xfc, 0x72, 0x67, 0x65, 0x6e]), Buffer.from(',K'), Buffer.from([0xf6]), Buffer.from('ln\n')])
    const cp1252 = Buffer.concat([Buffer.from('name,city\n'), Buffer.from('Price '), Buffer.from([0x80]), Buffer.from('5,Paris\n')])
    for (const [encoding, file, want] of [
      ['latin1', latin, { name: 'Jürgen', city: 'Köln' }],
      ['windows-1252', cp1252, { name: 'Price €5', city: 'Paris' }]
    ] as const) {
      const dir = dirWith({ 'x.csv': file })
      writeJob(dir, { name: 'enc', kind: 'records', input: { folder: 'in', format: 'csv', encoding }, output: { folder: 'out', format: 'jsonl' } })
      expect(lastJson(cli(['run', join(dir, 'job.json'), '--home', tempDir(), '--json']).stdout).counts.out).toBe(1)
      expect(readJsonl(join(dir, 'out', 'x.jsonl'))).toEqual([want])
    }
    // The Latin-1 file read as UTF-8: the bad row fails with a hint; the good row passes.
    const dir = dirWith({ 'x.csv': Buffer.concat([latin, Buffer.from('Ann,Oslo\n')]) })
    writeJob(dir, { name: 'enc', kind: 'records', input: { folder: 'in', format: 'csv' }, output: { folder: 'out', format: 'jsonl' } })
    const home = tempDir()
    const r = lastJson(cli(['run', join(dir, 'job.json'), '--home', home, '--json']).stdout)
    expect(r.counts).toMatchObject({ in: 2, out: 1, failed: 1 })
    expect(cli(['report', r.runId, '--home', home]).stdout).toMatch(/ENCODING_ERROR .*not valid UTF-8.*input\.encoding/)
    expect(readFileSync(join(dir, 'out', 'x.jsonl'), 'utf8')).not.toContain('\uFFFD')
  })

  it('flags invalid UTF-8 in a row that a 64 KiB read cuts in two, wherever the bad byte falls', () => {
    // The worker reads 64 KiB at a time and decodes each block; a row whose bad byte is in one
    // block and whose end is in the next must still fail, not be written with a U+FFFD.
    const header = 'id,name\n'
    for (const shift of [-40, -3, -1, 0, 1, 3]) {
      const filler: string[] = []
      let size = header.length
      for (let i = 1; size < 65536 - 200; i++) {
        const line = `${i},${'x'.repeat(50)}\n`
        filler.push(line)
        size += line.length
      }
      // The long row starts before the boundary; its bad byte sits `shift` bytes from it.
      const before = 65536 + shift - size - 6
      const row = Buffer.concat([Buffer.from('999,' + 'a'.repeat(before)), Buffer.from([0xff]), Buffer.from('b'.repeat(300) + '\n')])
      const dir = dirWith({ 'x.csv': Buffer.concat([Buffer.from(header + filler.join('')), row, Buffer.from('1000,ok\n')]) })
      writeJob(dir, { name: 'enc', kind: 'records', input: { folder: 'in', format: 'csv' }, output: { folder: 'out', format: 'jsonl' }, policy: { concurrency: 1 } })
      const r = lastJson(cli(['run', join(dir, 'job.json'), '--home', tempDir(), '--json']).stdout)
      expect(r.counts.failed, `bad byte ${shift} bytes from the boundary`).toBe(1)
      expect(r.counts.out).toBe(filler.length + 1)
      expect(readFileSync(join(dir, 'out', 'x.jsonl'), 'utf8')).not.toContain('\uFFFD')
    }
  })

  it('reads TSV, a UTF-8 BOM and semicolon-delimited files', () => {
    const dir = dirWith({ 't.tsv': '\uFEFFid\tname\n1\ta,b\n', 's.csv': 'id;name\n2;"x;y"\n' })
    writeJob(dir, { name: 'tsv', kind: 'records', input: { folder: 'in', include: ['*.tsv'], format: 'tsv' }, output: { folder: 'out', format: 'jsonl' } }, 'tsv.json')
    writeJob(dir, { name: 'semi', kind: 'records', input: { folder: 'in', include: ['*.csv'], format: 'csv', delimiter: ';' }, output: { folder: 'out', format: 'jsonl' } }, 'semi.json')
    cli(['run', join(dir, 'tsv.json'), '--home', tempDir()])
    cli(['run', join(dir, 'semi.json'), '--home', tempDir()])
    expect(readJsonl(join(dir, 'out', 't.jsonl'))).toEqual([{ id: '1', name: 'a,b' }])
    expect(readJsonl(join(dir, 'out', 's.jsonl'))).toEqual([{ id: '2', name: 'x;y' }])
  })

  it('reads JSON lines, reporting bad lines by line number', () => {
    const dir = dirWith({ 'e.jsonl': '{"id":1,"v":"a"}\n\n{"id":2,"v":\n[1,2]\n{"id":3,"v":"c"}\r\n' })
    writeJob(dir, {
      name: 'jl',
      kind: 'records',
      input: { folder: 'in', include: ['*.jsonl'], format: 'jsonl' },
      steps: [{ derive: { w: 'upper(v)' } }, { select: ['id', 'v', 'w'] }],
      output: { folder: 'out', format: 'csv' }
    })
    const home = tempDir()
    const r = lastJson(cli(['run', join(dir, 'job.json'), '--home', home, '--json']).stdout)
    expect(r.counts).toMatchObject({ in: 4, out: 2, failed: 2 })
    const csv = join(tempDir(), 'f.csv')
    cli(['report', r.runId, '--home', home, '--csv', csv])
    const rows = readFileSync(csv, 'utf8').trim().split('\n').slice(1)
    expect(rows[0]).toMatch(/^e\.jsonl,3,read,PARSE_ERROR,/)
    expect(rows[1]).toMatch(/^e\.jsonl,4,read,PARSE_ERROR,.*array/)
    expect(readFileSync(join(dir, 'out', 'e.csv'), 'utf8')).toBe('id,v,w\n1,a,A\n3,c,C\n')
  })

  it('asks for the column list when writing CSV from JSON lines', () => {
    const dir = dirWith({ 'e.jsonl': '{"id":1}\n' })
    writeJob(dir, { name: 'jl', kind: 'records', input: { folder: 'in', format: 'jsonl' }, output: { folder: 'out', format: 'csv' } })
    const r = cli(['run', join(dir, 'job.json'), '--home', tempDir()])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('output.format: CSV output from JSON lines needs the list of columns')
  })

  it('halts with a clear reason when failed records pass maxFailedRecords, and keeps them', () => {
    const rows = 'id,amount\n' + Array.from({ length: 50 }, (_, i) => `${i},${i % 2 ? 'x' : '1'}`).join('\n') + '\n'
    const dir = dirWith({ 'h.csv': rows })
    writeJob(dir, {
      name: 'halt',
      kind: 'records',
      input: { folder: 'in', format: 'csv' },
      steps: [{ validate: { amount: { type: 'number' } } }],
      output: { folder: 'out', format: 'jsonl' },
      policy: { maxFailedRecords: 3 }
    })
    const home = tempDir()
    const run = cli(['run', join(dir, 'job.json'), '--home', home, '--json'])
    expect(run.code).toBe(3)
    const r = lastJson(run.stdout)
    expect(r.status).toBe('failed')
    expect(r.message).toContain('more than the job allows (maxFailedRecords 3)')
    expect(r.outputs).toEqual([])
    expect(() => readFileSync(join(dir, 'out', 'h.jsonl'))).toThrow()
    const report = JSON.parse(cli(['report', r.runId, '--home', home, '--json']).stdout) as { groups: { count: number }[] }
    expect(report.groups[0]?.count).toBe(25)
  })

  it('turns a file with a broken header into one failed record and processes the others', () => {
    const dir = dirWith({ 'good.csv': 'id,v\n1,a\n', 'twice.csv': 'id,v,id\n1,2,3\n' })
    writeJob(dir, { name: 'hdr', kind: 'records', input: { folder: 'in', format: 'csv' }, output: { folder: 'out', format: 'jsonl' } })
    const home = tempDir()
    const r = lastJson(cli(['run', join(dir, 'job.json'), '--home', home, '--json']).stdout)
    expect(r.status).toBe('partial')
    expect(r.counts).toMatchObject({ out: 1, failed: 1 })
    expect(cli(['report', r.runId, '--home', home]).stdout).toContain('the header names column "id" twice (columns 1 and 3)')
  })

  it('validates every type and rule with plain messages, then reshapes columns', () => {
    const dir = dirWith({
      'v.csv': [
        'id,active,day,code,size,extra,junk',
        '1,yes,2024-02-29,AB-1,M,x,j',
        '2,maybe,2024-02-29,AB-2,M,x,j',
        '3,no,2024-02-30,AB-3,M,x,j',
        '4,0,2024-03-01,zz,M,x,j',
        '5,1,2024-03-01,AB-5,XXL,x,j',
        '6,true,2023-12-31,AB-6,S,x,j',
        '7,false,,AB-7,S,x,j'
      ].join('\n') + '\n'
    })
    writeJob(dir, {
      name: 'rules',
      kind: 'records',
      input: { folder: 'in', format: 'csv' },
      steps: [
        {
          validate: {
            id: { type: 'integer', max: 100 },
            active: { type: 'boolean' },
            day: { type: 'date', min: '2024-01-01', required: true },
            code: { pattern: '^AB-\\d$' },
            size: { enum: ['S', 'M', 'L'] }
          }
        },
        { drop: ['junk'] },
        { rename: { extra: 'note' } },
        { select: ['id', 'day', 'active', 'note'] }
      ],
      output: { folder: 'out', format: 'jsonl' }
    })
    const home = tempDir()
    const r = lastJson(cli(['run', join(dir, 'job.json'), '--home', home, '--json']).stdout)
    expect(r.counts).toMatchObject({ in: 7, out: 1, failed: 6 })
    expect(readJsonl(join(dir, 'out', 'v.jsonl'))).toEqual([{ id: 1, day: '2024-02-29', active: true, note: 'x' }])
    const csv = join(tempDir(), 'f.csv')
    cli(['report', r.runId, '--home', home, '--csv', csv])
    const msgs = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(3, 5).join(' '))
    expect(msgs).toEqual([
      'WRONG_TYPE "active: ""maybe"" is not true/false (or yes/no',
      'WRONG_TYPE "day: ""2024-02-30"" is not a real calendar date"',
      'PATTERN_MISMATCH code: does not match the pattern ^AB-\\d$',
      'NOT_ALLOWED "size: must be one of S',
      'OUT_OF_RANGE day: must be at least 2024-01-01',
      'REQUIRED day: a value is required'
    ])
  })

  it('names columns column1, column2... for files without a header row', () => {
    const dir = dirWith({ 'n.csv': '1,,x\n2,b,y\n' })
    writeJob(dir, {
      name: 'noheader',
      kind: 'records',
      input: { folder: 'in', format: 'csv', header: false },
      steps: [{ derive: { next: 'column1 + 1' } }],
      output: { folder: 'out', format: 'jsonl' }
    })
    const r = lastJson(cli(['run', join(dir, 'job.json'), '--home', tempDir(), '--json']).stdout)
    expect(r.counts).toMatchObject({ in: 2, out: 2 })
    expect(readJsonl(join(dir, 'out', 'n.jsonl'))).toEqual([
      { column1: '1', column2: '', column3: 'x', next: 2 },
      { column1: '2', column2: 'b', column3: 'y', next: 3 }
    ])
  })

  it('runs with zero input files and says so', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    writeJob(dir, { name: 'empty', kind: 'records', input: { folder: 'in', format: 'csv' }, output: { folder: 'out', format: 'jsonl' } })
    const r = cli(['run', join(dir, 'job.json'), '--home', tempDir(), '--json'])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('No file in')
    expect(lastJson(r.stdout).counts.in).toBe(0)
  })
})
