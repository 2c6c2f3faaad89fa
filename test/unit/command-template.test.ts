// A files job's command template: every placeholder, paths with spaces and quotes, names that
// look like shell code, shell quoting only when the job asks for a shell, and the job's checks.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { expandCommand, itemValues, shellQuote, shownPath, templateProblems, tokenize } from '../../src/main/engine/command-template'
import { parseJob } from '../../src/shared/job'

const cwd = '/jobs/upper'
const item = (rel: string, seq = 7): ReturnType<typeof itemValues> =>
  itemValues({ path: join(cwd, 'in', rel), relPath: rel, seq, out: join(cwd, 'out', '.batchery-staging', 'R1', String(seq)) }, cwd)

describe('placeholders', () => {
  const v = item('sub/report.final.csv')

  it('GNU parallel forms and friendly names mean the same', () => {
    const cases: [string, string][] = [
      ['{}', 'in/sub/report.final.csv'],
      ['{path}', 'in/sub/report.final.csv'],
      ['{/}', 'report.final.csv'],
      ['{name}', 'report.final.csv'],
      ['{/.}', 'report.final'],
      ['{stem}', 'report.final'],
      ['{.}', 'in/sub/report.final'],
      ['{noext}', 'in/sub/report.final'],
      ['{ext}', 'csv'],
      ['{//}', 'in/sub'],
      ['{dir}', 'in/sub'],
      ['{#}', '7'],
      ['{seq}', '7'],
      ['{out}', 'out/.batchery-staging/R1/7'],
      ['{rel}', 'sub/report.final.csv'],
      ['{reldir}', 'sub']
    ]
    for (const [p, want] of cases) {
      const cmd = expandCommand({ command: ['echo', p], shell: false }, v)
      expect(cmd.args, p).toEqual([want])
    }
  })

  it('several placeholders and literal text in one argument', () => {
    const cmd = expandCommand({ command: ['convert', '{}', '-o', '{out}/{/.}-{#}.{ext}.gz'], shell: false }, v)
    expect(cmd.file).toBe('convert')
    expect(cmd.args).toEqual(['in/sub/report.final.csv', '-o', 'out/.batchery-staging/R1/7/report.final-7.csv.gz'])
  })

  it('a file without an extension, at the top of the input folder', () => {
    const w = item('README')
    expect([w.name, w.stem, w.ext, w.noext, w.dir, w.reldir]).toEqual(['README', 'README', '', 'in/README', 'in', '.'])
  })

  it('paths outside the working folder are absolute; a name starting with "-" is never an option', () => {
    expect(shownPath('/data/in/a.csv', cwd)).toBe('/data/in/a.csv')
    expect(shownPath(join(cwd, '-rf'), cwd)).toBe('./-rf')
    const v2 = itemValues({ path: join(cwd, '--help.txt'), relPath: '--help.txt', seq: 1, out: join(cwd, 'o') }, cwd)
    expect(expandCommand({ command: ['cat', '{}'], shell: false }, v2).args).toEqual(['./--help.txt'])
  })

  it('without any placeholder, the path is added last (as GNU parallel does)', () => {
    expect(expandCommand({ command: ['wc', '-l'], shell: false }, v).args).toEqual(['-l', 'in/sub/report.final.csv'])
  })

  it('other brace text is literal: JSON, awk programs, shell variables', () => {
    const cmd = expandCommand({ command: ['jq', '{"a": 1}', 'awk', '{print $1}', '{print}', '${HOME}'], shell: false }, v)
    expect(cmd.args).toEqual(['{"a": 1}', 'awk', '{print $1}', '{print}', '${HOME}', 'in/sub/report.final.csv'])
    expect(tokenize('${HOME}/{}')).toEqual([{ literal: '${HOME}/' }, { value: 'path' }])
  })
})

