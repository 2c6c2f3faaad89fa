import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import { MIGRATIONS } from './migrations'

export type Db = Database.Database

export class DatabaseTooNewError extends Error {}

/** The database file is damaged; it is left exactly as found. */
export class DatabaseCorruptError extends Error {}

/** Databases up to this size are checked at every start; larger ones once a day, with the backup. */
const QUICK_CHECK_MAX_BYTES = 256 << 20
/** Backups kept in <home>/backups, newest first; one is made per day of use. */
const BACKUPS_KEPT = 5
const BACKUP_EVERY_MS = 24 * 3600 * 1000

/**
 * Open (creating if needed) the runs database with the settings every connection needs.
 * better-sqlite3 reopens WAL databases at synchronous=NORMAL, which can lose the last commits on
 * power loss, so FULL is set on every connection, not once.
 */
export function openDatabase(file: string): Db {
  // In the Electron app the engine loads a build of the native module made for Electron's ABI.
  const nativeBinding = process.env.BATCHERY_SQLITE_BINDING || undefined
  const existed = existsSync(file)
  let db: Db
  try {
    db = new Database(file, nativeBinding ? { nativeBinding } : {})
    if (existed && statSync(file).size <= QUICK_CHECK_MAX_BYTES) checkIntegrity(db, file, 'quick_check')
  } catch (e) {
    if (e instanceof DatabaseCorruptError) throw e
    if ((e as { code?: string }).code === 'SQLITE_NOTADB' || (e as { code?: string }).code === 'SQLITE_CORRUPT') throw corrupt(file, (e as Error).message)
    throw e
  }
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  migrate(db, file)
  return db
}

function corrupt(file: string, detail: string): DatabaseCorruptError {
  const backups = listBackups(file)
  const hint = backups[0] ? ` The newest backup is ${backups[0]}: close Batchery and copy it over ${file} to go back to it.` : ''
  return new DatabaseCorruptError(`The database ${file} is damaged (${detail}). Batchery did not change it.${hint}`)
}

function checkIntegrity(db: Db, file: string, pragma: 'quick_check' | 'integrity_check'): void {
  let rows: { [k: string]: string }[]
  try {
    rows = db.pragma(pragma) as { [k: string]: string }[]
  } catch (e) {
    db.close()
    throw corrupt(file, (e as Error).message)
  }
  const result = rows.map((r) => Object.values(r)[0]).join('; ')
  if (result !== 'ok') {
    db.close()
    throw corrupt(file, result.slice(0, 300))
  }
}

/** When a backup was made, from its name (…-20260101T000000.db). */
function backupTime(path: string): number {
  const m = /-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.db$/.exec(path)
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : 0
}

function backupDir(file: string): string {
  return join(dirname(file), 'backups')
}

/** Backups of this database, newest first. */
export function listBackups(file: string): string[] {
  const dir = backupDir(file)
  if (!existsSync(dir)) return []
  const stem = basename(file, '.db')
  return readdirSync(dir)
    .filter((n) => n.startsWith(`${stem}-`) && n.endsWith('.db'))
    .sort()
    .reverse()
    .map((n) => join(dir, n))
}

/**
 * A consistent copy of the database once a day (VACUUM INTO, then renamed into place), the last
 * few kept. Large databases get their full integrity check here rather than at every start.
 */
export function maybeBackup(db: Db, file: string, now = Date.now()): string | null {
  const newest = listBackups(file)[0]
  if (newest && now - backupTime(newest) < BACKUP_EVERY_MS) return null
  if (statSync(file).size > QUICK_CHECK_MAX_BYTES) checkIntegrity(db, file, 'quick_check')
  const dir = backupDir(file)
  mkdirSync(dir, { recursive: true })
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')
  const target = join(dir, `${basename(file, '.db')}-${stamp}.db`)
  const tmp = `${target}.partial`
  rmSync(tmp, { force: true })
  db.prepare('VACUUM INTO ?').run(tmp)
  renameSync(tmp, target)
  for (const old of listBackups(file).slice(BACKUPS_KEPT)) rmSync(old, { force: true })
  return target
}

function migrate(db: Db, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number
  const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0
  if (current > latest) {
    db.close()
    throw new DatabaseTooNewError(
      `The database ${file} was written by a newer version of Batchery (schema ${current}, this version knows ${latest}). ` +
        'Update Batchery, or use another home folder (--home). The database was not changed.'
    )
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue
    db.transaction(() => {
      db.exec(m.sql)
      db.pragma(`user_version = ${m.version}`)
    })()
  }
}
