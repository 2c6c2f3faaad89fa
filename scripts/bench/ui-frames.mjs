#!/usr/bin/env node
// npm run bench:ui — the UI keeps up with a big run: time to first paint of the jobs screen, and
// frames and progress events in the browser (Performance API, requestAnimationFrame) while a
// run of N records streams progress to the live run screen. Debian's Chromium via playwright-core.
//
//   npm run bench:ui -- [--rows 1000000]
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
  const s = { frames: 0, long: 0, worst: 0, last: performance.now() }
  window.__frames = s
  const tick = (now) => {
    const d = now - s.last
    if (d > 50) s.long++
    s.worst = Math.max(s.worst, d)
    s.last = now
    s.frames++
    requestAnimationFrame(tick)
  }
  requestAnimationFrame(tick)
})
const t0 = Date.now()
await page.getByTestId('run-job-big').click()
await page.getByTestId('accounting').waitFor({ timeout: 600_000 })
const secs = (Date.now() - t0) / 1000
const f = await page.evaluate(() => window.__frames)
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
  `| run.progressed events per second | ${(events / secs).toFixed(1)} |`
].join('\n')
process.stdout.write(table + '\n')
