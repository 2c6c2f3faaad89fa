#!/usr/bin/env node
// The batchery command: runs the CLI bundle that `npm run build` (run by `npm install`) writes.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const cli = new URL('../out/main/cli.js', import.meta.url)
if (!existsSync(cli)) {
  process.stderr.write(`Batchery is not built yet. Run "npm run build" in ${fileURLToPath(new URL('..', import.meta.url))}\n`)
  process.exit(1)
}
const { main } = await import(cli.href)
process.exitCode = await main(process.argv.slice(2))
