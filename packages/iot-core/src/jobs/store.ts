import type { JobExecutionStatus, JobStatus, StatusDetails } from '@otafleet/protocol';
import type { Db } from '../db.js';
import type { SchedulingConfigInput } from './scheduling/index.js';
import {
  timeoutAt,
  type ExecutionRecord,
  type JobConfig,
  type JobRecord,
  type RolloutState,
  type TargetSelection,
} from './model.js';

interface JobRow {
  seq: number;
  job_id: string;
  status: string;
  target_selection: string;
  targets: string;
  document: string;
  description: string | null;
  config: string;
  force_canceled: number;
  reason_code: string | null;
  comment: string | null;
  created_at: number;
  last_updated_at: number;
  completed_at: number | null;
  rollout_rate: number | null;
  rollout_window_start: number;
  rollout_window_count: number;
  rollout_base_notified: number;
  rollout_base_succeeded: number;
  scheduling: string | null;
  schedule_ended: number;
}

interface ExecutionRow {
  job_id: string;
  thing_name: string;
  execution_number: number;
  status: string;
  status_details: string | null;
  version_number: number;
  queued_at: number;
  started_at: number | null;
  last_updated_at: number;
  released: number;
  step_deadline: number | null;
  in_progress_deadline: number | null;
  force_canceled: number;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function toJob(r: JobRow): JobRecord {
  return {
    seq: r.seq,
    jobId: r.job_id,
    status: r.status as JobStatus,
    targetSelection: r.target_selection as TargetSelection,
    targets: JSON.parse(r.targets) as string[],
    documentText: r.document,
    document: JSON.parse(r.document) as Record<string, unknown>,
    description: opt(r.description),
    config: JSON.parse(r.config) as JobConfig,
    forceCanceled: r.force_canceled === 1,
    reasonCode: opt(r.reason_code),
    comment: opt(r.comment),
    createdAt: r.created_at,
    lastUpdatedAt: r.last_updated_at,
    completedAt: opt(r.completed_at),
    scheduling: r.scheduling === null ? undefined : (JSON.parse(r.scheduling) as SchedulingConfigInput),
    scheduleEnded: r.schedule_ended === 1,
    rollout: {
      rate: opt(r.rollout_rate),
      windowStart: r.rollout_window_start,
      windowCount: r.rollout_window_count,
      baseNotified: r.rollout_base_notified,
      baseSucceeded: r.rollout_base_succeeded,
    },
  };
}

function toExecution(r: ExecutionRow): ExecutionRecord {
  return {
    jobId: r.job_id,
    thingName: r.thing_name,
    executionNumber: r.execution_number,
    status: r.status as JobExecutionStatus,
    statusDetails: r.status_details === null ? undefined : (JSON.parse(r.status_details) as StatusDetails),
    versionNumber: r.version_number,
    queuedAt: r.queued_at,
    startedAt: opt(r.started_at),
    lastUpdatedAt: r.last_updated_at,
    released: r.released === 1,
    stepDeadline: opt(r.step_deadline),
    inProgressDeadline: opt(r.in_progress_deadline),
    forceCanceled: r.force_canceled === 1,
  };
}

const EXEC_COLS =
  'job_id, thing_name, execution_number, status, status_details, version_number, queued_at, started_at, last_updated_at, released, step_deadline, in_progress_deadline, force_canceled';

export type StatusCounts = Partial<Record<JobExecutionStatus, number>>;

/** Latest executions kept in memory at most (the least recently used are dropped). */
const EXECUTION_CACHE_ENTRIES = 100_000;
const executionKey = (jobId: string, thingName: string): string => `${jobId}\u0000${thingName}`;

/**
 * All SQL of the Jobs service. Jobs are few and read on every request, so they are cached in memory, and so
 * are the latest executions that devices read and update on every request. Both caches follow every write
 * through this store (the store is the only writer); after a rolled-back transaction call reloadAll().
 */
export class JobsStore {
  private readonly jobs = new Map<string, JobRecord>();
  /** Latest execution per (job, thing); Map order is recency order. */
  private readonly latestExecutions = new Map<string, ExecutionRecord>();
  private readonly s;

