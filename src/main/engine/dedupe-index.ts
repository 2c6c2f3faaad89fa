// The keys a run's dedupe step has seen, while outputs are assembled: which record of a key came
// first in input order. A run over tens of millions of distinct keys would need gigabytes to hold
// them all (10 million short keys take about 1 GB in a JavaScript Set), so past a bound the keys
// move to a scratch SQLite file in the run's staging folder and are looked up there: memory stays
// bounded, at the cost of speed for runs that large.
//
// The file is scratch: assembly starts over after a stop, so the file is made afresh each time.
import { rmSync } from 'node:fs'
import Database from 'better-sqlite3'

/** Keys held in memory before they move to disk (about 100 MB of them). */
export const DEDUPE_KEYS_IN_MEMORY = 1_000_000

export class DedupeIndex {
  private readonly memory = new Map<string, Set<string>>()
  private held = 0
  private db: Database.Database | null = null
  private insert: Database.Statement | null = null

  /**
   * @param scratchFile where the keys go once there are more than `maxInMemory`
   * @param maxInMemory the bound (BATCHERY_DEDUPE_KEYS_IN_MEMORY may lower it, for tests)
   */
  constructor(
    private readonly scratchFile: string,
    private readonly maxInMemory = Number(process.env.BATCHERY_DEDUPE_KEYS_IN_MEMORY) || DEDUPE_KEYS_IN_MEMORY
  ) {}

  /** Whether this is the first time `key` is seen within `route` (and remember it). */
  isNew(route: string, key: string): boolean {
    if (this.insert) return this.insert.run(route, key).changes === 1
    let set = this.memory.get(route)
    if (!set) this.memory.set(route, (set = new Set()))
    if (set.has(key)) return false
    set.add(key)
    if (++this.held > this.maxInMemory) this.spill()
    return true
  }

  /** Move every key to the scratch file; from now on keys are looked up there. */
  private spill(): void {
    rmSync(this.scratchFile, { force: true })
    const nativeBinding = process.env.BATCHERY_SQLITE_BINDING || undefined
    const db = new Database(this.scratchFile, nativeBinding ? { nativeBinding } : {})
    // Scratch data, rebuilt if the run stops: no journal, no waiting for the disk.
    db.pragma('journal_mode = OFF')
    db.pragma('synchronous = OFF')
    db.pragma('cache_size = -65536')
    db.exec('CREATE TABLE seen (route TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (route, key)) WITHOUT ROWID')
    this.insert = db.prepare('INSERT OR IGNORE INTO seen (route, key) VALUES (?, ?)')
    const insert = this.insert
    db.transaction(() => {
      for (const [route, set] of this.memory) for (const key of set) insert.run(route, key)
    })()
    this.memory.clear()
    this.held = 0
    // One long transaction: the file is scratch, so nothing is gained by committing as we go.
    db.exec('BEGIN')
    this.db = db
  }

  /** Whether the keys went to disk (for the run's log). */
  get spilled(): boolean {
    return this.db !== null
  }

  close(): void {
    if (this.db) {
      if (this.db.inTransaction) this.db.exec('COMMIT')
      this.db.close()
      this.db = null
      this.insert = null
    }
    rmSync(this.scratchFile, { force: true })
    this.memory.clear()
  }
}
