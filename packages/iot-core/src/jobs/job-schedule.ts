import type { DescribeJobResponse, JobEndBehavior } from '@aws-sdk/client-iot';
import { jobTransition, type JobEvent, type JobStatus } from '@otafleet/protocol';
import { AwsServiceError } from '../aws-error.js';
import type { JobsEngine, TxChanges } from './engine.js';
import type { JobRecord } from './model.js';
import {
  endAction,
  schedulingPhase,
  upcomingRolloutStarts,
  validateSchedulingConfig,
  type SchedulingConfigInput,
  type SchedulingPhaseName,
  type ValidScheduling,
} from './scheduling/index.js';

/** CreateJob's schedulingConfig checked at `now`, or InvalidRequestException naming the member at fault. */
export function checkedScheduling(input: SchedulingConfigInput, now: number): ValidScheduling {
  const r = validateSchedulingConfig(input, now);
  if (!r.ok) throw new AwsServiceError('InvalidRequestException', 400, `${r.error.field}: ${r.error.message}`);
  return r.value;
}

const rebuilt = new WeakMap<SchedulingConfigInput, ValidScheduling>();

/**
 * A job's schedule, rebuilt from the config as stored and checked against the job's creation time (checking at
 * a later clock would refuse a startTime that has since passed).
 */
export function scheduleOf(job: JobRecord): ValidScheduling | undefined {
  const input = job.scheduling;
  if (input === undefined) return undefined;
  let valid = rebuilt.get(input);
  if (valid === undefined) {
    const r = validateSchedulingConfig(input, job.createdAt);
    if (!r.ok) return undefined;
    valid = r.value;
    rebuilt.set(input, valid);
  }
  return valid;
}

/** A scheduled job starts SCHEDULED unless rollout is allowed at once (no startTime and no windows). */
export const initialJobStatus = (schedule: ValidScheduling | undefined, now: number): JobStatus =>
  schedule === undefined || schedulingPhase(schedule, now).phase === 'in-window' ? 'IN_PROGRESS' : 'SCHEDULED';

/** DescribeJob's scheduledJobRollouts: the next seven rollout starts, in the format AWS takes them in. */
export const scheduledJobRollouts = (schedule: ValidScheduling, now: number): { startTime: string }[] =>
  upcomingRolloutStarts(schedule, now).map((ms) => ({ startTime: new Date(ms).toISOString().slice(0, 16) }));

/** DescribeJob's schedulingConfig (as given) and scheduledJobRollouts, for a scheduled job. */
export function scheduleMembers(
  job: JobRecord,
  now: number,
): Pick<NonNullable<DescribeJobResponse['job']>, 'schedulingConfig' | 'scheduledJobRollouts'> {
  const schedule = scheduleOf(job);
  if (job.scheduling === undefined || schedule === undefined) return {};
  const { startTime, endTime, endBehavior, maintenanceWindows } = job.scheduling;
  return {
    schedulingConfig: {
      ...(startTime !== undefined ? { startTime } : {}),
      ...(endTime !== undefined ? { endTime } : {}),
      ...(endBehavior !== undefined ? { endBehavior: endBehavior as JobEndBehavior } : {}),
      ...(maintenanceWindows !== undefined ? { maintenanceWindows: maintenanceWindows.map((w) => ({ ...w })) } : {}),
    },
    scheduledJobRollouts: scheduledJobRollouts(schedule, now),
  };
}

const PHASE_EVENT: Readonly<Record<Exclude<SchedulingPhaseName, 'ended'>, JobEvent>> = {
  'in-window': 'rollout-start',
  scheduled: 'rollout-pause',
  'outside-window': 'rollout-pause',
};

/**
 * Follows every scheduled job's phase on the injected clock: the job is IN_PROGRESS (and releases executions)
 * only while rollout is allowed, SCHEDULED otherwise, and at endTime its endBehavior is applied once. The
 * service calls `apply` from its tick; it looks at the jobs only when the earliest phase change is due.
 */
export class JobScheduler {
  /** The earliest instant a scheduled job's phase changes; 0 = look at every job on the next call. */
  private nextCheckAt = 0;

  constructor(private readonly engine: JobsEngine) {}

  /** A scheduled job was created, or the process restarted: look again at the next call. */
  wake(): void {
    this.nextCheckAt = 0;
  }

  apply(tx: TxChanges): void {
    const now = this.engine.now();
    if (now < this.nextCheckAt) return;
    let next = Number.POSITIVE_INFINITY;
    for (const job of this.engine.store.allJobs()) {
      if (job.scheduleEnded || (job.status !== 'SCHEDULED' && job.status !== 'IN_PROGRESS')) continue;
      const schedule = scheduleOf(job);
      if (schedule === undefined) continue;
      const phase = schedulingPhase(schedule, now);
      this.follow(tx, job, schedule, phase.phase);
      if (phase.nextChangeAt !== null) next = Math.min(next, phase.nextChangeAt);
    }
    this.nextCheckAt = next;
  }

  private follow(tx: TxChanges, job: JobRecord, schedule: ValidScheduling, phase: SchedulingPhaseName): void {
    const store = this.engine.store;
    const now = this.engine.now();
    if (phase === 'ended') {
      const behavior = endAction(schedule);
      if (behavior === 'STOP_ROLLOUT') {
        // What was never rolled out never will be (AWS creates executions only as it rolls them out).
        store.deleteUnreleased(job.jobId);
        const status = jobTransition(job.status, 'rollout-end') ?? job.status;
        store.saveJob({ ...job, status, scheduleEnded: true, lastUpdatedAt: now });
      } else {
        const canceled = this.engine.cancelJob(tx, job, { force: behavior === 'FORCE_CANCEL' });
        store.saveJob({ ...canceled, scheduleEnded: true });
      }
      tx.touchedJobs.add(job.jobId);
      return;
    }
    const status = jobTransition(job.status, PHASE_EVENT[phase]);
    if (status === undefined) return;
    store.saveJob({ ...job, status, lastUpdatedAt: now });
    if (status === 'IN_PROGRESS') {
      this.engine.release(tx, job.jobId);
      tx.touchedJobs.add(job.jobId);
    }
  }
}