  constructor(private readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      allJobs: p('SELECT * FROM jobs_job ORDER BY seq'),
      jobById: p('SELECT * FROM jobs_job WHERE job_id = ?'),
      insertJob: p(
        `INSERT INTO jobs_job (job_id, status, target_selection, targets, document, description, config, created_at, last_updated_at, rollout_rate, rollout_window_start, scheduling)
         VALUES (@jobId, @status, @targetSelection, @targets, @document, @description, @config, @now, @now, @rate, @now, @scheduling)`,
      ),
      updateJob: p(
        `UPDATE jobs_job SET status = @status, targets = @targets, description = @description, config = @config, force_canceled = @forceCanceled,
           reason_code = @reasonCode, comment = @comment, last_updated_at = @lastUpdatedAt, completed_at = @completedAt,
           rollout_rate = @rate, rollout_window_start = @windowStart, rollout_window_count = @windowCount,
           rollout_base_notified = @baseNotified, rollout_base_succeeded = @baseSucceeded, schedule_ended = @scheduleEnded
         WHERE job_id = @jobId`,
      ),
      deleteJob: p('DELETE FROM jobs_job WHERE job_id = ?'),
      latest: p(`SELECT ${EXEC_COLS} FROM jobs_execution WHERE job_id = ? AND thing_name = ? AND latest = 1`),
      byNumber: p(
        `SELECT ${EXEC_COLS} FROM jobs_execution WHERE job_id = ? AND thing_name = ? AND execution_number = ?`,
      ),
      pendingForThing: p(
        `SELECT ${EXEC_COLS} FROM jobs_execution WHERE thing_name = ? AND latest = 1 AND released = 1 AND status IN ('QUEUED', 'IN_PROGRESS')`,
      ),
      insertExecution: p(
        `INSERT INTO jobs_execution (${EXEC_COLS}, latest, timeout_at)
         VALUES (@jobId, @thingName, @executionNumber, @status, @statusDetails, @versionNumber, @queuedAt, @startedAt, @lastUpdatedAt, @released, @stepDeadline, @inProgressDeadline, @forceCanceled, 1, @timeoutAt)`,
      ),
      clearLatest: p('UPDATE jobs_execution SET latest = 0 WHERE job_id = ? AND thing_name = ? AND latest = 1'),
      // Positional parameters: this runs for every device update, and binding by name costs a lookup each.
      updateExecution: p(
        `UPDATE jobs_execution SET status = ?, status_details = ?, version_number = ?, started_at = ?,
           last_updated_at = ?, released = ?, step_deadline = ?, in_progress_deadline = ?, timeout_at = ?,
           force_canceled = ?
         WHERE job_id = ? AND thing_name = ? AND execution_number = ?`,
      ),
      executionsOfJob: p(
        `SELECT ${EXEC_COLS} FROM jobs_execution WHERE job_id = ? AND latest = 1 ORDER BY queued_at, thing_name`,
      ),
      pageOfJob: p(
        `SELECT ${EXEC_COLS} FROM jobs_execution WHERE job_id = @jobId AND latest = 1 AND (@status IS NULL OR status = @status)
         ORDER BY queued_at, thing_name LIMIT @limit OFFSET @offset`,
      ),
      pageOfThing: p(
        `SELECT ${EXEC_COLS} FROM jobs_execution WHERE thing_name = @thingName AND latest = 1
           AND (@status IS NULL OR status = @status) AND (@jobId IS NULL OR job_id = @jobId)
         ORDER BY queued_at, job_id LIMIT @limit OFFSET @offset`,
      ),
      countsOfJob: p(
        'SELECT status, COUNT(*) AS n FROM jobs_execution WHERE job_id = ? AND latest = 1 GROUP BY status',
      ),
      releasedCount: p('SELECT COUNT(*) AS n FROM jobs_execution WHERE job_id = ? AND latest = 1 AND released = 1'),
      unreleased: p(
        `SELECT ${EXEC_COLS} FROM jobs_execution WHERE job_id = ? AND released = 0 AND status = 'QUEUED' ORDER BY queued_at, thing_name LIMIT ?`,
      ),
      deleteUnreleased: p('DELETE FROM jobs_execution WHERE job_id = ? AND released = 0'),
      jobsWithUnreleased: p("SELECT DISTINCT job_id FROM jobs_execution WHERE released = 0 AND status = 'QUEUED'"),
      dueTimeouts: p(
        `SELECT ${EXEC_COLS} FROM jobs_execution WHERE timeout_at IS NOT NULL AND timeout_at <= ? AND status = 'IN_PROGRESS' LIMIT 1000`,
      ),
      countOfStatusForThing: p(
        'SELECT COUNT(*) AS n FROM jobs_execution WHERE job_id = ? AND thing_name = ? AND status IN (SELECT value FROM json_each(?))',
      ),
      thingsOfJob: p('SELECT DISTINCT thing_name FROM jobs_execution WHERE job_id = ?'),
    };
    for (const r of this.s.allJobs.all() as JobRow[]) this.jobs.set(r.job_id, toJob(r));
  }

