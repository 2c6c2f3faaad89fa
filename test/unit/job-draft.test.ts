// The editor's draft and the job JSON: a saved job opened as a draft and turned back into JSON is
// the same job (files jobs, aggregate and route steps, output split), and a command line splits
// into arguments and joins back as typed.
import { describe, expect, it } from 'vitest'
import { joinCommandLine, splitCommandLine, unclosedQuote } from '../../src/renderer/src/features/job-editor/command-line'
import { draftFromJob, draftToJob, emptyDraft, placeProblems, presetStep, stepToJson } from '../../src/renderer/src/features/job-editor/job-draft'

const roundTrip = (job: Record<string, unknown>): Record<string, unknown> => draftToJob(draftFromJob(job, '/home/ann'))

describe('job drafts', () => {
  it('round-trips a files job with a command list, patterns, policy and a schedule', () => {
    const job = {
      name: 'upper',
      kind: 'files',
      input: { folder: '/data/in', include: ['*.txt'], exclude: ['skip-*'] },
      command: ['node', 'up.mjs', '{}', '{out}/{stem}.up'],
      shell: false,
      output: { folder: '/data/out' },
      policy: { concurrency: 2, retries: 1, timeout: '30s', maxFailedRecords: 5, memoryLimitMb: 256 },
      triggers: [{ every: '1h' }],
      catchUp: 'latest',
      catchUpLimit: 10,
      overlap: 'queue',
      incremental: true
    }
    expect(roundTrip(job)).toEqual(job)
  })

  it('round-trips a shell line and a module job', () => {
    const shell = { name: 's', kind: 'files', input: { folder: '/in' }, command: 'gzip -c {} > {out}/{name}.gz', shell: true, output: { folder: '/out' }, triggers: [], catchUp: 'none', overlap: 'skip', incremental: false }
    expect(roundTrip(shell)).toEqual(shell)
    const mod = { name: 'm', kind: 'files', input: { folder: '/in' }, module: '/x/convert.mjs', export: 'convert', output: { folder: '/out' }, triggers: [], catchUp: 'latest', overlap: 'queue', incremental: false }
    expect(roundTrip(mod)).toEqual(mod)
  })

  it('writes a command typed as one line as a list of arguments when the shell is off', () => {
    const draft = { ...emptyDraft(), kind: 'files' as const, folder: '/in', outputFolder: '/out', name: 'x' }
    draft.files = { ...draft.files, commandMode: 'line', line: `gzip -k "{}" 'a b'` }
    expect(draftToJob(draft).command).toEqual(['gzip', '-k', '{}', 'a b'])
    expect(draftToJob(draft).shell).toBe(false)
    draft.files = { ...draft.files, shell: true }
    expect(draftToJob(draft).command).toBe(`gzip -k "{}" 'a b'`)
  })

  it('round-trips aggregate and route steps and the output split', () => {
    const job = {
      name: 'r',
      kind: 'records',
      input: { folder: '/in', format: 'csv' },
      steps: [
        { filter: 'total > 0' },
        { route: { when: { large: 'total > 100' }, otherwise: 'rest' } },
        { route: { by: 'upper(country)' } },
        { aggregate: { by: ['country'], values: { n: 'count', sum: 'sum(total)', odd: 'SUM( total )' }, maxGroups: 10 } }
      ],
      output: { folder: '/out', format: 'jsonl', layout: 'per-input', split: { records: 100, bytes: '100MB' } },
      triggers: [],
      catchUp: 'latest',
      overlap: 'queue',
      incremental: false
    }
    expect(roundTrip(job)).toEqual(job)
  })

  it('writes new aggregate and route steps as the job file expects', () => {
    const agg = presetStep('aggregate', [])
    if (agg.kind !== 'aggregate') throw new Error('not an aggregate')
    agg.by = ['country']
    agg.values.push({ id: 'v', name: 'revenue', fn: 'avg', column: 'total', custom: '' })
    expect(stepToJson(agg)).toEqual({ aggregate: { by: ['country'], values: { records: 'count', revenue: 'avg(total)' } } })
    const route = presetStep('route', [])
    if (route.kind !== 'route') throw new Error('not a route')
    expect(stepToJson({ ...route, by: ' country ' })).toEqual({ route: { by: 'country' } })
  })

  it('places a files job’s command problems with the processor', () => {
    const placed = placeProblems([
      { path: 'command[2]', message: 'a' },
      { path: 'module', message: 'b' },
      { path: 'output.split.bytes', message: 'c' }
    ])
    expect(placed.processor.map((p) => p.sub)).toEqual(['command[2]', 'module'])
    expect(placed.output).toEqual([{ sub: 'split.bytes', message: 'c' }])
  })
})

describe('command lines', () => {
  it('splits as a shell does, and joins back', () => {
    expect(splitCommandLine(`a  'b c' "d \\" e" f\\ g {} ''`)).toEqual(['a', 'b c', 'd " e', 'f g', '{}', ''])
    // a backslash before anything else stays: Windows paths survive
    expect(splitCommandLine('C:\\tools\\zip.exe {}')).toEqual(['C:\\tools\\zip.exe', '{}'])
    for (const args of [['node', 'x y.mjs', "it's", '', '{out}/{stem}.up'], ['a\\b', '"q"']]) {
      expect(splitCommandLine(joinCommandLine(args))).toEqual(args)
    }
    expect(unclosedQuote(`gzip "a`)).toBe(true)
    expect(unclosedQuote(`gzip "a"`)).toBe(false)
  })
})
