// Baseline: transform T as a plain csv-parse stream script (what an analyst's engineer would
// write first): drop cancelled, total = round(amount * quantity, 2), upper(country), JSON lines.
// Prints {"rows", "wallSeconds", "peakRssMb", "cpuSeconds"} to stderr.
import { createReadStream, createWriteStream } from 'node:fs'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parse } from 'csv-parse'

const [input, output] = process.argv.slice(2)
const t0 = performance.now()
let rows = 0
await pipeline(
  createReadStream(input),
  parse({ columns: true }),
  new Transform({
    objectMode: true,
    transform(r, _enc, done) {
      rows++
      if (r.status === 'cancelled') return done()
      const amount = Number(r.amount)
      const quantity = Number(r.quantity)
      r.country = r.country.toUpperCase()
      r.total = Math.round(amount * quantity * 100) / 100
      done(null, JSON.stringify(r) + '\n')
    }
  }),
  createWriteStream(output)
)
const u = process.resourceUsage()
process.stderr.write(JSON.stringify({ rows, wallSeconds: (performance.now() - t0) / 1000, peakRssMb: u.maxRSS / 1024, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6 }) + '\n')