  job(jobId: string): JobRecord | undefined {
    return this.jobs.get(jobId);
  }

  allJobs(): JobRecord[] {
    return [...this.jobs.values()].sort((a, b) => a.seq - b.seq);
  }

  insertJob(j: {
    jobId: string;
    status: JobStatus;
    targetSelection: TargetSelection;
    targets: readonly string[];
    documentText: string;
    description: string | undefined;
    config: JobConfig;
    scheduling: SchedulingConfigInput | undefined;
    rate: number | undefined;
    now: number;
  }): JobRecord {
    this.s.insertJob.run({
      jobId: j.jobId,
      status: j.status,
      targetSelection: j.targetSelection,
      targets: JSON.stringify(j.targets),
      document: j.documentText,
      description: j.description ?? null,
      config: JSON.stringify(j.config),
      now: j.now,
      rate: j.rate ?? null,
      scheduling: j.scheduling === undefined ? null : JSON.stringify(j.scheduling),
    });
    return this.reloadJob(j.jobId);
  }

  saveJob(j: JobRecord): void {
    this.s.updateJob.run({
      jobId: j.jobId,
      status: j.status,
      targets: JSON.stringify(j.targets),
      description: j.description ?? null,
      config: JSON.stringify(j.config),
      forceCanceled: j.forceCanceled ? 1 : 0,
      reasonCode: j.reasonCode ?? null,
      comment: j.comment ?? null,
      lastUpdatedAt: j.lastUpdatedAt,
      completedAt: j.completedAt ?? null,
      scheduleEnded: j.scheduleEnded ? 1 : 0,
      ...rolloutParams(j.rollout),
    });
    this.jobs.set(j.jobId, j);
  }

  deleteJob(jobId: string): void {
    this.s.deleteJob.run(jobId);
    this.jobs.delete(jobId);
    for (const [key, e] of this.latestExecutions) if (e.jobId === jobId) this.latestExecutions.delete(key);
  }

  /** Re-reads the caches from the database (after a rolled-back transaction). */
  reloadAll(): void {
    this.latestExecutions.clear();
    this.jobs.clear();
    for (const r of this.s.allJobs.all() as JobRow[]) this.jobs.set(r.job_id, toJob(r));
  }

  private reloadJob(jobId: string): JobRecord {
    const row = this.s.jobById.get(jobId) as JobRow | undefined;
    if (row === undefined) throw new Error(`job ${jobId} vanished`);
    const job = toJob(row);
    this.jobs.set(jobId, job);
    return job;
  }

  execution(jobId: string, thingName: string, executionNumber?: number): ExecutionRecord | undefined {
    const key = executionKey(jobId, thingName);
    const cached = this.latestExecutions.get(key);
    if (cached !== undefined && (executionNumber === undefined || executionNumber === cached.executionNumber)) {
      this.rememberLatest(key, cached);
      return cached;
    }
    if (executionNumber !== undefined) {
      const row = this.s.byNumber.get(jobId, thingName, executionNumber) as ExecutionRow | undefined;
      return row === undefined ? undefined : toExecution(row);
    }
    const row = this.s.latest.get(jobId, thingName) as ExecutionRow | undefined;
    if (row === undefined) return undefined;
    const latest = toExecution(row);
    this.rememberLatest(key, latest);
    return latest;
  }

  private rememberLatest(key: string, e: ExecutionRecord): void {
    this.latestExecutions.delete(key);
    this.latestExecutions.set(key, e);
    if (this.latestExecutions.size > EXECUTION_CACHE_ENTRIES) {
      const oldest = this.latestExecutions.keys().next();
      if (oldest.done !== true) this.latestExecutions.delete(oldest.value);
    }
  }

  /** Released QUEUED and IN_PROGRESS executions of a thing, IN_PROGRESS first, then oldest first. */
  pendingForThing(thingName: string): ExecutionRecord[] {
    const rows = (this.s.pendingForThing.all(thingName) as ExecutionRow[]).map(toExecution);
    const jobSeq = (e: ExecutionRecord): number => this.jobs.get(e.jobId)?.seq ?? 0;
    return rows.sort(
      (a, b) =>
        Number(b.status === 'IN_PROGRESS') - Number(a.status === 'IN_PROGRESS') ||
        a.queuedAt - b.queuedAt ||
        jobSeq(a) - jobSeq(b),
    );
  }

