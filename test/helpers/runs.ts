// Running jobs through the real CLI in tests, and reading what a run stored: the run's JSON
// result, and its failed records straight from the SQLite file.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { expect } from 'vitest'
import { cli, crashThenResume, lastJson, tempDir, treeHashes, writeJob, type RunJson } from './cli'

export interface Failure {
  file: string
  line: number
  code: string
  message: string
  raw: string
}

/**
 * A run's failed records with their file. By line within each file (the same whatever order
 * partitions committed in), or as stored ("stored": within one partition, in record order; for
 * inputs whose line numbers restart, like the entries of a zip).
 */
export function failures(home: string, runId: string, order: 'line' | 'stored' = 'line'): Failure[] {
  const db = new Database(join(home, 'batchery.db'), { readonly: true })
  try {
    return db
      .prepare(
        `SELECT rf.rel_path AS file, f.line, f.code, f.message, f.raw FROM failed_records f
         JOIN run_files rf ON rf.run_id = f.run_id AND rf.file_index = f.file_index
         WHERE f.run_id = ? ORDER BY f.file_index, ${order === 'line' ? 'f.line, ' : ''}f.id`
      )
      .all(runId) as Failure[]
  } finally {
    db.close()
  }
}

/** `batchery run <job> --json` over `dir`: its result, home, exit code and error output. */
export function run(dir: string, job: unknown, home = tempDir(), env: Record<string, string> = {}): { r: RunJson; home: string; code: number | null; stderr: string } {
  const res = cli(['run', writeJob(dir, job), '--home', home, '--json'], env)
  if (!res.stdout.trim()) throw new Error(`no result (exit ${res.code}): ${res.stderr}`)
  return { r: lastJson(res.stdout), home, code: res.code, stderr: res.stderr }
}

/** A temp folder with an "in" folder holding these files (names may have subfolders). */
export function dirWith(files: Record<string, string | Buffer>): string {
  const dir = tempDir()
  mkdirSync(join(dir, 'in'))
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, 'in', name, '..'), { recursive: true })
    writeFileSync(join(dir, 'in', name), content)
  }
  return dir
}

export interface Reference {
  counts: RunJson['counts']
  /** The uninterrupted run's output folder: relative path → sha256. */
  outputs: Record<string, string>
  failures: Failure[]
}

/**
 * Run `job` over `dir` killed at `point`, then resume it, and check it against the uninterrupted
 * run: nothing under a final name after the kill that differs from the reference, the same
 * counts, byte-identical outputs, the same failed records, and no staging left behind.
 */
export function expectResumedLikeReference(dir: string, job: unknown, point: string, ref: Reference, order: 'line' | 'stored' = 'line'): void {
  const c = crashThenResume(dir, job, point)
  for (const [name, hash] of Object.entries(c.afterKill)) expect(hash, `${name} after a crash at ${point}`).toBe(ref.outputs[name])
  expect(c.resumed.stderr, point).toBe('')
  expect(c.result.counts, point).toEqual(ref.counts)
  expect(treeHashes(join(dir, 'out')), point).toEqual(ref.outputs)
  expect(failures(c.home, c.runId, order), point).toEqual(ref.failures)
  expect(existsSync(join(c.home, 'staging', c.runId)), point).toBe(false)
}
