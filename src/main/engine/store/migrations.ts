// Numbered migrations in one ordered, statically imported list. PRAGMA user_version holds the
// number of the last one applied; a database from a newer Batchery is refused, never changed.

export interface Migration {
  version: number
  name: string
  sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs, runs, manifest, partitions, failed records, outputs, metrics',
    sql: `
      CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE job_versions (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        version INTEGER NOT NULL,
        hash TEXT NOT NULL,
        definition TEXT NOT NULL,
        base_dir TEXT NOT NULL,
        source_file TEXT,
        created_at INTEGER NOT NULL,
        UNIQUE (job_id, version),
        UNIQUE (job_id, hash)
      );
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        job_version_id INTEGER NOT NULL REFERENCES job_versions(id),
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        planned INTEGER NOT NULL DEFAULT 0,
        records_in INTEGER NOT NULL DEFAULT 0,
        records_out INTEGER NOT NULL DEFAULT 0,
        filtered INTEGER NOT NULL DEFAULT 0,
        deduped INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        bytes_total INTEGER NOT NULL DEFAULT 0,
        retries INTEGER NOT NULL DEFAULT 0,
        message TEXT,
        owner_pid INTEGER,
        owner_host TEXT,
        heartbeat_at INTEGER,
        epoch INTEGER NOT NULL DEFAULT 0,
        peak_rss INTEGER,
        cpu_ms INTEGER
      );
      CREATE INDEX runs_by_job ON runs(job_id, created_at);
      CREATE INDEX runs_by_status ON runs(status);
      CREATE TABLE run_files (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        file_index INTEGER NOT NULL,
        path TEXT NOT NULL,
        rel_path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ms INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        header TEXT,
        PRIMARY KEY (run_id, file_index)
      );
      CREATE TABLE partitions (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        file_index INTEGER NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        first_line INTEGER NOT NULL,
        last_of_file INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        staged_bytes INTEGER,
        keys_bytes INTEGER,
        records_in INTEGER,
        records_out INTEGER,
        filtered INTEGER,
        failed INTEGER,
        duration_ms REAL,
        last_error TEXT,
        committed_at INTEGER,
        PRIMARY KEY (run_id, idx)
      );
      CREATE TABLE failed_records (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        partition_idx INTEGER,
        file_index INTEGER NOT NULL,
        line INTEGER NOT NULL,
        step TEXT NOT NULL,
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        -- the message with quoted values and line numbers blanked: what the report groups by
        pattern TEXT NOT NULL,
        raw TEXT NOT NULL
      );
      CREATE INDEX failed_records_by_run ON failed_records(run_id, file_index, line);
      CREATE INDEX failed_records_by_partition ON failed_records(run_id, partition_idx);
      CREATE TABLE outputs (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        records INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (run_id, path)
      );
      CREATE TABLE run_metrics (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        second INTEGER NOT NULL,
        records INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        busy_workers INTEGER NOT NULL,
        queued INTEGER NOT NULL,
        rss INTEGER NOT NULL,
        PRIMARY KEY (run_id, second)
      );
    `
  },
  {
    version: 2,
    name: 'jobs saved from the app: current version, deletion',
    sql: `
      ALTER TABLE jobs ADD COLUMN current_version_id INTEGER REFERENCES job_versions(id);
      ALTER TABLE jobs ADD COLUMN deleted_at INTEGER;
      UPDATE jobs SET current_version_id = (SELECT MAX(id) FROM job_versions v WHERE v.job_id = jobs.id);
    `
  },
  {
    version: 3,
    name: 'partitions remember whether they were in flight when the process died',
    sql: `
      ALTER TABLE partitions ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE partitions ADD COLUMN solo INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE partitions ADD COLUMN suspect INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE partitions ADD COLUMN solo_deaths INTEGER NOT NULL DEFAULT 0;
    `
  }
]
