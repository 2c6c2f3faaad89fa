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
  },
  {
    version: 4,
    name: 'schedules: enabled jobs, due times recorded before they run, the ledger of processed inputs',
    sql: `
      ALTER TABLE jobs ADD COLUMN enabled INTEGER NOT NULL DEFAULT 0;
      -- What started a run (manual, cron, every, watch, drop, backfill) and which inputs it takes.
      ALTER TABLE runs ADD COLUMN trigger TEXT;
      ALTER TABLE runs ADD COLUMN selection TEXT;
      -- Per job and trigger: due times up to here have been recorded.
      CREATE TABLE schedule_cursors (
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        trigger_key TEXT NOT NULL,
        anchor INTEGER NOT NULL,
        cursor INTEGER NOT NULL,
        PRIMARY KEY (job_id, trigger_key)
      );
      -- Every due time, recorded before its run starts: the unique key makes it run at most once.
      CREATE TABLE due_times (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        trigger_key TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        missed INTEGER NOT NULL DEFAULT 0,
        -- due, waiting (behind a running run), started, skipped, missed
        status TEXT NOT NULL,
        run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
        note TEXT,
        -- watch: the settled files this due time runs over (JSON array of paths)
        files TEXT,
        UNIQUE (job_id, trigger_key, due_at)
      );
      CREATE INDEX due_times_by_job ON due_times(job_id, due_at);
      CREATE INDEX due_times_open ON due_times(status) WHERE status IN ('due', 'waiting');
      -- Which version of which input file a committed run processed.
      CREATE TABLE ledger (
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        rel_path TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ms INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        run_id TEXT NOT NULL,
        processed_at INTEGER NOT NULL,
        archived_to TEXT,
        PRIMARY KEY (job_id, rel_path, sha256)
      );
      CREATE INDEX ledger_by_run ON ledger(run_id);
      -- One scheduler per home: the app, a daemon and a served UI never double a due time.
      CREATE TABLE scheduler_lease (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        owner_pid INTEGER NOT NULL,
        owner_host TEXT NOT NULL,
        heartbeat_at INTEGER NOT NULL
      );
    `
  },
  {
    version: 5,
    name: 'files jobs: one row per finished item (command, exit code, output tails, staged outputs)',
    sql: `
      -- A files job's item is a partition (idx = file_index) holding one whole input file; this row
      -- is written in the same transaction as the partition's commit.
      CREATE TABLE file_items (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        -- {#}: 1-based, in sorted input order
        seq INTEGER NOT NULL,
        -- as shown to people and in the joblog: shell-quoted argv, or the module call
        command TEXT NOT NULL,
        ok INTEGER NOT NULL,
        started_at REAL NOT NULL,
        runtime_ms REAL NOT NULL,
        exit_code INTEGER,
        signal TEXT,
        attempts INTEGER NOT NULL,
        -- the last 64 KiB of each
        stdout_tail TEXT NOT NULL,
        stderr_tail TEXT NOT NULL,
        -- staging folder (inside the output folder) of the attempt that succeeded
        staged TEXT,
        -- JSON [[name relative to {out}, bytes, sha256], ...]
        outputs TEXT NOT NULL,
        -- its outputs were moved into the output folder (or it failed: nothing to move)
        promoted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, idx)
      );
    `
  },
  {
    version: 6,
    name: 'a staged partition that is a whole output, with its sha256',
    sql: `
      -- Set when the worker wrote the partition as its output's whole file (a small file's own
      -- output: header included), so the assembly links it into place instead of copying it.
      ALTER TABLE partitions ADD COLUMN staged_sha256 TEXT;
    `
  }
]