  /** Inserts a new execution and makes it the thing's latest for the job. */
  insertExecution(e: ExecutionRecord): void {
    this.s.clearLatest.run(e.jobId, e.thingName);
    this.s.insertExecution.run({ ...executionParams(e), queuedAt: e.queuedAt });
    this.rememberLatest(executionKey(e.jobId, e.thingName), e);
  }

  saveExecution(e: ExecutionRecord): void {
    this.s.updateExecution.run(
      e.status,
      e.statusDetails === undefined ? null : JSON.stringify(e.statusDetails),
      e.versionNumber,
      e.startedAt ?? null,
      e.lastUpdatedAt,
      e.released ? 1 : 0,
      e.stepDeadline ?? null,
      e.inProgressDeadline ?? null,
      timeoutAt(e) ?? null,
      e.forceCanceled ? 1 : 0,
      e.jobId,
      e.thingName,
      e.executionNumber,
    );
    const key = executionKey(e.jobId, e.thingName);
    if (this.latestExecutions.get(key)?.executionNumber === e.executionNumber) this.rememberLatest(key, e);
  }

  executionsOfJob(jobId: string): ExecutionRecord[] {
    return (this.s.executionsOfJob.all(jobId) as ExecutionRow[]).map(toExecution);
  }

  pageOfJob(jobId: string, status: JobExecutionStatus | undefined, offset: number, limit: number): ExecutionRecord[] {
    return (this.s.pageOfJob.all({ jobId, status: status ?? null, offset, limit }) as ExecutionRow[]).map(toExecution);
  }

  /** Latest executions of one thing, oldest first (ListJobExecutionsForThing). */
  pageOfThing(
    thingName: string,
    filter: { readonly status?: JobExecutionStatus | undefined; readonly jobId?: string | undefined },
    offset: number,
    limit: number,
  ): ExecutionRecord[] {
    const params = { thingName, status: filter.status ?? null, jobId: filter.jobId ?? null, offset, limit };
    return (this.s.pageOfThing.all(params) as ExecutionRow[]).map(toExecution);
  }

  countsOfJob(jobId: string): StatusCounts {
    const counts: StatusCounts = {};
    for (const r of this.s.countsOfJob.all(jobId) as { status: JobExecutionStatus; n: number }[])
      counts[r.status] = r.n;
    return counts;
  }

  releasedCount(jobId: string): number {
    return (this.s.releasedCount.get(jobId) as { n: number }).n;
  }

  unreleased(jobId: string, limit: number): ExecutionRecord[] {
    return (this.s.unreleased.all(jobId, limit) as ExecutionRow[]).map(toExecution);
  }

  /** Drops the executions a rollout never released (a schedule's STOP_ROLLOUT end). */
  deleteUnreleased(jobId: string): void {
    this.s.deleteUnreleased.run(jobId);
    for (const [key, e] of this.latestExecutions)
      if (e.jobId === jobId && !e.released) this.latestExecutions.delete(key);
  }

  jobsWithUnreleased(): string[] {
    return (this.s.jobsWithUnreleased.all() as { job_id: string }[]).map((r) => r.job_id);
  }

  dueTimeouts(now: number): ExecutionRecord[] {
    return (this.s.dueTimeouts.all(now) as ExecutionRow[]).map(toExecution);
  }

  /** How many of the thing's executions of the job (all attempts) ended in one of `statuses`. */
  attemptsEndedIn(jobId: string, thingName: string, statuses: readonly JobExecutionStatus[]): number {
    return (this.s.countOfStatusForThing.get(jobId, thingName, JSON.stringify(statuses)) as { n: number }).n;
  }

  thingsOfJob(jobId: string): string[] {
    return (this.s.thingsOfJob.all(jobId) as { thing_name: string }[]).map((r) => r.thing_name);
  }
}

const rolloutParams = (r: RolloutState) => ({
  rate: r.rate ?? null,
  windowStart: r.windowStart,
  windowCount: r.windowCount,
  baseNotified: r.baseNotified,
  baseSucceeded: r.baseSucceeded,
});

const executionParams = (e: ExecutionRecord) => ({
  jobId: e.jobId,
  thingName: e.thingName,
  executionNumber: e.executionNumber,
  status: e.status,
  statusDetails: e.statusDetails === undefined ? null : JSON.stringify(e.statusDetails),
  versionNumber: e.versionNumber,
  startedAt: e.startedAt ?? null,
  lastUpdatedAt: e.lastUpdatedAt,
  released: e.released ? 1 : 0,
  stepDeadline: e.stepDeadline ?? null,
  inProgressDeadline: e.inProgressDeadline ?? null,
  timeoutAt: timeoutAt(e) ?? null,
  forceCanceled: e.forceCanceled ? 1 : 0,
});
