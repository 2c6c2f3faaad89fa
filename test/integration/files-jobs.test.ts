// Files jobs (`"kind": "files"`): each input file is one item, handled by a real command (a shell
// script, node) or a JavaScript module, through the real CLI with a real SQLite file. Outputs are
// staged and moved into place per file; failed files keep their exit code and error output; a run
// killed with SIGKILL resumes without redoing finished files and ends with the same outputs as an
// uninterrupted run; timeouts kill the whole process tree; --dry-run and --joblog.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/main/engine/engine'
import { createHandlers } from '../../src/main/engine/handlers'
import { loadJob } from '../../src/main/engine/job-check'
import { BIN, cli, gone, lastJson, tempDir, treeHashes, treeSnapshot, writeJob, type RunJson } from '../helpers/cli'

/** A converter that a command runs per file: notes each call, fails (exit 3) on names with "bad". */
const CONVERT_SH = `#!/bin/sh
# usage: convert.sh <input> <output>
printf '%s\\n' "$1" >> calls.log
case "$1" in
  *bad*) echo "cannot convert $1: it is marked bad" >&2; exit 3 ;;
esac
tr 'a-z' 'A-Z' < "$1" > "$2"
`

const N = 2000
const isBad = (i: number): boolean => i % 50 === 7

function name(i: number): string {
  return `${isBad(i) ? 'bad-' : 'doc-'}${String(i).padStart(4, '0')}.txt`
}

function makeDir(n: number, job: Record<string, unknown> = {}): string {
  const dir = tempDir('batchery-files-')
  mkdirSync(join(dir, 'in'))
  for (let i = 0; i < n; i++) writeFileSync(join(dir, 'in', name(i)), `file ${i}\nsome text of file ${i}\n`)
  writeFileSync(join(dir, 'convert.sh'), CONVERT_SH)
  writeJob(dir, {
    name: 'upper-docs',
    kind: 'files',
    input: { folder: 'in', include: ['*.txt'] },
    command: ['sh', 'convert.sh', '{}', '{out}/{/.}.up'],
    output: { folder: 'out' },
    policy: { concurrency: 2, retries: 0, timeout: '30s', maxFailedRecords: 1000 },
    ...job
  })
  return dir
}

function calls(dir: string): string[] {
  const f = join(dir, 'calls.log')
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []
}

function runs(home: string): { runId: string; status: string }[] {
  return JSON.parse(cli(['runs', '--home', home, '--json']).stdout) as { runId: string; status: string }[]
}

function joblogOf(runId: string, home: string): string[][] {
  const r = cli(['report', runId, '--home', home, '--joblog', '-'])
  expect(r.stderr).toBe('')
  return r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.split('\t'))
}

const badCount = (n: number): number => Array.from({ length: n }, (_, i) => i).filter(isBad).length

/** Input file numbers in the order a run takes them (sorted by name: bad-… before doc-…). */
const sortedIndexes = (n: number): number[] => Array.from({ length: n }, (_, i) => i).sort((a, b) => (name(a) < name(b) ? -1 : 1))


