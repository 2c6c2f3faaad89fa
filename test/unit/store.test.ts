import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { canMove } from '../../src/main/engine/run-states'
import { readFileSync, writeFileSync } from 'node:fs'
import { DatabaseCorruptError, DatabaseTooNewError, listBackups, maybeBackup, openDatabase } from '../../src/main/engine/store/open-db'
import { MIGRATIONS } from '../../src/main/engine/store/migrations'
import { Store } from '../../src/main/engine/store/store'
import { tempDir } from '../helpers/cli'

describe('the runs database', () => {
  it('uses WAL with synchronous=FULL on every connection, including reopened ones', () => {
    const file = join(tempDir(), 'b.db')
    for (let i = 0; i < 2; i++) {
      const db = openDatabase(file)
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      // 2 = FULL; better-sqlite3 alone would reopen a WAL database at 1 (NORMAL)
      expect(db.pragma('synchronous', { simple: true })).toBe(2)
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)?.version)
      db.close()
    }
  })

  it('refuses a database from a newer Batchery and leaves it unchanged', () => {
    const file = join(tempDir(), 'b.db')
    const raw = new Database(file)
    raw.pragma('user_version = 999')
    raw.exec('CREATE TABLE future (x)')
    raw.close()
    expect(() => openDatabase(file)).toThrow(DatabaseTooNewError)
    const after = new Database(file)
    expect(after.pragma('user_version', { simple: true })).toBe(999)
    expect(after.prepare("SELECT name FROM sqlite_master WHERE name = 'runs'").get()).toBeUndefined()
    after.close()
  })

  it('refuses a damaged database with a plain message and leaves its bytes as they were', () => {
    const file = join(tempDir(), 'b.db')
    const db = openDatabase(file)
    const v = new Store(db).saveJobVersion('j', 'h', '{}', '/tmp', null)
    new Store(db).createRun('r1', v)
    db.pragma('wal_checkpoint(TRUNCATE)')
    db.close()
    // Damage the middle of the file (past the header page): a realistic torn or bit-rotted page.
    const bytes = readFileSync(file)
    for (let i = 4096; i < 8192; i++) bytes[i] = 0xff
    writeFileSync(file, bytes)
    const before = readFileSync(file)
    expect(() => openDatabase(file)).toThrow(DatabaseCorruptError)
    expect(() => openDatabase(file)).toThrow(/is damaged .* Batchery did not change it/)
    expect(readFileSync(file).equals(before)).toBe(true)
  })

  it('keeps a daily backup, the newest five, each a working database', () => {
    const file = join(tempDir(), 'b.db')
    const db = openDatabase(file)
    new Store(db).saveJobVersion('j', 'h', '{}', '/tmp', null)
    const day = 24 * 3600 * 1000
    const t0 = Date.UTC(2026, 0, 1)
    const made: (string | null)[] = []
    for (let i = 0; i < 7; i++) made.push(maybeBackup(db, file, t0 + i * day))
    // a second call the same day makes nothing new
    expect(maybeBackup(db, file, t0 + 6 * day + 1000)).toBeNull()
    expect(made.every((m) => m !== null)).toBe(true)
    const kept = listBackups(file)
    expect(kept).toHaveLength(5)
    expect(kept[0]).toBe(made[6])
    const restored = openDatabase(kept[0] as string)
    expect(new Store(restored).job('j')?.name).toBe('j')
    restored.close()
    db.close()
  })

  it('moves run states only along allowed moves, and only from the state it expects', () => {
    const store = new Store(openDatabase(join(tempDir(), 'b.db')))
    const v = store.saveJobVersion('j', 'h1', '{}', '/tmp', null)
    expect(store.saveJobVersion('j', 'h1', '{}', '/tmp', null).id).toBe(v.id)
    expect(store.saveJobVersion('j', 'h2', '{}', '/tmp', null).version).toBe(2)
    store.createRun('r1', v)
    expect(store.move('r1', 'queued', 'running')).toBe(true)
    expect(store.move('r1', 'queued', 'running')).toBe(false)
    expect(() => store.move('r1', 'succeeded', 'running')).toThrow()
    expect(canMove('interrupted', 'running')).toBe(true)
    expect(canMove('failed', 'running')).toBe(false)
  })

  it('fences off a stale owner: a commit under an old epoch is refused', () => {
    const store = new Store(openDatabase(join(tempDir(), 'b.db')))
    const v = store.saveJobVersion('j', 'h', '{}', '/tmp', null)
    store.createRun('r1', v)
    const oldEpoch = store.claim('r1', 1, 'h')
    store.savePlan('r1', [{ file_index: 0, path: '/x', rel_path: 'x', size: 1, mtime_ms: 1, sha256: 'a', header: null }], [{ idx: 0, file_index: 0, start: 0, end: 1, first_line: 1, last_of_file: 1 }], [])
    const newEpoch = store.claim('r1', 2, 'h')
    const result = { counts: { in: 1, out: 1, filtered: 0, failed: 0 }, failures: [], stagedBytes: 1, keysBytes: 0, durationMs: 1 }
    expect(store.commitPartition('r1', oldEpoch, 0, 0, result)).toBe(false)
    expect(store.commitPartition('r1', newEpoch, 0, 0, result)).toBe(true)
    expect(store.commitPartition('r1', newEpoch, 0, 0, result)).toBe(false)
    expect(store.run('r1')?.records_in).toBe(1)
  })
})
