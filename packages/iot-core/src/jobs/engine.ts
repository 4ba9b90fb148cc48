import {
  abortCriterionMatches,
  isPendingStatus,
  isTerminalStatus,
  jobTransition,
  nextExecutionStatus,
  retryCriterionMatches,
  type JobEventOperation,
  type JobExecutionEvent,
  type JobExecutionStatus,
  type StatusDetails,
} from '@otafleet/protocol';
import type { Logger } from 'pino';
import type { JobsStore } from './store.js';
import type { ExecutionRecord, JobRecord } from './model.js';
import type { JobEvents } from './job-events.js';
import { substitutePresignedUrls } from './presigned-url.js';
import type { S3PresignTarget } from './s3-presign.js';
import { notifyMessage, notifyNextMessage, type Outbound } from './wire.js';

const MINUTE = 60_000;

/** What one transaction changed, to be acted on before and after its commit. */
export class TxChanges {
  readonly outbound: Outbound[] = [];
  /** Things whose pending list may have changed, with its keys before the first change. */
  readonly dirtyThings = new Map<string, { readonly list: string; readonly next: string }>();
  /** Jobs one of whose executions became terminal (abort and completion are checked for them). */
  readonly touchedJobs = new Set<string>();
}

export interface StatusChange {
  /** What happens; the protocol's transition table says which status it leads to. */
  readonly event: JobExecutionEvent;
  readonly statusDetails?: StatusDetails | undefined;
  /** Minutes; -1 clears the step timer; undefined leaves it. */
  readonly stepTimeoutInMinutes?: number | undefined;
}

const keyOf = (e: ExecutionRecord | undefined): string => (e === undefined ? '' : `${e.jobId}#${e.executionNumber}`);

/**
 * The job-execution lifecycle inside one SQLite transaction: status changes with their timers, retries,
 * rollout releases, abort criteria, job completion and the notify / notify-next they cause.
 * https://docs.aws.amazon.com/iot/latest/developerguide/iot-jobs-lifecycle.html
 */
export class JobsEngine {
  constructor(
    readonly store: JobsStore,
    readonly now: () => number,
    private readonly logger: Logger,
    /** Signs the bundle URLs that replace presigned-URL placeholders (shared with the bundle store). */
    private readonly presignedUrlKey: Uint8Array,
    /** Builds `$aws/events/job…` messages when the event configuration enables them. */
    private readonly events?: JobEvents,
    /** The S3-compatible endpoint S3 placeholders are presigned for (the stand-in for the job's role). */
    private readonly s3Presign?: S3PresignTarget,
  ) {}

  /** Queues `$aws/events/job/{jobId}/{operation}` (when JOB events are enabled) for after the commit. */
  jobEnded(tx: TxChanges, job: JobRecord, operation: JobEventOperation): void {
    const event = this.events?.jobEnded(job, operation, this.store.countsOfJob(job.jobId), this.now());
    if (event !== undefined) tx.outbound.push(event);
  }

  /** A job's document as a device reads it now: presigned-URL placeholders replaced by fresh signed URLs. */
  documentFor(jobId: string): Readonly<Record<string, unknown>> | undefined {
    const job = this.store.job(jobId);
    if (job === undefined) return undefined;
    // URLs expire on whole seconds, so every read within one second gets the same document: sign once per second.
    const second = Math.floor(this.now() / 1000);
    const cached = this.signedDocuments.get(jobId);
    if (cached !== undefined && cached.second === second && cached.job === job) return cached.document;
    const document = substitutePresignedUrls(job.documentText, job.document, {
      key: this.presignedUrlKey,
      nowMs: this.now(),
      expiresInSec: job.config.presignedUrlConfig?.expiresInSec,
      s3: this.s3Presign,
    });
    if (document !== job.document) {
      if (this.signedDocuments.size >= 10_000) this.signedDocuments.clear(); // bounded: deleted jobs leave entries
      this.signedDocuments.set(jobId, { second, job, document });
    }
    return document;
  }

  /** The last substituted document per job, valid for one second and one version of the job record. */
  private readonly signedDocuments = new Map<
    string,
    { readonly second: number; readonly job: JobRecord; readonly document: Readonly<Record<string, unknown>> }
  >();

  /** Must be called before the first change that may add or remove a pending execution of `thingName`. */
  touchThing(tx: TxChanges, thingName: string): void {
    if (tx.dirtyThings.has(thingName)) return;
    const pending = this.store.pendingForThing(thingName);
    tx.dirtyThings.set(thingName, { list: pending.map(keyOf).join(','), next: keyOf(pending[0]) });
  }

  /** Adds a QUEUED execution; `released` = visible to the device at once (retries) or left to the rollout. */
  createExecution(tx: TxChanges, jobId: string, thingName: string, executionNumber: number, released: boolean): void {
    const now = this.now();
    if (released) this.touchThing(tx, thingName);
    this.store.insertExecution({
      jobId,
      thingName,
      executionNumber,
      status: 'QUEUED',
      statusDetails: undefined,
      versionNumber: 1,
      queuedAt: now,
      startedAt: undefined,
      lastUpdatedAt: now,
      released,
      stepDeadline: undefined,
      inProgressDeadline: undefined,
      forceCanceled: false,
    });
  }

