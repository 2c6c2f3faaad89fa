// Scheduler timing, measured on the real daemon: how late after its due time each run starts
// (every 1s for a while), and how long after a watched file's last write its run starts (with
// the settle time subtracted). Usage: node scripts/bench/scheduler.mjs [seconds=30]
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'

const ROOT = resolve(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'batchery.js')
const seconds = Number(process.argv[2] ?? 30)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN
}

const dir = mkdtempSync(join(tmpdir(), 'batchery-sched-bench-'))
const home = join(dir, 'home')
mkdirSync(join(dir, 'in'))
mkdirSync(join(dir, 'watched'))
writeFileSync(join(dir, 'in', 'a.csv'), 'id,amount\n' + Array.from({ length: 100 }, (_, i) => `${i},${i}.5`).join('\n') + '\n')
const base = { kind: 'records', steps: [], output: { format: 'jsonl' }, policy: { concurrency: 1 } }
writeFileSync(join(dir, 'every.json'), JSON.stringify({ ...base, name: 'every', input: { folder: 'in', format: 'csv' }, output: { folder: 'out1', format: 'jsonl' }, triggers: [{ every: '1s' }] }))
writeFileSync(join(dir, 'watch.json'), JSON.stringify({ ...base, name: 'watch', input: { folder: 'watched', format: 'csv' }, output: { folder: 'out2', format: 'jsonl' }, triggers: [{ watch: true, settle: '1s' }] }))
for (const f of ['every.json', 'watch.json']) spawnSync(process.execPath, [BIN, 'jobs', 'add', join(dir, f), '--home', home], { stdio: 'ignore' })

const daemon = spawn(process.execPath, [BIN, 'daemon', '--home', home], { stdio: 'ignore' })
await sleep(1500)
const writes = []
const rounds = Math.max(3, Math.floor(seconds / 6))
for (let i = 0; i < rounds; i++) {
  writeFileSync(join(dir, 'watched', `f${i}.csv`), 'id,amount\n1,2\n')
  writes.push(Date.now())
  await sleep((seconds * 1000) / rounds)
}
daemon.kill('SIGTERM')
await new Promise((r) => daemon.on('exit', r))

const db = new Database(join(home, 'batchery.db'), { readonly: true })
const every = db
  .prepare("SELECT d.due_at, r.created_at FROM due_times d JOIN runs r ON r.id = d.run_id WHERE d.trigger_key LIKE 'every:%' AND d.missed = 0")
  .all()
  .map((x) => x.created_at - x.due_at)
const watched = db.prepare("SELECT r.created_at FROM due_times d JOIN runs r ON r.id = d.run_id WHERE d.trigger_key = 'watch' ORDER BY r.created_at").all()
const watchLatency = watched.map((w, i) => w.created_at - (writes[i] ?? NaN) - 1000).filter((x) => Number.isFinite(x))
const dues = db.prepare("SELECT due_at FROM due_times WHERE trigger_key LIKE 'every:%' ORDER BY due_at").all().map((x) => x.due_at)
const gaps = dues.slice(1).map((d, i) => d - dues[i])
db.close()

console.log(`Scheduler timing over ${seconds} s on the real daemon (${new Date().toISOString()})`)
console.log(`  every 1s: ${every.length} runs; start after due time p50 ${pct(every, 50)} ms, p95 ${pct(every, 95)} ms, max ${Math.max(...every)} ms`)
console.log(`  due-time spacing: ${gaps.every((g) => g === 1000) ? 'exactly 1000 ms every time (no drift)' : `min ${Math.min(...gaps)} max ${Math.max(...gaps)} ms`}`)
console.log(`  watch (settle 1 s): ${watchLatency.length} runs; start after last write minus settle p50 ${pct(watchLatency, 50)} ms, max ${Math.max(...watchLatency)} ms`)
rmSync(dir, { recursive: true, force: true })
