#!/usr/bin/env node
// The timeline of one Batchery run from its database: planning, first and last partition commit,
// the assembly phase (after the last commit until the run's end), and the partitions' durations.
//   node scripts/bench/run-timeline.mjs HOME [runId] [--json]
import { createRequire } from 'node:module'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const Database = require('better-sqlite3')

export function runTimeline(home, runId) {
  const db = new Database(join(home, 'batchery.db'), { readonly: true })
  try {
    const run = runId ? db.prepare('select * from runs where id = ?').get(runId) : db.prepare('select * from runs order by created_at desc limit 1').get()
    const parts = db.prepare('select idx, duration_ms, committed_at, records_in from partitions where run_id = ? order by idx').all(run.id)
    let plannedAt = null
    try {
      const log = readFileSync(join(home, 'logs', `${run.id}.log`), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      plannedAt = log.find((l) => l.msg === 'planned')?.time ?? null
    } catch {
      // no log
    }
    const t0 = run.started_at
    const commits = parts.map((p) => p.committed_at).filter((x) => x != null)
    const durations = parts.map((p) => p.duration_ms ?? 0).sort((a, b) => a - b)
    const q = (f) => durations[Math.min(durations.length - 1, Math.floor(f * durations.length))] ?? 0
    return {
      runId: run.id,
      partitions: parts.length,
      planMs: plannedAt ? plannedAt - t0 : null,
      firstCommitMs: Math.min(...commits) - t0,
      lastCommitMs: Math.max(...commits) - t0,
      assembleMs: run.finished_at - Math.max(...commits),
      totalMs: run.finished_at - t0,
      partitionMs: { p50: q(0.5), p95: q(0.95), max: durations[durations.length - 1] ?? 0, sum: durations.reduce((s, x) => s + x, 0) }
    }
  } finally {
    db.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [home, runId] = process.argv.slice(2).filter((a) => !a.startsWith('--'))
  const t = runTimeline(home, runId)
  if (process.argv.includes('--json')) console.log(JSON.stringify(t))
  else console.log(t)
}
