// Promise 3 and 6 against a full disk: outputs or staging on a small file system that fills up
// mid-run. The run stops resumably with a plain message, leaves no partial output, and after
// space is freed the resume writes exactly what an uninterrupted run writes.
// Needs root to mount a small tmpfs (CI runs as root); skipped, and says so, where it cannot.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cli, lastJson, tempDir, treeHashes, writeJob } from '../helpers/cli'
import { orderRows, ordersCsv } from '../helpers/orders'

function canMount(): boolean {
  const dir = tempDir('batchery-mount-probe-')
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' })
    execFileSync('umount', [dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
const MOUNTABLE = canMount()
if (!MOUNTABLE) process.stderr.write('disk-full tests skipped: mounting a small tmpfs needs root\n')

const mounts: string[] = []
afterEach(() => {
  for (const m of mounts.splice(0)) execFileSync('umount', ['-l', m], { stdio: 'ignore' })
})

/** A file system of `kib` KiB, filled so that only `freeKiB` remain; returns the filler to delete. */
function smallDisk(kib: number, freeKiB: number): { dir: string; filler: string } {
  const dir = tempDir('batchery-small-disk-')
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir])
  mounts.push(dir)
  const filler = join(dir, 'filler.bin')
  writeFileSync(filler, Buffer.alloc((kib - freeKiB) * 1024))
  return { dir, filler }
}

function jobDir(output: string): string {
  const dir = tempDir()
  mkdirSync(join(dir, 'in'))
  writeFileSync(join(dir, 'in', 'a.csv'), ordersCsv(orderRows(6000, 5)))
  writeFileSync(join(dir, 'in', 'b.csv'), ordersCsv(orderRows(6000, 6)))
  writeJob(dir, {
    name: 'disk',
    kind: 'records',
    input: { folder: 'in', format: 'csv' },
    steps: [{ derive: { total: 'round(amount * quantity, 2)' } }],
    output: { folder: output, format: 'jsonl' },
    policy: { chunkSize: 65536 }
  })
  return dir
}

function reference(): Record<string, string> {
  const out = tempDir()
  const r = cli(['run', join(jobDir(out), 'job.json'), '--home', tempDir(), '--json'])
  expect(r.code).toBe(0)
  return treeHashes(out)
}

describe.skipIf(!MOUNTABLE)('a full disk', () => {
  it('under the output folder: stops resumably, no partial output, then completes byte-identically', () => {
    const want = reference()
    const disk = smallDisk(4096, 600)
    const out = join(disk.dir, 'out')
    const dir = jobDir(out)
    const home = tempDir()
    const r = cli(['run', join(dir, 'job.json'), '--home', home, '--json'])
    expect(r.code).toBe(5)
    const s = lastJson(r.stdout)
    expect(s.status).toBe('interrupted')
    expect(s.message).toContain('the disk is full')
    // nothing under a final name, and no temporary file left taking space
    expect(readdirSync(out)).toEqual([])
    rmSync(disk.filler)
    const resumed = cli(['resume', s.runId, '--home', home, '--json'])
    expect(resumed.code).toBe(0)
    expect(treeHashes(out)).toEqual(want)
  })

  it('under the staging folder: stops resumably, then completes byte-identically', () => {
    const want = reference()
    const disk = smallDisk(8192, 1200)
    const out = tempDir()
    const dir = jobDir(out)
    const home = join(disk.dir, 'home')
    const r = cli(['run', join(dir, 'job.json'), '--home', home, '--json'])
    expect(r.code).toBe(5)
    expect(lastJson(r.stdout).message).toContain('the disk is full')
    expect(readdirSync(out)).toEqual([])
    rmSync(disk.filler)
    const resumed = cli(['resume', lastJson(r.stdout).runId, '--home', home, '--json'])
    expect(resumed.code).toBe(0)
    expect(treeHashes(out)).toEqual(want)
  })
})
