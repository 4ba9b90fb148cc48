import type { DeviceRequestableStatus, JobExecutionStatus, JobStatus } from './states.js';

/*
 * The job and job-execution lifecycles as two tables, `(status, event) → next status`: the one place that says
 * which actor may move what where. Everything that changes a status (the device API, the control plane, timers,
 * scheduling) asks these tables; an absent entry means the event is refused in that status.
 * https://docs.aws.amazon.com/iot/latest/developerguide/iot-jobs-lifecycle.html
 */

/** What happens to a job execution, and who does it. */
export const JOB_EXECUTION_EVENTS = [
  /** UpdateJobExecution / StartNextPendingJobExecution from the device, by the status it asks for. */
  'device-in-progress',
  'device-succeeded',
  'device-failed',
  'device-rejected',
  /** inProgressTimeoutInMinutes or the step timer ran out (the timers run only while IN_PROGRESS). */
  'timeout',
  /** CancelJob / CancelJobExecution / abortConfig / endBehavior CANCEL: only QUEUED executions. */
  'cancel',
  /** CancelJob / CancelJobExecution with force, endBehavior FORCE_CANCEL: IN_PROGRESS too. */
  'force-cancel',
  /** The thing left the target (thing deleted, or removed from a CONTINUOUS job's group). */
  'remove',
  /** DeleteJobExecution / DeleteJob: only terminal executions… */
  'delete',
  /** …unless force is set. */
  'force-delete',
] as const;
export type JobExecutionEvent = (typeof JOB_EXECUTION_EVENTS)[number];

/** The outcome of a delete: the execution no longer exists. */
export const EXECUTION_DELETED = 'DELETED';
export type JobExecutionOutcome = JobExecutionStatus | typeof EXECUTION_DELETED;

type Row<S extends string, E extends string, N extends string> = Readonly<Record<S, Readonly<Partial<Record<E, N>>>>>;

const DEVICE_FINISHES = {
  'device-succeeded': 'SUCCEEDED',
  'device-failed': 'FAILED',
  'device-rejected': 'REJECTED',
} as const;

/** A terminal execution changes no more; it can only be deleted. */
const TERMINAL_ROW = { delete: EXECUTION_DELETED, 'force-delete': EXECUTION_DELETED } as const;

export const JOB_EXECUTION_TRANSITIONS: Row<JobExecutionStatus, JobExecutionEvent, JobExecutionOutcome> = {
  QUEUED: {
    'device-in-progress': 'IN_PROGRESS',
    ...DEVICE_FINISHES,
    cancel: 'CANCELED',
    'force-cancel': 'CANCELED',
    remove: 'REMOVED',
    'force-delete': EXECUTION_DELETED,
  },
  IN_PROGRESS: {
    // IN_PROGRESS again refreshes statusDetails and the step timer.
    'device-in-progress': 'IN_PROGRESS',
    ...DEVICE_FINISHES,
    timeout: 'TIMED_OUT',
    'force-cancel': 'CANCELED',
    remove: 'REMOVED',
    'force-delete': EXECUTION_DELETED,
  },
  SUCCEEDED: TERMINAL_ROW,
  FAILED: TERMINAL_ROW,
  TIMED_OUT: TERMINAL_ROW,
  REJECTED: TERMINAL_ROW,
  REMOVED: TERMINAL_ROW,
  CANCELED: TERMINAL_ROW,
};

/** The outcome of `event` on an execution in `from`, or undefined when the event is refused there. */
export const executionTransition = (
  from: JobExecutionStatus,
  event: JobExecutionEvent,
): JobExecutionOutcome | undefined => JOB_EXECUTION_TRANSITIONS[from][event];

/** The status `event` moves an execution to; undefined when refused (and for deletes, which leave no status). */
export function nextExecutionStatus(
  from: JobExecutionStatus,
  event: JobExecutionEvent,
): JobExecutionStatus | undefined {
  const next = executionTransition(from, event);
  return next === EXECUTION_DELETED ? undefined : next;
}

const DEVICE_EVENTS: Readonly<Record<DeviceRequestableStatus, JobExecutionEvent>> = {
  IN_PROGRESS: 'device-in-progress',
  SUCCEEDED: 'device-succeeded',
  FAILED: 'device-failed',
  REJECTED: 'device-rejected',
};

/** The event a device's UpdateJobExecution with `status` is. */
export const deviceExecutionEvent = (status: DeviceRequestableStatus): JobExecutionEvent => DEVICE_EVENTS[status];

/** What happens to a job, and who does it. */
export const JOB_EVENTS = [
  /** The schedule allows rollout: startTime or a maintenance window opened. */
  'rollout-start',
  /** A maintenance window closed: the job waits, SCHEDULED, for the next one. */
  'rollout-pause',
  /** endTime passed with endBehavior STOP_ROLLOUT: nothing more is rolled out; released executions run on. */
  'rollout-end',
  /** A SNAPSHOT job (or one past its endTime) has no pending execution left. */
  'complete',
  /** CancelJob (with or without force), abortConfig, endBehavior CANCEL / FORCE_CANCEL. */
  'cancel',
  /** DeleteJob: only a COMPLETED or CANCELED job… */
  'delete',
  /** …unless force is set. */
  'force-delete',
] as const;
export type JobEvent = (typeof JOB_EVENTS)[number];

export const JOB_TRANSITIONS: Row<JobStatus, JobEvent, JobStatus> = {
  SCHEDULED: {
    'rollout-start': 'IN_PROGRESS',
    'rollout-end': 'IN_PROGRESS',
    cancel: 'CANCELED',
    'force-delete': 'DELETION_IN_PROGRESS',
  },
  IN_PROGRESS: {
    'rollout-pause': 'SCHEDULED',
    'rollout-end': 'IN_PROGRESS',
    complete: 'COMPLETED',
    cancel: 'CANCELED',
    'force-delete': 'DELETION_IN_PROGRESS',
  },
  // A canceled job may be canceled again, with force, to cancel its IN_PROGRESS executions too.
  CANCELED: { cancel: 'CANCELED', delete: 'DELETION_IN_PROGRESS', 'force-delete': 'DELETION_IN_PROGRESS' },
  COMPLETED: { delete: 'DELETION_IN_PROGRESS', 'force-delete': 'DELETION_IN_PROGRESS' },
  DELETION_IN_PROGRESS: {},
};

/** The status `event` moves a job in `from` to, or undefined when the event is refused there. */
export const jobTransition = (from: JobStatus, event: JobEvent): JobStatus | undefined => JOB_TRANSITIONS[from][event];