  /**
   * Applies an event to an execution with its consequences, as the transition table says; returns undefined,
   * changing nothing, when the table refuses the event in the execution's status (deletes are not status changes).
   */
  changeStatus(tx: TxChanges, e: ExecutionRecord, change: StatusChange): ExecutionRecord | undefined {
    const to = nextExecutionStatus(e.status, change.event);
    if (to === undefined) return undefined;
    const now = this.now();
    const job = this.store.job(e.jobId);
    const entersInProgress = to === 'IN_PROGRESS' && e.status !== 'IN_PROGRESS';
    let stepDeadline = e.stepDeadline;
    let inProgressDeadline = e.inProgressDeadline;
    if (isTerminalStatus(to)) {
      stepDeadline = undefined;
      inProgressDeadline = undefined;
    } else {
      if (change.stepTimeoutInMinutes === -1) stepDeadline = undefined;
      else if (change.stepTimeoutInMinutes !== undefined) stepDeadline = now + change.stepTimeoutInMinutes * MINUTE;
      const minutes = job?.config.timeoutConfig?.inProgressTimeoutInMinutes;
      if (entersInProgress && minutes !== undefined) inProgressDeadline = now + minutes * MINUTE;
    }
    const next: ExecutionRecord = {
      ...e,
      status: to,
      statusDetails: change.statusDetails ?? e.statusDetails,
      versionNumber: e.versionNumber + 1,
      startedAt: entersInProgress && e.startedAt === undefined ? now : e.startedAt,
      lastUpdatedAt: now,
      stepDeadline,
      inProgressDeadline,
      // forceCanceled: "the job execution was canceled while IN_PROGRESS".
      forceCanceled: e.forceCanceled || (change.event === 'force-cancel' && e.status === 'IN_PROGRESS'),
    };
    const membershipChanges = isPendingStatus(e.status) !== isPendingStatus(to);
    if (e.released && (membershipChanges || entersInProgress)) this.touchThing(tx, e.thingName);
    this.store.saveExecution(next);
    if (isTerminalStatus(to) && !isTerminalStatus(e.status)) {
      const event = this.events?.executionEnded(next, now);
      if (event !== undefined) tx.outbound.push(event);
      tx.touchedJobs.add(e.jobId);
      if (job !== undefined) this.maybeRetry(tx, job, next);
    }
    return next;
  }

  /** jobExecutionsRetryConfig: a FAILED / TIMED_OUT execution is queued again with executionNumber + 1. */
  private maybeRetry(tx: TxChanges, job: JobRecord, e: ExecutionRecord): void {
    const criteria = job.config.jobExecutionsRetryConfig?.criteriaList ?? [];
    if (job.status !== 'IN_PROGRESS') return;
    const criterion =
      criteria.find((c) => c.failureType === e.status) ??
      criteria.find((c) => retryCriterionMatches(c.failureType, e.status));
    if (criterion === undefined || !retryCriterionMatches(criterion.failureType, e.status)) return;
    const counted: JobExecutionStatus[] =
      criterion.failureType === 'ALL' ? ['FAILED', 'TIMED_OUT'] : [criterion.failureType];
    const failures = this.store.attemptsEndedIn(job.jobId, e.thingName, counted);
    if (failures > criterion.numberOfRetries) return;
    this.createExecution(tx, job.jobId, e.thingName, e.executionNumber + 1, true);
  }

  /** jobExecutionsRolloutConfig: releases as many unreleased executions as the job's rate allows now. */
  release(tx: TxChanges, jobId: string): void {
    let job = this.store.job(jobId);
    if (job === undefined || job.status !== 'IN_PROGRESS') return;
    const now = this.now();
    let r = job.rollout;
    if (now - r.windowStart >= MINUTE) r = { ...r, windowStart: now, windowCount: 0 };
    const allowance = r.rate === undefined ? Number.MAX_SAFE_INTEGER : Math.max(0, Math.floor(r.rate) - r.windowCount);
    const batch = allowance > 0 ? this.store.unreleased(jobId, Math.min(allowance, 100_000)) : [];
    for (const e of batch) {
      this.touchThing(tx, e.thingName);
      this.store.saveExecution({ ...e, released: true });
    }
    r = { ...r, windowCount: r.windowCount + batch.length };
    const exp = job.config.jobExecutionsRolloutConfig?.exponentialRate;
    if (exp !== undefined && r.rate !== undefined) {
      const notified = this.store.releasedCount(jobId);
      const succeeded = this.store.countsOfJob(jobId).SUCCEEDED ?? 0;
      const c = exp.rateIncreaseCriteria;
      const byNotified =
        c.numberOfNotifiedThings !== undefined && notified - r.baseNotified >= c.numberOfNotifiedThings;
      const bySucceeded =
        c.numberOfSucceededThings !== undefined && succeeded - r.baseSucceeded >= c.numberOfSucceededThings;
      if (byNotified || bySucceeded) {
        const cap = job.config.jobExecutionsRolloutConfig?.maximumPerMinute ?? 1000;
        const rate = Math.min(cap, r.rate * exp.incrementFactor);
        // The higher rate starts with the next one-minute window: what is left of this one stays as it was.
        const windowCount = r.windowCount + Math.floor(rate) - Math.floor(r.rate);
        r = { ...r, rate, windowCount, baseNotified: notified, baseSucceeded: succeeded };
      }
    }
    if (r !== job.rollout) {
      job = { ...job, rollout: r };
      this.store.saveJob(job);
    }
  }

