// Chaos: SIGKILL the whole CLI process group at random moments of a run, again and again while
// it is resumed, for many seeds; then check the invariants (reliability.md 7.4):
//   every input record exactly once, in the outputs or in the failed records;
//   outputs byte-identical to a reference run; failed records identical to the reference's;
//   no staging or temporary file left; the database passes integrity_check; no run left
//   "running" without a live owner.
// Each failure prints its seed and the one command that replays it.
//
//   npm run chaos                                  (BATCHERY_CHAOS_SEEDS=30 by default)
//   BATCHERY_CHAOS_SEED=17 npx vitest run test/chaos   (one seed)
// CI runs a small subset: the seeds given by BATCHERY_CHAOS_SEEDS (default 3).
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { BIN, cli, lastJson, tempDir, treeHashes, writeJob, type RunJson } from '../helpers/cli'
import { exampleSteps, mulberry32, orderRows, ordersCsv } from '../helpers/orders'

const ONE = process.env.BATCHERY_CHAOS_SEED
const SEEDS = ONE ? [Number(ONE)] : Array.from({ length: Number(process.env.BATCHERY_CHAOS_SEEDS ?? 3) }, (_, i) => i + 1)
/** Kills per seed before letting a run finish. */
const KILLS = Number(process.env.BATCHERY_CHAOS_KILLS ?? 4)

function makeJob(seed: number): { dir: string; job: string } {
  const rnd = mulberry32(seed)
  const dir = tempDir('batchery-chaos-')
  mkdirSync(join(dir, 'in', 'sub'), { recursive: true })
  const files = 2 + Math.floor(rnd() * 3)
  for (let i = 0; i < files; i++) {
    const rows = 2000 + Math.floor(rnd() * 6000)
    let text = ordersCsv(orderRows(rows, seed * 100 + i), rnd() < 0.5 ? '\n' : '\r\n')
    // some bad rows, so failed records are part of what must survive
    if (rnd() < 0.7) text += '42,short\n"never closed,x\n'
    writeFileSync(join(dir, 'in', i % 2 ? 'sub' : '', `f${i}.csv`), text)
  }
  const layout = rnd() < 0.5 ? 'per-input' : 'merged'
  const job = writeJob(dir, {
    name: `chaos-${seed}`,
    kind: 'records',
    input: { folder: 'in', include: ['**/*.csv'], format: 'csv' },
    steps: exampleSteps(),
    output: { folder: 'out', format: rnd() < 0.5 ? 'jsonl' : 'csv', layout },
    policy: { concurrency: 2, chunkSize: 4096 + Math.floor(rnd() * 60000) }
  })
  return { dir, job }
}

/** Start the CLI in its own process group and SIGKILL the group after `ms`, unless it ended first. */
function runAndKill(args: string[], ms: number): Promise<{ killed: boolean; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    let killed = false
    const timer = setTimeout(() => {
      killed = true
      try {
        process.kill(-(child.pid as number), 'SIGKILL')
      } catch {
        // already gone
      }
    }, ms)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ killed: killed && code === null, code, stdout, stderr })
    })
  })
}

function failedRecords(home: string, runId: string): string[] {
  const csv = join(tempDir(), 'f.csv')
  cli(['report', runId, '--home', home, '--csv', csv])
  // one line per record, without the run-specific columns; sorted
  return readFailedCsv(csv).sort()
}

function readFailedCsv(file: string): string[] {
  return readFileSync(file, 'utf8').trim().split('\n').slice(1)
}

function leftovers(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true }).map(String).filter((n) => n.endsWith('.partial') || n.endsWith('.tmp'))
}

describe('random SIGKILL during runs and resumes', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: nothing lost, nothing duplicated, outputs byte-identical`, async () => {
      const replay = `BATCHERY_CHAOS_SEED=${seed} npx vitest run test/chaos`
      const rnd = mulberry32(seed * 7919)
      const ref = makeJob(seed)
      const refHome = tempDir()
      const t0 = performance.now()
      const refRun = lastJson<RunJson>(cli(['run', ref.job, '--home', refHome, '--json']).stdout)
      // kill moments spread over the whole life of a run: start-up, planning, partitions, commit
      const lifeMs = performance.now() - t0
      const refOut = treeHashes(join(ref.dir, 'out'))
      const refFailed = failedRecords(refHome, refRun.runId)

      const { dir, job } = makeJob(seed)
      const home = tempDir()
      let result: RunJson | null = null
      let runId: string | null = null
      let kills = 0
      const log: string[] = []
      for (let round = 0; round < KILLS + 20 && !result; round++) {
        // the first KILLS rounds are killed at a random moment of a run's life; then let it finish
        const ms = round < KILLS ? 20 + Math.floor(rnd() * lifeMs) : 600_000
        const args = runId ? ['resume', runId, '--home', home, '--json'] : ['run', job, '--home', home, '--json']
        const r = await runAndKill(args, ms)
        log.push(`${args[0]} after ${ms} ms: ${r.killed ? 'killed' : `exit ${r.code}`} ${r.stderr.trim().slice(0, 300)}`)
        if (r.killed) {
          kills++
          // whatever is under a final name must be complete
          for (const [name, hash] of Object.entries(existsSync(join(dir, 'out')) ? treeHashes(join(dir, 'out')) : {})) {
            if (!name.endsWith('.partial')) expect(hash, `${name} after a kill; replay: ${replay}`).toBe(refOut[name])
          }
        } else if (r.stdout.trim()) {
          const s = lastJson<RunJson>(r.stdout)
          if (s.status === 'partial' || s.status === 'succeeded') result = s
          else expect.fail(`the run ended ${s.status}: ${s.message}; replay: ${replay}`)
        }
        const runs = JSON.parse(cli(['runs', '--home', home, '--json']).stdout) as { runId: string; status: string; counts: RunJson['counts'] }[]
        runId ??= runs[0]?.runId ?? null
        // killed after its commit but before it could print: the run is done all the same
        const last = runs[0]
        if (!result && last && (last.status === 'partial' || last.status === 'succeeded')) {
          result = { runId: last.runId, status: last.status, counts: last.counts, outputs: [], message: null }
        }
      }
      expect(result, `the run never finished; replay: ${replay}\n${log.join('\n')}`).not.toBeNull()
      const done = result as RunJson
      expect(done.counts, `counts; replay: ${replay}`).toEqual(refRun.counts)
      expect(done.counts.in).toBe(done.counts.out + done.counts.filtered + done.counts.deduped + done.counts.failed)
      expect(treeHashes(join(dir, 'out')), `outputs; replay: ${replay}`).toEqual(refOut)
      expect(failedRecords(home, done.runId), `failed records; replay: ${replay}`).toEqual(refFailed)
      expect(leftovers(join(dir, 'out')), `temporary files; replay: ${replay}`).toEqual([])
      expect(existsSync(join(home, 'staging', done.runId)), `staging; replay: ${replay}`).toBe(false)
      const db = new Database(join(home, 'batchery.db'), { readonly: true })
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
        expect(db.prepare("SELECT COUNT(*) AS n FROM runs WHERE status IN ('running', 'queued', 'paused')").get()).toEqual({ n: 0 })
      } finally {
        db.close()
      }
      process.stderr.write(`chaos seed ${seed}: ${kills} kills, ${done.counts.in} records, 0 lost, 0 duplicated\n`)
    }, 300_000)
  }
})
