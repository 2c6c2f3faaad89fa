#!/usr/bin/env node
// Summarise .cpuprofile files written by `node --cpu-prof` (one per thread: the main thread and
// each Piscina worker): self time per function, and per group (parsing, steps, encoding, output
// writes, I/O, sha256, SQLite, pool, start-up, GC, other). Bundled code is mapped back to the
// TypeScript sources with the .map files of the build, so profile right after building and
// summarise before the next build.
//
//   node scripts/bench/profile-summary.mjs DIR_OR_FILES... [--top 25] [--json]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { basename, join } from 'node:path'

const IO_NATIVES = new Set([
  'read', 'write', 'open', 'close', 'fsync', 'fdatasync', 'rename', 'unlink', 'rmdir', 'mkdir', 'stat', 'lstat', 'fstat',
  'readdir', 'ftruncate', 'writeString', 'writeBuffer', 'writeBuffers', 'copyFile', 'realpath', 'access', 'existsSync'
])

/** Which part of the work a function belongs to, by its (source-mapped) file and name. */
export function groupOf(fn, url) {
  const u = url ?? ''
  if (fn === '(garbage collector)') return 'GC'
  if (fn === '(idle)') return 'idle'
  if (fn === '(program)' || fn === '(root)') return 'V8 (compiler, runtime)'
  if (fn === 'atomicsWaitLoop' && /piscina/.test(u)) return 'idle: worker waiting for a task'
  if (/formats\/(csv-parser|jsonl-parser|decode)|string_decoder/.test(u)) return 'parsing'
  if (/workers\/steps\/|shared\/expression/.test(u)) return 'steps (validate, filter, derive, dedupe)'
  if (/formats\/encode/.test(u)) return 'encoding (JSON.stringify)'
  if (/partition-worker/.test(u)) return /^(write|flush|commit|abandon)$/.test(fn) ? 'output writes (worker)' : 'record building (worker loop)'
  if (IO_NATIVES.has(fn) || /^node:fs$|internal\/fs\//.test(u)) return 'I/O (fs calls)'
  if (/internal\/crypto\/hash/.test(u) || (fn === 'update' && /hash/.test(u))) return 'sha256 (input scan, output)'
  if (/better-sqlite3|engine\/store\//.test(u)) return 'SQLite (store)'
  if (/piscina|internal\/worker|worker_threads|per_context\/messageport|internal\/abort_controller/.test(u)) return 'pool (Piscina, messages, abort signals)'
  if (/engine\/scan/.test(u)) return 'planning scan'
  if (/src\/main\//.test(u)) return 'engine (main thread)'
  if (/internal\/modules|loader|lexer|realm|internal\/bootstrap/.test(u) || /^compile/.test(fn)) return 'start-up (module loading)'
  return 'other'
}

// Bundled code (out/main/*.js, chunks) maps back to its TypeScript source with the .map files
// electron-vite writes, so a function is reported as src/workers/formats/encode.ts:26.
const maps = new Map()
function sourceOf(url, line, col) {
  if (!url.endsWith('.js') || url.startsWith('node:') || url.includes('/node_modules/')) return null
  if (!maps.has(url)) maps.set(url, existsSync(url + '.map') ? new SourceMap(JSON.parse(readFileSync(url + '.map', 'utf8'))) : null)
  const m = maps.get(url)
  if (!m) return null
  const e = m.findEntry(line, col)
  if (!e || !e.originalSource) return null
  const src = e.originalSource.replace(/^file:\/\//, '')
  const i = src.lastIndexOf('src/')
  return { file: i === -1 ? src : src.slice(i), line: e.originalLine + 1 }
}

function load(file) {
  const p = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map()
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0))
  const fns = new Map()
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame
    const name = cf.functionName || '(anonymous)'
    let url = cf.url ? cf.url.replace(/^file:\/\//, '') : ''
    let where = url ? `${basename(url)}:${cf.lineNumber + 1}` : ''
    const src = url ? sourceOf(url, cf.lineNumber, cf.columnNumber) : null
    if (src) {
      url = src.file
      where = `${src.file}:${src.line}`
    }
    const key = `${name} ${where}`.trim()
    const e = fns.get(key) ?? { key, name, url, ms: 0 }
    e.ms += us / 1000
    fns.set(key, e)
  }
  return { file, wallMs: (p.endTime - p.startTime) / 1000, fns: [...fns.values()] }
}

/**
 * Self time per function and per group over every .cpuprofile in `paths` (files or folders).
 * Groups exclude idle time; "idle: worker waiting for a task" is reported but is not work.
 */
export function summarizeProfiles(paths, top = 25) {
  const files = []
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p)) if (f.endsWith('.cpuprofile')) files.push(join(p, f))
    } else {
      files.push(p)
    }
  }
  files.sort()
  const report = { threads: [], groups: {}, top: [], busyMs: 0, waitMs: 0 }
  const all = new Map()
  for (const [i, t] of files.map(load).entries()) {
    let busy = 0
    for (const f of t.fns) {
      const g = groupOf(f.name, f.url)
      if (g === 'idle') continue
      if (g.startsWith('idle:')) {
        report.waitMs += f.ms
        continue
      }
      busy += f.ms
      report.groups[g] = (report.groups[g] ?? 0) + f.ms
      const a = all.get(f.key) ?? { ...f, ms: 0, group: g }
      a.ms += f.ms
      all.set(f.key, a)
    }
    // Node names the main thread's profile first (…​.0.001.cpuprofile), then one per worker.
    report.threads.push({ file: basename(t.file), thread: i === 0 ? 'main' : `worker ${i}`, wallMs: t.wallMs, busyMs: busy })
    report.busyMs += busy
  }
  report.top = [...all.values()].sort((a, b) => b.ms - a.ms).slice(0, top)
  return report
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const topIdx = args.indexOf('--top')
  const top = topIdx === -1 ? 25 : Number(args[topIdx + 1])
  const paths = args.filter((a, i) => !a.startsWith('--') && (topIdx === -1 || i !== topIdx + 1))
  const report = summarizeProfiles(paths, top)
  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify(report, null, 1) + '\n')
  } else {
    console.log('thread      wall ms   busy ms  file')
    for (const t of report.threads) console.log(`${t.thread.padEnd(10)} ${t.wallMs.toFixed(0).padStart(8)} ${t.busyMs.toFixed(0).padStart(9)}  ${t.file}`)
    console.log(`\nworkers idle, waiting for a task: ${report.waitMs.toFixed(0)} ms`)
    console.log('\ngroup (all threads, busy time)                 ms    share')
    for (const [g, ms] of Object.entries(report.groups).sort((a, b) => b[1] - a[1])) {
      console.log(`${g.padEnd(42)} ${ms.toFixed(0).padStart(8)} ${((ms / report.busyMs) * 100).toFixed(1).padStart(7)}%`)
    }
    console.log('\ntop self time (all threads)')
    for (const f of report.top) console.log(`${f.ms.toFixed(0).padStart(7)} ms ${((f.ms / report.busyMs) * 100).toFixed(1).padStart(5)}%  [${f.group}] ${f.key}`)
  }
}