describe('no shell unless asked', () => {
  const hostile = ['$(rm -rf ~).csv', "it's a \"quoted\" name.csv", 'a b  c.csv', '`touch pwned`;echo.csv', 'new\nline.csv', '*.csv']

  for (const name of hostile) {
    it(`${JSON.stringify(name)} is one argument, byte for byte`, () => {
      const v = item(name)
      const cmd = expandCommand({ command: ['printf', '%s', '{/}'], shell: false }, v)
      expect(cmd.args).toEqual(['%s', name])
      // Really spawned without a shell: the program gets exactly the name.
      expect(execFileSync(cmd.file, cmd.args, { encoding: 'utf8' })).toBe(name)
    })

    it(`${JSON.stringify(name)} stays a name with "shell": true too (values are inserted quoted)`, () => {
      const v = item(name)
      const cmd = expandCommand({ command: 'printf %s {/} | cat', shell: true }, v, 'linux')
      expect(cmd.file).toBe('/bin/sh')
      expect(cmd.args[0]).toBe('-c')
      expect(execFileSync(cmd.file, cmd.args, { encoding: 'utf8', cwd: '/' })).toBe(name)
    })
  }

  it('a shell line keeps its own syntax: pipes, redirections, variables', () => {
    const v = item('a.txt')
    const cmd = expandCommand({ command: ['echo', '$0-{#}', '|', 'tr', 'a-z', 'A-Z'], shell: true }, v, 'linux')
    expect(cmd.display).toBe('echo $0-7 | tr a-z A-Z')
    expect(execFileSync(cmd.file, cmd.args, { encoding: 'utf8' })).toBe('/BIN/SH-7\n')
  })

  it('the display line is shell-quoted so that it can be pasted into a terminal', () => {
    const v = item("it's $(x).csv")
    const cmd = expandCommand({ command: ['cat', '{/}', ''], shell: false }, v)
    expect(cmd.display).toBe(`cat 'it'\\''s $(x).csv' ''`)
    expect(execFileSync('/bin/sh', ['-c', `printf '%s|' ${cmd.display.slice(4)}`], { encoding: 'utf8' })).toBe("it's $(x).csv||")
    expect(shellQuote('plain-name_1.csv')).toBe('plain-name_1.csv')
  })
})

describe('checks', () => {
  it('typos and GNU parallel forms that mean nothing here are problems, with a suggestion', () => {
    expect(templateProblems(['x', '{stm}', '{%}', '{1}', '{print}', '{}'])).toEqual([
      { path: 'command[1]', message: expect.stringContaining('unknown placeholder "{stm}"; did you mean "{stem}"?') },
      { path: 'command[2]', message: expect.stringContaining('unknown placeholder "{%}" (GNU parallel') },
      { path: 'command[3]', message: expect.stringContaining('unknown placeholder "{1}"') }
    ])
  })

  const base = { name: 'f', kind: 'files', input: { folder: 'in' }, output: { folder: 'out' } }

  it('a files job parses with its defaults', () => {
    const r = parseJob({ ...base, command: ['gzip', '-k', '{}'] })
    expect(r.ok).toBe(true)
    if (r.ok && r.job.kind === 'files') {
      expect(r.job.shell).toBe(false)
      expect(r.job.policy).toEqual({ retries: 0, timeout: '30m' })
      expect(r.job.input.include).toEqual(['*'])
    }
  })

  it('command or module, exactly one; a command string needs "shell": true; unknown fields are named', () => {
    const problems = (v: object): string[] => {
      const r = parseJob({ ...base, ...v })
      return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)
    }
    expect(problems({})).toEqual([expect.stringMatching(/^command: a files job needs "command"/)])
    expect(problems({ command: ['x'], module: './m.mjs' })).toEqual([expect.stringMatching(/^module: .*not both/)])
    expect(problems({ command: 'gzip {}' })).toEqual([expect.stringMatching(/^command: one string is a shell command line/)])
    expect(problems({ command: 'gzip {}', shell: true })).toEqual([])
    expect(problems({ command: ['x'], input: { folder: 'in', format: 'csv' } })).toEqual(['input.format: unknown field "format"; known fields are folder, include, exclude'])
    expect(problems({ command: ['x'], steps: [] })).toEqual([expect.stringMatching(/^steps: unknown field "steps"/)])
  })

  it('an unknown kind is named, with a suggestion', () => {
    const r = parseJob({ ...base, kind: 'file', command: ['x'] })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.problems[0]?.message).toContain('unknown kind "file"; did you mean "files"?')
  })
})
