// A files job's commands are started by a small helper process (spawn-helper.ts): cheaper to
// fork from than the engine. If the engine is killed, the helper must not leave commands running.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, gone, tempDir, writeJob } from '../helpers/cli'

const alive = (pid: number): boolean => !gone(pid)

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
  return cond()
}

describe.skipIf(process.platform !== 'linux')('the helper that starts commands', () => {
  it('the engine killed with SIGKILL alone: the helper kills the commands that were running, and exits', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'in'))
    mkdirSync(join(dir, 'pids'))
    for (let i = 0; i < 6; i++) writeFileSync(join(dir, 'in', `f${i}.txt`), `file ${i}\n`)
    // Each command writes its process id, then sleeps far longer than the test.
    writeFileSync(join(dir, 'slow.sh'), 'echo $$ > "pids/$(basename "$1")"\nexec sleep 120\n')
    const job = writeJob(dir, { name: 'slow', kind: 'files', input: { folder: 'in', include: ['*.txt'] }, command: ['sh', 'slow.sh', '{}'], output: { folder: 'out' }, policy: { concurrency: 2 } })
    const engine = spawn(process.execPath, [BIN, 'run', job, '--home', join(dir, 'home')], { stdio: 'ignore' })
    const pids = (): number[] => readdirSync(join(dir, 'pids')).map((f) => Number(readFileSync(join(dir, 'pids', f), 'utf8').trim())).filter((n) => n > 0)
    expect(await until(() => pids().length === 2, 30_000)).toBe(true)
    const children = readFileSync(`/proc/${engine.pid}/task/${engine.pid}/children`, 'utf8').trim().split(/\s+/).map(Number)
    const helpers = children.filter((p) => existsSync(`/proc/${p}/cmdline`) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('spawn-helper.js'))
    expect(helpers).toHaveLength(1)
    const running = pids()
    for (const p of running) expect(alive(p)).toBe(true)
    engine.kill('SIGKILL')
    await new Promise((r) => engine.once('exit', r))
    expect(await until(() => running.every((p) => !alive(p)), 10_000)).toBe(true)
    expect(await until(() => helpers.every((p) => !alive(p)), 10_000)).toBe(true)
  }, 60_000)
})