describe('a files job over 2,000 files with a real command', () => {
  let dir: string
  let home: string
  let result: ReturnType<typeof cli>
  let before: Record<string, string>

  beforeAll(() => {
    dir = makeDir(N)
    home = tempDir()
    before = treeSnapshot(join(dir, 'in'))
    result = cli(['run', join(dir, 'job.json'), '--home', home, '--json'])
  }, 300_000)

  it('accounts for every file: in = done + failed, and exits 2 (partial)', () => {
    expect(result.stderr).toBe('')
    expect(result.code).toBe(2)
    const s = lastJson(result.stdout)
    expect(s.status).toBe('partial')
    expect(s.counts).toEqual({ in: N, out: N - badCount(N), filtered: 0, deduped: 0, failed: badCount(N) })
    expect(s.outputs).toHaveLength(N - badCount(N))
    expect(calls(dir)).toHaveLength(N)
  })

  it('says so in files, not records', () => {
    const text = cli(['report', lastJson(result.stdout).runId, '--home', home])
    expect(text.stdout).toContain(`${badCount(N)} of 2,000 files failed`)
    // a small run prints the accounting line in words
    const small = makeDir(3)
    const r = cli(['run', join(small, 'job.json'), '--home', tempDir()])
    expect(r.stdout).toContain('files in 3 = done 3 + failed 0')
  })

  it('writes each output under its final name, converted, and leaves no staging behind', () => {
    const out = readdirSync(join(dir, 'out')).sort()
    expect(out).toHaveLength(N - badCount(N))
    for (let i = 0; i < N; i++) {
      const f = join(dir, 'out', name(i).replace('.txt', '.up'))
      if (isBad(i)) expect(existsSync(f)).toBe(false)
      else expect(readFileSync(f, 'utf8')).toBe(`FILE ${i}\nSOME TEXT OF FILE ${i}\n`)
    }
    expect(existsSync(join(dir, 'out', '.batchery-staging'))).toBe(false)
    expect(treeSnapshot(join(dir, 'in'))).toEqual(before)
  })

  it('keeps each failed file with its exit code and the tail of its error output', () => {
    const s = lastJson(result.stdout)
    const report = JSON.parse(cli(['report', s.runId, '--home', home, '--json']).stdout) as {
      kind: string
      groups: { code: string; step: string; count: number; message: string; sample_file: string; sample_line: number; sample_raw: string }[]
    }
    expect(report.kind).toBe('files')
    expect(report.groups).toHaveLength(1)
    const g = report.groups[0] as (typeof report.groups)[number]
    expect(g).toMatchObject({ code: 'COMMAND_FAILED', step: 'command', count: badCount(N), sample_file: 'bad-0007.txt', sample_line: 0 })
    expect(g.message).toBe('the command ended with exit code 3 ("cannot convert in/bad-0007.txt: it is marked bad")')
    expect(g.sample_raw).toBe('cannot convert in/bad-0007.txt: it is marked bad\n')
    // One file's record: command, exit code, and what it printed.
    const item = cli(['report', s.runId, '--home', home, '--item', '1'])
    expect(item.code).toBe(0)
    expect(item.stdout).toMatch(/^File 1: failed, exit code 3, \d+ ms, 1 attempt\n\$ sh convert\.sh in\/bad-0007\.txt out\/\.batchery-staging\//)
    expect(item.stdout).toContain('--- no output ---\n--- error output (last 64 KiB) ---\ncannot convert in/bad-0007.txt: it is marked bad\n')
  })

  it('writes the job log in GNU parallel --joblog format', () => {
    const s = lastJson(result.stdout)
    const file = join(dir, 'joblog.tsv')
    expect(cli(['report', s.runId, '--home', home, '--joblog', file]).code).toBe(0)
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
    expect(lines[0]).toBe('Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')
    expect(lines).toHaveLength(N + 1)
    const order = sortedIndexes(N)
    lines.slice(1).forEach((line, seq0) => {
      const i = order[seq0] as number
      const f = line.split('\t')
      expect(f).toHaveLength(9)
      const [seq, host, start, runtime, send, receive, exitval, signal, command] = f
      expect(seq).toBe(String(seq0 + 1))
      expect(host).toBe(':')
      expect(start).toMatch(/^\d{10}\.\d{3}$/)
      expect(runtime).toMatch(/^ *\d+\.\d{3}$/)
      expect(runtime?.length).toBeGreaterThanOrEqual(10)
      expect([send, receive, signal]).toEqual(['0', '0', '0'])
      expect(exitval).toBe(isBad(i) ? '3' : '0')
      expect(command).toBe(`sh convert.sh in/${name(i)} out/.batchery-staging/${s.runId}/${seq0 + 1}/${name(i).replace('.txt', '.up')}`)
    })
  })

  it('has the same header as GNU parallel writes (when GNU parallel is installed)', () => {
    const p = spawnSync('parallel', ['--joblog', join(dir, 'gnu.tsv'), 'true', ':::', 'a'], { encoding: 'utf8' })
    if (p.error) return
    expect(readFileSync(join(dir, 'gnu.tsv'), 'utf8').split('\n')[0]).toBe('Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')
  })
})

describe('--dry-run', () => {
  it('prints the exact commands, one per line, shell-quoted, and runs nothing', () => {
    const dir = makeDir(3)
    writeFileSync(join(dir, 'in', '$(rm -rf ~) it\'s.txt'), 'x\n')
    const home = join(dir, 'home')
    const r = cli(['run', join(dir, 'job.json'), '--dry-run', '--home', home])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(
      [
        `sh convert.sh 'in/$(rm -rf ~) it'\\''s.txt' 'out/.batchery-staging/dry-run/1/$(rm -rf ~) it'\\''s.up'`,
        'sh convert.sh in/doc-0000.txt out/.batchery-staging/dry-run/2/doc-0000.up',
        'sh convert.sh in/doc-0001.txt out/.batchery-staging/dry-run/3/doc-0001.up',
        'sh convert.sh in/doc-0002.txt out/.batchery-staging/dry-run/4/doc-0002.up',
        ''
      ].join('\n')
    )
    expect(calls(dir)).toEqual([])
    expect(existsSync(join(dir, 'out'))).toBe(false)
    expect(existsSync(home)).toBe(false)
    // a records job says what --dry-run is for
    const rec = tempDir()
    mkdirSync(join(rec, 'in'))
    writeFileSync(join(rec, 'in', 'a.csv'), 'id\n1\n')
    writeJob(rec, { name: 'r', kind: 'records', input: { folder: 'in', format: 'csv' }, output: { folder: 'out', format: 'jsonl' } })
    const rr = cli(['run', join(rec, 'job.json'), '--dry-run'])
    expect(rr.code).toBe(0)
    expect(rr.stderr).toContain('--dry-run shows the commands of a files job')
    expect(rr.stdout).toBe('a.csv\n')
  })

  it('a file named $(rm -rf ~).csv is only a name when the job really runs', () => {
    const dir = makeDir(0)
    const evil = '$(touch PWNED) `touch PWNED2`; rm -rf ~.txt'
    writeFileSync(join(dir, 'in', evil), 'evil\n')
    const r = cli(['run', join(dir, 'job.json'), '--home', tempDir(), '--json'])
    expect(r.code).toBe(0)
    expect(readFileSync(join(dir, 'out', evil.replace('.txt', '.up')), 'utf8')).toBe('EVIL\n')
    expect(existsSync(join(dir, 'PWNED'))).toBe(false)
    expect(existsSync(join(dir, 'PWNED2'))).toBe(false)
    // with "shell": true the value is still inserted quoted
    writeJob(dir, { name: 'sh', kind: 'files', input: { folder: 'in' }, shell: true, command: 'sh convert.sh {} {out}/{/.}.up && echo ok', output: { folder: 'out2' } })
    const s = cli(['run', join(dir, 'job.json'), '--home', tempDir(), '--json'])
    expect(s.code).toBe(0)
    expect(readFileSync(join(dir, 'out2', evil.replace('.txt', '.up')), 'utf8')).toBe('EVIL\n')
    expect(existsSync(join(dir, 'PWNED'))).toBe(false)
  })
})

describe('kill -9 during a files run, then resume', () => {
  const SMALL = 300
  let reference: RunJson
  let referenceOut: Record<string, string>

  beforeAll(() => {
    const dir = makeDir(SMALL)
    const r = cli(['run', join(dir, 'job.json'), '--home', tempDir(), '--json'])
    expect(r.code).toBe(2)
    reference = lastJson(r.stdout)
    referenceOut = treeHashes(join(dir, 'out'))
  }, 120_000)

  const check = (dir: string, home: string, point: string): void => {
    // Whatever sits under a final output name is complete: identical to the reference.
    if (existsSync(join(dir, 'out'))) {
      for (const [n, hash] of Object.entries(treeHashes(join(dir, 'out')))) {
        if (n.startsWith('.batchery-staging')) continue
        expect(hash, `${n} after a crash at ${point}`).toBe(referenceOut[n])
      }
    }
    const list = runs(home)
    expect(list).toHaveLength(1)
    const runId = (list[0] as { runId: string }).runId
    if (point === 'after-run-commit') {
      expect(list[0]?.status).toBe('partial')
      expect(treeHashes(join(dir, 'out'))).toEqual(referenceOut)
      return
    }
    expect(list[0]?.status).toBe('interrupted')
    // Files committed before the kill: the job log lists them; they must not run again.
    const committed = new Set(joblogOf(runId, home).slice(1).map((f) => (f[8] as string).split(' ')[2] as string))
    const callsBefore = calls(dir).length
    const resumed = cli(['resume', runId, '--home', home, '--json'])
    expect(resumed.stderr).toBe('')
    expect(resumed.code).toBe(2)
    const r = lastJson(resumed.stdout)
    expect(r.counts).toEqual(reference.counts)
    expect(r.outputs.map((o) => [o.path.split('/out/')[1], o.sha256]).sort()).toEqual(reference.outputs.map((o) => [o.path.split('/out/')[1], o.sha256]).sort())
    expect(treeHashes(join(dir, 'out'))).toEqual(referenceOut)
    const redone = calls(dir).slice(callsBefore)
    expect(redone.filter((c) => committed.has(c))).toEqual([])
    expect(callsBefore - committed.size).toBeLessThanOrEqual(2 * 4 + 64 + 2)
    expect(committed.size + redone.length).toBe(SMALL)
    const report = JSON.parse(cli(['report', runId, '--home', home, '--json']).stdout) as { groups: { count: number }[] }
    expect(report.groups.reduce((s, g) => s + g.count, 0)).toBe(reference.counts.failed)
  }

  for (const point of ['after-plan', 'after-item-commit:1', 'after-item-commit:150', 'after-item-rename:100', 'after-promote:2', 'before-run-commit', 'after-run-commit']) {
    it(`killed at ${point}: resumes to identical outputs, finished files not redone`, () => {
      const dir = makeDir(SMALL)
      const home = tempDir()
      const crashed = cli(['run', join(dir, 'job.json'), '--home', home, '--json'], { BATCHERY_CRASH_AT: point })
      expect(crashed.signal).toBe('SIGKILL')
      check(dir, home, point)
    })
  }

  it('2,000 files, the process group killed mid-run: leftovers are killed, nothing is doubled', async () => {
    const dir = makeDir(N)
    // One file is slow the first time it runs: the kill comes while it runs.
    writeFileSync(join(dir, 'convert.sh'), CONVERT_SH.replace('case', 'case "$1" in *0800.txt) [ -e slept ] || { touch slept; sleep 60; } ;; esac\ncase'))
    const home = tempDir()
    const child = spawn(process.execPath, [BIN, 'run', join(dir, 'job.json'), '--home', home, '--json'], { detached: true, stdio: 'ignore' })
    // Killed while a slow file is running: its command outlives the engine (it has a process
    // group of its own) until the resumed run finds it and kills it.
    const deadline = Date.now() + 120_000
    const slowRunning = (): boolean => {
      const c = calls(dir)
      return c.length >= 700 && existsSync(join(dir, 'slept'))
    }
    while (!slowRunning() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    process.kill(-(child.pid as number), 'SIGKILL')
    await new Promise((r) => child.once('exit', r))
    const list = runs(home)
    expect(list[0]?.status).toBe('interrupted')
    const runId = list[0]?.runId as string
    const committed = new Set(joblogOf(runId, home).slice(1).map((f) => (f[8] as string).split(' ')[2] as string))
    expect(committed.size).toBeGreaterThan(500)
    const resumed = cli(['resume', runId, '--home', home, '--json'])
    expect(resumed.code).toBe(2)
    expect(readFileSync(join(home, 'logs', `${runId}.log`), 'utf8')).toContain('killed processes the interrupted run had left running')
    expect(lastJson(resumed.stdout).counts).toEqual({ in: N, out: N - badCount(N), filtered: 0, deduped: 0, failed: badCount(N) })
    const all = calls(dir)
    // Each file ran once, except the few in flight at the kill (redone from scratch).
    const counted = new Map<string, number>()
    for (const c of all) counted.set(c, (counted.get(c) ?? 0) + 1)
    expect(counted.size).toBe(N)
    const twice = [...counted].filter(([, n]) => n > 1).map(([c]) => c)
    expect(twice.filter((c) => committed.has(c))).toEqual([])
    expect(twice.length).toBeLessThanOrEqual(2 * 4 + 64 + 2)
    for (let i = 0; i < N; i++) {
      const f = join(dir, 'out', name(i).replace('.txt', '.up'))
      if (isBad(i)) expect(existsSync(f)).toBe(false)
      else expect(readFileSync(f, 'utf8')).toBe(`FILE ${i}\nSOME TEXT OF FILE ${i}\n`)
    }
    expect(readdirSync(join(dir, 'out'))).toHaveLength(N - badCount(N))
  }, 300_000)
})

describe('policies', () => {
  it('a command that hangs is stopped at the timeout, with every process it started', () => {
    const dir = makeDir(0, { command: ['sh', 'hang.sh', '{}', '{#}'], policy: { concurrency: 2, timeout: '1s' } })
    writeFileSync(join(dir, 'in', 'a.txt'), 'a')
    writeFileSync(join(dir, 'in', 'b.txt'), 'b')
    // a.txt hangs, with a child of its own; b.txt finishes.
    writeFileSync(join(dir, 'hang.sh'), 'case "$1" in *a.txt) sleep 300 & echo $! > child-$2.pid; sleep 300 ;; esac\necho done\n')
    const home = tempDir()
    const t0 = Date.now()
    const r = cli(['run', join(dir, 'job.json'), '--home', home, '--json'])
    expect(Date.now() - t0).toBeLessThan(20_000)
    expect(r.code).toBe(2)
    const s = lastJson(r.stdout)
    expect(s.counts).toMatchObject({ in: 2, out: 1, failed: 1 })
    const report = JSON.parse(cli(['report', s.runId, '--home', home, '--json']).stdout) as { groups: { code: string; message: string }[] }
    expect(report.groups[0]).toMatchObject({ code: 'COMMAND_TIMEOUT', message: "the command took longer than the job's timeout (1s) and was stopped" })
    const pid = Number(readFileSync(join(dir, 'child-1.pid'), 'utf8'))
    const until = Date.now() + 5000
    while (!gone(pid) && Date.now() < until) spawnSync('sleep', ['0.1'])
    expect(gone(pid)).toBe(true)
    const log = joblogOf(s.runId, home)
    expect(log[1]?.slice(6, 8)).toEqual(['-1', '15'])
  })

  it('retries a failed file (GNU parallel --retries) and counts the retry', () => {
    const dir = makeDir(0, { command: ['sh', 'flaky.sh', '{}', '{out}/{/}'], policy: { retries: 1, concurrency: 2 } })
    for (const n of ['a', 'b', 'c']) writeFileSync(join(dir, 'in', `${n}.txt`), n)
    writeFileSync(join(dir, 'flaky.sh'), 'if [ "$1" = in/b.txt ] && [ ! -e tried ]; then touch tried; echo flaky >&2; exit 1; fi\ncp "$1" "$2"\n')
    const r = cli(['run', join(dir, 'job.json'), '--home', tempDir(), '--json'])
    expect(r.code).toBe(0)
    expect(lastJson(r.stdout).counts).toMatchObject({ in: 3, out: 3, failed: 0 })
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['a.txt', 'b.txt', 'c.txt'])
  })

  it('halts past maxFailedRecords; files done before it keep their outputs', () => {
    const dir = makeDir(300, { policy: { concurrency: 2, maxFailedRecords: 2 } })
    const r = cli(['run', join(dir, 'job.json'), '--home', tempDir(), '--json'])
    expect(r.code).toBe(3)
    const s = lastJson(r.stdout)
    expect(s.status).toBe('failed')
    expect(s.message).toContain('files failed, more than the job allows (maxFailedRecords 2)')
    expect(calls(dir).length).toBeLessThan(300)
    expect(existsSync(join(dir, 'out', '.batchery-staging'))).toBe(false)
    for (const f of readdirSync(join(dir, 'out'))) expect(readFileSync(join(dir, 'out', f), 'utf8')).toMatch(/^FILE \d+\n/)
  })

  it('two files writing the same output name: the later one in input order fails, whatever finishes first', () => {
    const dir = makeDir(0, { input: { folder: 'in', include: ['**/*.txt'] }, command: ['sh', 'same.sh', '{}', '{out}/{/}'], policy: { concurrency: 2 } })
    mkdirSync(join(dir, 'in', 'a'))
    mkdirSync(join(dir, 'in', 'b'))
    writeFileSync(join(dir, 'in', 'a', 'x.txt'), 'from a\n')
    writeFileSync(join(dir, 'in', 'b', 'x.txt'), 'from b\n')
    // The earlier file (a/x.txt) finishes last.
    writeFileSync(join(dir, 'same.sh'), 'case "$1" in in/a/*) sleep 1 ;; esac\ncp "$1" "$2"\n')
    const home = tempDir()
    const r = cli(['run', join(dir, 'job.json'), '--home', home, '--json'])
    expect(r.code).toBe(2)
    expect(readFileSync(join(dir, 'out', 'x.txt'), 'utf8')).toBe('from a\n')
    const report = JSON.parse(cli(['report', lastJson(r.stdout).runId, '--home', home, '--json']).stdout) as { groups: { code: string; message: string; sample_file: string }[] }
    expect(report.groups).toEqual([
      expect.objectContaining({ code: 'OUTPUT_CONFLICT', sample_file: 'b/x.txt', message: expect.stringContaining('the output "x.txt" was written already by "a/x.txt"') })
    ])
  })

  it('an invalid files job is refused with every problem at once', () => {
    const dir = makeDir(1, { command: ['no-such-program-xyz', '{stm}'], policy: { concurrency: 2, timeout: 'soon' } })
    const r = cli(['run', join(dir, 'job.json'), '--home', tempDir()])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('policy.timeout: a duration like')
    const dir2 = makeDir(1, { command: ['no-such-program-xyz', '{stm}'] })
    const r2 = cli(['run', join(dir2, 'job.json'), '--home', tempDir()])
    expect(r2.code).toBe(4)
    expect(r2.stderr).toContain('command[0]: the program "no-such-program-xyz" was not found')
    expect(r2.stderr).toContain('command[1]: unknown placeholder "{stm}"; did you mean "{stem}"?')
  })
})

describe('a module processor', () => {
  const MODULE = `import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
export default async function (file, ctx) {
  console.log('converting', ctx.name)
  if (ctx.name.includes('bad')) throw new Error('cannot convert ' + ctx.name)
  writeFileSync(join(ctx.out, ctx.stem + '.' + ctx.ext + '.len'), ctx.seq + ':' + readFileSync(file, 'utf8').length + '\\n')
}
export function other() {}
`

  it('runs in the workers for each file; its console output is kept, not printed', () => {
    const dir = makeDir(0, { command: undefined, module: './convert.mjs', policy: { concurrency: 2 } })
    writeFileSync(join(dir, 'convert.mjs'), MODULE)
    for (const n of ['a.txt', 'bad.txt', 'c.txt']) writeFileSync(join(dir, 'in', n), n)
    const home = tempDir()
    const r = cli(['run', join(dir, 'job.json'), '--home', home, '--json'])
    expect(r.stderr).toBe('')
    expect(r.stdout.trim().split('\n')).toHaveLength(1)
    expect(r.code).toBe(2)
    const s = lastJson(r.stdout)
    expect(s.counts).toMatchObject({ in: 3, out: 2, failed: 1 })
    expect(readFileSync(join(dir, 'out', 'a.txt.len'), 'utf8')).toBe('1:5\n')
    expect(readFileSync(join(dir, 'out', 'c.txt.len'), 'utf8')).toBe('3:5\n')
    const report = JSON.parse(cli(['report', s.runId, '--home', home, '--json']).stdout) as { groups: { code: string; step: string; message: string; sample_raw: string }[] }
    expect(report.groups[0]).toMatchObject({ code: 'SCRIPT_ERROR', step: 'module', message: "the module's function threw: cannot convert bad.txt" })
    expect(report.groups[0]?.sample_raw).toContain('Error: cannot convert bad.txt')
  })

  it('a module without the function stops the run with a plain message', () => {
    const dir = makeDir(0, { command: undefined, module: './convert.mjs', export: 'convert' })
    writeFileSync(join(dir, 'convert.mjs'), MODULE)
    writeFileSync(join(dir, 'in', 'a.txt'), 'a')
    const r = cli(['run', join(dir, 'job.json'), '--home', tempDir(), '--json'])
    expect(r.code).toBe(3)
    expect(lastJson(r.stdout).message).toContain('has no function exported as "convert" (it exports default, other)')
  })
})

describe('the engine API and the ledger', () => {
  const engines: Engine[] = []
  afterEach(async () => {
    for (const e of engines.splice(0)) {
      await e.shutdown()
      e.close()
    }
  })

  it('jobs.save, runs.start, runs.get and runs.failures work for a files job; re-running the failed files', async () => {
    const dir = makeDir(10)
    const engine = new Engine(join(dir, 'home'))
    engines.push(engine)
    const api = createHandlers(engine)
    const def = JSON.parse(readFileSync(join(dir, 'job.json'), 'utf8')) as Record<string, unknown>
    const saved = await api['jobs.save']({ job: def, baseDir: dir })
    expect(saved.name).toBe('upper-docs')
    const dry = await api['runs.dryRun']({ job: def, baseDir: dir, limit: 2 })
    expect(dry.output).toEqual([
      { seq: 1, file: 'bad-0007.txt', command: 'sh convert.sh in/bad-0007.txt out/.batchery-staging/dry-run/1/bad-0007.up' },
      { seq: 2, file: 'doc-0000.txt', command: 'sh convert.sh in/doc-0000.txt out/.batchery-staging/dry-run/2/doc-0000.up' }
    ])
    const { runId } = await api['runs.start']({ job: 'upper-docs' })
    await engine.settled(runId)
    const detail = await api['runs.get']({ runId })
    expect(detail.status).toBe('partial')
    expect(detail.counts).toMatchObject({ in: 10, out: 9, failed: 1 })
    expect(detail.partitions).toHaveLength(10)
    const failures = await api['runs.failures']({ runId })
    expect(failures.rows).toEqual([expect.objectContaining({ file: 'bad-0007.txt', code: 'COMMAND_FAILED', line: 0 })])
    // The failed file is fixed; re-running the failed files runs that one only.
    writeFileSync(join(dir, 'convert.sh'), CONVERT_SH.replace('*bad*)', '*never*)'))
    const again = await api['runs.rerunFailed']({ runId })
    await engine.settled(again.runId)
    const d2 = await api['runs.get']({ runId: again.runId })
    expect(d2.counts).toMatchObject({ in: 1, out: 1, failed: 0 })
    expect(readFileSync(join(dir, 'out', 'bad-0007.up'), 'utf8')).toBe('FILE 7\nSOME TEXT OF FILE 7\n')
  })

  it('an incremental (scheduled) run takes only new or changed files; failed files are tried again', async () => {
    const dir = makeDir(20)
    const engine = new Engine(join(dir, 'home'))
    engines.push(engine)
    const loaded = loadJob(JSON.parse(readFileSync(join(dir, 'job.json'), 'utf8')), dir, join(dir, 'job.json'))
    const first = await engine.runLoaded(loaded, { selection: { kind: 'incremental' } })
    expect(first.counts).toMatchObject({ in: 20, out: 19, failed: 1 })
    expect(calls(dir)).toHaveLength(20)
    writeFileSync(join(dir, 'in', 'doc-0100.txt'), 'new file\n')
    writeFileSync(join(dir, 'in', 'doc-0003.txt'), 'changed\n')
    const second = await engine.runLoaded(loaded, { selection: { kind: 'incremental' } })
    expect(second.counts).toMatchObject({ in: 3, out: 2, failed: 1 })
    expect(calls(dir).slice(20).sort()).toEqual(['in/bad-0007.txt', 'in/doc-0003.txt', 'in/doc-0100.txt'])
    expect(readFileSync(join(dir, 'out', 'doc-0003.up'), 'utf8')).toBe('CHANGED\n')
    const third = await engine.runLoaded(loaded, { selection: { kind: 'incremental' } })
    expect(third.counts).toMatchObject({ in: 1, failed: 1 })
  })

  it('cancelling an interrupted files run keeps the outputs of files done and removes its staging', async () => {
    const dir = makeDir(100)
    const home = join(dir, 'home')
    expect(cli(['run', join(dir, 'job.json'), '--home', home], { BATCHERY_CRASH_AT: 'after-item-commit:70' }).signal).toBe('SIGKILL')
    const engine = new Engine(home)
    engines.push(engine)
    const runId = (runs(home)[0] as { runId: string }).runId
    expect(await createHandlers(engine)['runs.cancel']({ runId })).toEqual({ runId, status: 'cancelled' })
    expect(engine.store.run(runId)?.message).toBe('Cancelled. The files done before it stopped keep their outputs.')
    expect(existsSync(join(dir, 'out', '.batchery-staging'))).toBe(false)
    const out = readdirSync(join(dir, 'out'))
    expect(out.length).toBeGreaterThan(0)
    for (const f of out) expect(readFileSync(join(dir, 'out', f), 'utf8')).toMatch(/^FILE \d+\nSOME TEXT/)
  })

  it('archive moves the files that were done, after the run commits; failed files stay', async () => {
    const dir = makeDir(8, { archive: { folder: 'in/done' } })
    const engine = new Engine(join(dir, 'home'))
    engines.push(engine)
    const loaded = loadJob(JSON.parse(readFileSync(join(dir, 'job.json'), 'utf8')), dir, join(dir, 'job.json'))
    const s = await engine.runLoaded(loaded)
    expect(s.counts).toMatchObject({ in: 8, out: 7, failed: 1 })
    expect(readdirSync(join(dir, 'in')).sort()).toEqual(['bad-0007.txt', 'done'])
    expect(readdirSync(join(dir, 'in', 'done'))).toHaveLength(7)
    expect(readdirSync(join(dir, 'out'))).toHaveLength(7)
  })
})
