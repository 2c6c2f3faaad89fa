// Electronegativity in CI: scripts/electronegativity.mjs over the Electron sources must pass, and
// must fail when a HIGH or MEDIUM finding is not accepted with a reason, so that the gate is real.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, tempDir } from '../helpers/cli'

const SCRIPT = join(ROOT, 'scripts', 'electronegativity.mjs')

interface Report {
  ok: boolean
  files: number
  checks: number
  issues: { check: string; severity: string; file: string; line: number }[]
  errors: { file: string; message: string; tolerable: boolean }[]
  problems: string[]
  stale: string[]
}

function runScript(args: string[]): { code: number | null; report: Report; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, '--json', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
  let report: Report
  try {
    report = JSON.parse(r.stdout) as Report
  } catch {
    throw new Error(`no JSON from the script (exit ${r.status}): ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 500)}`)
  }
  return { code: r.status, report, stderr: r.stderr }
}

describe('electronegativity', () => {
  it('finds no HIGH or MEDIUM issue in the Electron sources that is not accepted with a reason', () => {
    const { code, report } = runScript([])
    expect(report.problems).toEqual([])
    expect(report.stale, 'accepted entries whose finding is gone').toEqual([])
    expect(code).toBe(0)
    expect(report.ok).toBe(true)
    // It really scanned the shell, the preload and the page with its full set of checks.
    expect(report.checks).toBeGreaterThanOrEqual(40)
    expect(report.files).toBeGreaterThan(20)
    expect(report.errors.filter((e) => !e.tolerable)).toEqual([])
    // The window's webPreferences are found and judged (accepted: they come from secureWebPreferences()).
    expect(report.issues.map((i) => i.check)).toContain('CONTEXT_ISOLATION_JS_CHECK')
  }, 60_000)

  it('fails, naming the check and the place, when a finding is not accepted', () => {
    const accepted = join(tempDir('batchery-electronegativity-'), 'accepted.json')
    writeFileSync(accepted, JSON.stringify({ accepted: [] }))
    const { code, report } = runScript(['--accepted', accepted])
    expect(code).toBe(1)
    expect(report.ok).toBe(false)
    expect(report.problems.join('\n')).toMatch(/HIGH CONTEXT_ISOLATION_JS_CHECK at src\/main\/electron\/index\.ts:\d+:\d+: not accepted/)
  }, 60_000)
})
