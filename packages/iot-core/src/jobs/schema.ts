import { migrate, type Db } from '../db.js';

/** The Jobs service's own tables. Times are epoch milliseconds; numbers never change once shipped. */
const STEPS: readonly string[] = [
  `CREATE TABLE jobs_job (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     job_id TEXT NOT NULL UNIQUE,
     status TEXT NOT NULL,
     target_selection TEXT NOT NULL,
     targets TEXT NOT NULL,
     document TEXT NOT NULL,
     description TEXT,
     config TEXT NOT NULL,
     force_canceled INTEGER NOT NULL DEFAULT 0,
     reason_code TEXT,
     comment TEXT,
     created_at INTEGER NOT NULL,
     last_updated_at INTEGER NOT NULL,
     completed_at INTEGER,
     rollout_rate REAL,
     rollout_window_start INTEGER NOT NULL DEFAULT 0,
     rollout_window_count INTEGER NOT NULL DEFAULT 0,
     rollout_base_notified INTEGER NOT NULL DEFAULT 0,
     rollout_base_succeeded INTEGER NOT NULL DEFAULT 0
   )`,
  `CREATE TABLE jobs_execution (
     job_id TEXT NOT NULL REFERENCES jobs_job(job_id) ON DELETE CASCADE,
     thing_name TEXT NOT NULL,
     execution_number INTEGER NOT NULL,
     latest INTEGER NOT NULL,
     status TEXT NOT NULL,
     status_details TEXT,
     version_number INTEGER NOT NULL,
     queued_at INTEGER NOT NULL,
     started_at INTEGER,
     last_updated_at INTEGER NOT NULL,
     released INTEGER NOT NULL,
     step_deadline INTEGER,
     in_progress_deadline INTEGER,
     timeout_at INTEGER,
     force_canceled INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (job_id, thing_name, execution_number)
   ) WITHOUT ROWID`,
  'CREATE INDEX jobs_execution_by_thing ON jobs_execution (thing_name, latest, status)',
  'CREATE INDEX jobs_execution_timeouts ON jobs_execution (timeout_at) WHERE timeout_at IS NOT NULL',
  'CREATE INDEX jobs_execution_unreleased ON jobs_execution (job_id, queued_at) WHERE released = 0',
  // CreateJob's schedulingConfig as given (JSON), and whether its endBehavior has been applied.
  'ALTER TABLE jobs_job ADD COLUMN scheduling TEXT',
  'ALTER TABLE jobs_job ADD COLUMN schedule_ended INTEGER NOT NULL DEFAULT 0',
  `CREATE TABLE jobs_template (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     template_id TEXT NOT NULL UNIQUE,
     description TEXT NOT NULL,
     document TEXT NOT NULL,
     config TEXT NOT NULL,
     maintenance_windows TEXT,
     created_at INTEGER NOT NULL
   )`,
];

export const migrateJobs = (db: Db): void => migrate(db, 'jobs', STEPS);
