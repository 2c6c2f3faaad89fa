#!/usr/bin/env node
// npm run bench:ui — the UI keeps up with a big run: time to first paint of the jobs screen, and
// frames and progress events in the browser (Performance API, requestAnimationFrame) while a
// run of N records streams progress to the live run screen. Debian's Chromium via playwright-core.
//
//   npm run bench:ui -- [--rows 1000000]
//
// To see what a long frame was doing: UI_BENCH_DETAIL=1 prints every gap over 50 ms between
// frames and every long animation frame (Long Animation Frames API: duration, blocking time,
// which callbacks ran); UI_BENCH_PROFILE=file.cpuprofile saves a CPU profile of the page and
// UI_BENCH_TRACE=file.json a Chrome trace of the run.
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { generateOrders } from './gen-orders.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const args = process.argv.slice(2)
const rows = Number(args[args.indexOf('--rows') + 1] || 1_000_000)
const dataDir = process.env.BATCHERY_BENCH_DATA ?? join(tmpdir(), 'batchery-bench')
const inDir = join(dataDir, `orders-${rows}`)
const { existsSync, mkdirSync } = await import('node:fs')
if (!existsSync(join(inDir, 'orders.csv'))) {
  mkdirSync(inDir, { recursive: true })
  process.stderr.write(`generating ${rows} rows…\n`)
  generateOrders(join(inDir, 'orders.csv'), rows, 1)
}
const work = mkdtempSync(join(tmpdir(), 'batchery-ui-bench-'))
const serve = spawn(process.execPath, [join(root, 'bin', 'batchery.js'), 'serve', '--home', join(work, 'home')], { stdio: ['ignore', 'pipe', 'inherit'] })
const url = await new Promise((resolve) => {
  let out = ''
  serve.stdout.on('data', (d) => {
    out += d
    const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out)
    if (m) resolve(m[1])
  })
})
const { origin, searchParams } = new URL(url)
const token = searchParams.get('token')
const call = async (method, params) => {
  const r = await (await fetch(`${origin}/api/call`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify({ method, params }) })).json()
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}
await call('jobs.save', {
  job: {
    name: 'big',
    kind: 'records',
    input: { folder: inDir, include: ['*.csv'], format: 'csv' },
    steps: [{ filter: "status != 'cancelled'" }, { derive: { total: 'round(amount * quantity, 2)', country: 'upper(country)' } }],
    output: { folder: join(work, 'out'), format: 'jsonl' }
  }
})

const browser = await chromium.launch({
  executablePath: process.env.BATCHERY_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
})
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
let events = 0
page.on('websocket', (ws) => ws.on('framereceived', (f) => String(f.payload).includes('run.progressed') && events++))
await page.goto(url)
await page.getByTestId('job-row-big').waitFor()
const paint = await page.evaluate(() => ({
  fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
  rowsAt: performance.now()
}))
await page.evaluate(() => {
  const s = { frames: 0, long: 0, worst: 0, last: performance.now(), gaps: [], loaf: [] }
  window.__frames = s
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      s.loaf.push({ at: Math.round(e.startTime), ms: Math.round(e.duration), block: Math.round(e.blockingDuration ?? 0), render: Math.round(e.renderStart ? e.startTime + e.duration - e.renderStart : 0), scripts: (e.scripts ?? []).map((x) => `${x.invoker} ${Math.round(x.duration)}ms`).slice(0, 3) })
    }
  }).observe({ type: 'long-animation-frame', buffered: false })
  const tick = (now) => {
    const d = now - s.last
    if (d > 50) { s.long++; s.gaps.push([Math.round(s.last), Math.round(d)]) }
    s.worst = Math.max(s.worst, d)
    s.last = now
    s.frames++
    requestAnimationFrame(tick)
  }
  requestAnimationFrame(tick)
})
// UI_BENCH_PROFILE=file.cpuprofile: a CPU profile of the page during the run (Chrome DevTools format).
const cdp = process.env.UI_BENCH_PROFILE ? await page.context().newCDPSession(page) : null
if (cdp) {
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
  await cdp.send('Profiler.start')
}
// UI_BENCH_TRACE=file.json: a Chrome trace (devtools.timeline) of the run, for chrome://tracing or DevTools.
if (process.env.UI_BENCH_TRACE) await browser.startTracing(page, { path: process.env.UI_BENCH_TRACE, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] })
const t0 = Date.now()
await page.getByTestId('run-job-big').click()
await page.getByTestId('accounting').waitFor({ timeout: 600_000 })
const secs = (Date.now() - t0) / 1000
const f = await page.evaluate(() => window.__frames)
if (process.env.UI_BENCH_TRACE) await browser.stopTracing()
if (cdp) writeFileSync(process.env.UI_BENCH_PROFILE, JSON.stringify((await cdp.send('Profiler.stop')).profile))
if (process.env.UI_BENCH_DETAIL) {
  process.stderr.write(`gaps over 50 ms between frames [at ms, length ms]: ${JSON.stringify(f.gaps)}\n`)
  for (const l of f.loaf) process.stderr.write(`long animation frame at ${l.at} ms: ${l.ms} ms (blocking ${l.block}, rendering ${l.render}) ${l.scripts.join(' | ')}\n`)
}
await browser.close()
serve.kill('SIGTERM')
const table = [
  `# UI under load, ${new Date().toISOString()}`,
  '',
  '| what | value |',
  '|---|---|',
  `| jobs screen: first contentful paint | ${paint.fcp?.toFixed(0)} ms |`,
  `| jobs screen: job rows shown | ${paint.rowsAt.toFixed(0)} ms |`,
  `| run of ${rows.toLocaleString('en-US')} records watched live | ${secs.toFixed(1)} s |`,
  `| frames per second during the run | ${(f.frames / secs).toFixed(0)} |`,
  `| frames longer than 50 ms | ${f.long} of ${f.frames} (worst ${f.worst.toFixed(0)} ms) |`,
  `| long animation frames (the page's own work over 50 ms in one frame) | ${f.loaf.length} (worst ${Math.max(0, ...f.loaf.map((l) => l.ms))} ms) |`,
  `| run.progressed events per second | ${(events / secs).toFixed(1)} |`
].join('\n')
process.stdout.write(table + '\n')
