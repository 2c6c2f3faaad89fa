import Database from 'better-sqlite3'
import { MIGRATIONS } from './migrations'

export type Db = Database.Database

export class DatabaseTooNewError extends Error {}

/**
 * Open (creating if needed) the runs database with the settings every connection needs.
 * better-sqlite3 reopens WAL databases at synchronous=NORMAL, which can lose the last commits on
 * power loss, so FULL is set on every connection, not once.
 */
export function openDatabase(file: string): Db {
  // In the Electron app the engine loads a build of the native module made for Electron's ABI.
  const nativeBinding = process.env.BATCHERY_SQLITE_BINDING || undefined
  const db = new Database(file, nativeBinding ? { nativeBinding } : {})
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  migrate(db, file)
  return db
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
