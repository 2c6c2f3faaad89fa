#!/usr/bin/env node
// Electronegativity (Doyensec's checker for Electron security misconfigurations) over the
// Electron sources: the main process's shell (src/main/electron), the preload, the renderer's
// page and package.json. Exits 1 if there is a HIGH or MEDIUM finding that
// docs/security/electronegativity-accepted.json does not accept with a reason, or if a file
// could not be scanned (a file the checker cannot parse is a file it silently did not check).
//
//   node scripts/electronegativity.mjs [--json] [--accepted FILE]
//
// --json prints the findings, problems and stale entries as one JSON object; --accepted reads
// another accepted list (the test uses it to prove that an unaccepted finding fails).
//
// Its CLI cannot run here: it was written for commander 2 and gets commander 14 (this project's),
// whose module is no longer a ready-made program (`_commander2.default.version is not a
// function`). So the script calls its programmatic API (dist/runner.js), which returns the
// findings instead of printing a table. It also works offline and gives the same result on every
// machine: the checker fetches translations for $LANG from S3 at start and the
// AVAILABLE_SECURITY_FIXES check downloads Electron's release list; here `got` is replaced by a
// stub that fails at once (the bundled en-US strings are used) and that check is excluded (it
// says whether a newer Electron exists, which is Dependabot's job, not a code check).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const ACCEPTED_FILE = join(ROOT, 'docs', 'security', 'electronegativity-accepted.json')
/** What is scanned, relative to the repository: folders are taken whole (.ts, .tsx, .js, .html). */
export const SCANNED = ['src/main/electron', 'src/preload', 'src/renderer', 'package.json']
/** Severities that fail the check unless accepted (LOW and INFORMATIONAL are printed only). */
const FAILING = new Set(['HIGH', 'MEDIUM'])

const require = createRequire(import.meta.url)

/** Loads the checker with its network access cut off; see the top of the file. */
function loadChecker() {
  process.env.LANG = 'en-US' // a locale whose strings ship with the package
  const runnerPath = require.resolve('@doyensec/electronegativity')
  const fromPackage = createRequire(runnerPath)
  const offline = () => Promise.reject(new Error('electronegativity runs offline here'))
  const gotPath = fromPackage.resolve('got')
  require.cache[gotPath] = { id: gotPath, filename: gotPath, loaded: true, exports: offline }
  return require(runnerPath)
}

/** Copies what is scanned into one folder, so that global checks (navigation limits, permission handlers, CSP) see main, preload and page together. */
function stage() {
  const dir = mkdtempSync(join(tmpdir(), 'batchery-electronegativity-'))
  for (const rel of SCANNED) {
    const from = join(ROOT, rel)
    const to = join(dir, rel)
    mkdirSync(dirname(to), { recursive: true })
    cpSync(from, to, { recursive: true, filter: (src) => statSync(src).isDirectory() || /\.(ts|tsx|js|mjs|html)$|package\.json$/.test(src) })
  }
  return dir
}

function filesUnder(dir) {
  const out = []
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath ?? entry.path, entry.name)).split(sep).join('/'))
  }
  return out
}

/** The accepted findings: [{ check, file, occurrences?, reason }]. */
export function loadAccepted(file = ACCEPTED_FILE) {
  const doc = JSON.parse(readFileSync(file, 'utf8'))
  const list = Array.isArray(doc.accepted) ? doc.accepted : []
  const problems = []
  list.forEach((a, i) => {
    if (typeof a.check !== 'string' || typeof a.file !== 'string') problems.push(`accepted[${i}]: needs "check" and "file"`)
    if (typeof a.reason !== 'string' || a.reason.trim().length < 20) problems.push(`accepted[${i}] (${a.check} in ${a.file}): needs a "reason" that says why it is not a problem here`)
    if (a.occurrences !== undefined && !(Number.isInteger(a.occurrences) && a.occurrences > 0)) problems.push(`accepted[${i}]: "occurrences" must be a positive whole number`)
  })
  return { list, problems }
}

/**
 * Compares findings with the accepted list. A finding is accepted by the entry with its check id
 * and file; the entry's `occurrences` (default 1) must equal how many there are, so a second,
 * new occurrence of an accepted check in the same file is not waved through unread.
 */