  /** Cancels a job: QUEUED executions (released or not) are CANCELED; IN_PROGRESS ones only with force. */
  cancelJob(
    tx: TxChanges,
    job: JobRecord,
    opts: { force: boolean; reasonCode?: string | undefined; comment?: string | undefined },
  ): JobRecord {
    const status = jobTransition(job.status, 'cancel');
    if (status === undefined) return job;
    const now = this.now();
    const canceled: JobRecord = {
      ...job,
      status,
      forceCanceled: job.forceCanceled || opts.force,
      reasonCode: opts.reasonCode ?? job.reasonCode,
      comment: opts.comment ?? job.comment,
      lastUpdatedAt: now,
    };
    this.store.saveJob(canceled);
    const event = opts.force ? 'force-cancel' : 'cancel';
    for (const e of this.store.executionsOfJob(job.jobId)) this.changeStatus(tx, e, { event });
    this.jobEnded(tx, canceled, 'canceled');
    return canceled;
  }

  /** Abort criteria and completion for the jobs this transaction touched. */
  finishJobs(tx: TxChanges): void {
    for (const jobId of tx.touchedJobs) {
      const job = this.store.job(jobId);
      if (job === undefined || job.status !== 'IN_PROGRESS') continue;
      if (this.shouldAbort(job)) {
        this.logger.info({ jobId }, 'job abort criteria met: canceling the job');
        // abortConfig cancels QUEUED executions only; IN_PROGRESS ones run on.
        this.cancelJob(tx, job, {
          force: false,
          reasonCode: 'JOB_ABORTED',
          comment: 'Job aborted by abortConfig criteria',
        });
        continue;
      }
      this.completeIfDone(tx, job);
    }
    tx.touchedJobs.clear();
  }

  /**
   * abortConfig: once at least minNumberOfExecutedThings things were notified, the job is canceled when the
   * failures of the criterion's type reach thresholdPercentage of the notified things.
   * https://docs.aws.amazon.com/iot/latest/apireference/API_AbortCriteria.html
   */
  private shouldAbort(job: JobRecord): boolean {
    const criteria = job.config.abortConfig?.criteriaList ?? [];
    if (criteria.length === 0) return false;
    const notified = this.store.releasedCount(job.jobId);
    if (notified === 0) return false;
    const counts = this.store.countsOfJob(job.jobId);
    return criteria.some((c) => {
      if (notified < c.minNumberOfExecutedThings) return false;
      const failures = (['FAILED', 'REJECTED', 'TIMED_OUT'] as const)
        .filter((s) => abortCriterionMatches(c.failureType, s))
        .reduce((n, s) => n + (counts[s] ?? 0), 0);
      return (failures * 100) / notified >= c.thresholdPercentage;
    });
  }

  /** A SNAPSHOT job is COMPLETED once none of its executions is pending; a CONTINUOUS one only after its endTime. */
  completeIfDone(tx: TxChanges, job: JobRecord): void {
    const status = jobTransition(job.status, 'complete');
    // A CONTINUOUS job completes only after its schedule's endTime ("all job executions reach a terminal status").
    if ((job.targetSelection !== 'SNAPSHOT' && !job.scheduleEnded) || status === undefined) return;
    const counts = this.store.countsOfJob(job.jobId);
    if ((counts.QUEUED ?? 0) + (counts.IN_PROGRESS ?? 0) > 0) return;
    const now = this.now();
    const completed: JobRecord = { ...job, status, completedAt: now, lastUpdatedAt: now };
    this.store.saveJob(completed);
    this.jobEnded(tx, completed, 'completed');
  }

  /** notify / notify-next for every thing whose pending list or next execution changed. */
  collectNotifications(tx: TxChanges): void {
    const now = this.now();
    for (const [thingName, before] of tx.dirtyThings) {
      const pending = this.store.pendingForThing(thingName);
      const list = pending.map(keyOf).join(',');
      const next = pending[0];
      if (list !== before.list) tx.outbound.push(notifyMessage(thingName, pending, now));
      if (keyOf(next) !== before.next)
        tx.outbound.push(notifyNextMessage(thingName, next, next && this.documentFor(next.jobId), now));
    }
    tx.dirtyThings.clear();
  }

  /** Everything a transaction must do before it commits. */
  settle(tx: TxChanges): void {
    this.finishJobs(tx);
    this.collectNotifications(tx);
  }
}