export function judge(issues, accepted) {
  const failing = issues.filter((i) => FAILING.has(i.severity))
  const groups = new Map()
  for (const i of failing) {
    const key = `${i.check}\u0000${i.file}`
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key).push(i)
  }
  const problems = []
  const used = new Set()
  for (const [key, found] of groups) {
    const [check, file] = key.split('\u0000')
    const entry = accepted.find((a) => a.check === check && a.file === file)
    const where = found.map((f) => `${f.file}:${f.line}:${f.column}`).join(', ')
    if (!entry) {
      problems.push(`${found[0].severity} ${check} at ${where}: not accepted. Fix it, or add it with its reason to docs/security/electronegativity-accepted.json\n    ${found[0].description}`)
      continue
    }
    used.add(entry)
    const expected = entry.occurrences ?? 1
    if (found.length !== expected) {
      problems.push(`${check} in ${file}: found ${found.length} times (${where}), accepted ${expected}; review the change, then update "occurrences" and the reason`)
    }
  }
  const stale = accepted.filter((a) => !used.has(a))
  return { failing, problems, stale }
}

export async function scan() {
  const run = loadChecker()
  const dir = stage()
  try {
    // The one line it prints when offline reads like an error; the stub is why, so it is dropped.
    const log = console.log
    console.log = (...args) => {
      if (!(args.length === 1 && /^Could not retrieve updated translations/.test(String(args[0])))) log(...args)
    }
    const result = await run(
      {
        input: dir,
        isRelative: true,
        excludeFromScan: ['AvailableSecurityFixesGlobalCheck'],
        customScan: [],
        parserPlugins: []
      },
      false
    ).finally(() => {
      console.log = log
    })
    const issues = result.issues.map((i) => ({
      check: i.id,
      severity: i.severity.name,
      confidence: i.confidence.name,
      file: String(i.file).split(sep).join('/'),
      line: i.location?.line ?? 0,
      column: i.location?.column ?? 0,
      manualReview: Boolean(i.manualReview),
      description: i.description,
      sample: typeof i.sample === 'string' ? i.sample.slice(0, 160) : undefined
    }))
    const errors = result.errors.map((e) => ({ file: relative(dir, e.file).split(sep).join('/'), message: e.message, tolerable: e.tolerable }))
    return { files: filesUnder(dir), checks: result.globalChecks + result.atomicChecks, issues, errors }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main() {
  const args = process.argv.slice(2)
  const asJson = args.includes('--json')
  const at = args.indexOf('--accepted')
  const accepted = loadAccepted(at === -1 ? ACCEPTED_FILE : resolve(args[at + 1] ?? ''))
  const { files, checks, issues, errors } = await scan()
  const { failing, problems, stale } = judge(issues, accepted.list)
  problems.unshift(...accepted.problems)
  for (const e of errors.filter((e) => !e.tolerable)) problems.push(`${e.file} could not be scanned: ${e.message}`)
  if (asJson) {
    console.log(JSON.stringify({ ok: problems.length === 0, files: files.length, checks, issues, errors, problems, stale: stale.map((a) => `${a.check} ${a.file}`) }, null, 2))
  } else {
    console.log(`electronegativity: ${checks} checks over ${files.length} files (${SCANNED.join(', ')})`)
    for (const i of issues) {
      const state = FAILING.has(i.severity) ? (accepted.list.some((a) => a.check === i.check && a.file === i.file) ? 'accepted' : 'NOT ACCEPTED') : 'info'
      console.log(`  ${i.severity.padEnd(13)} ${i.check} ${i.file}:${i.line}:${i.column} (${state})`)
    }
    for (const e of errors.filter((e) => e.tolerable)) console.log(`  note: ${e.file}: ${e.message}`)
    for (const a of stale) console.log(`  note: the accepted ${a.check} in ${a.file} is no longer found; remove it from the accepted list`)
    if (problems.length) {
      console.error(`\nelectronegativity: ${problems.length} problem${problems.length === 1 ? '' : 's'}:`)
      for (const p of problems) console.error(`  ${p}`)
    } else {
      console.log(`electronegativity: no unaccepted HIGH or MEDIUM finding (${failing.length} accepted)`)
    }
  }
  process.exitCode = problems.length ? 1 : 0
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`electronegativity could not run: ${e?.stack ?? e}`)
    process.exitCode = 2
  })
}
