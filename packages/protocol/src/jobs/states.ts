/**
 * Job and job-execution lifecycles.
 * https://docs.aws.amazon.com/iot/latest/developerguide/iot-jobs-lifecycle.html
 */
export const JOB_EXECUTION_STATUSES = [
  'QUEUED',
  'IN_PROGRESS',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'REJECTED',
  'REMOVED',
  'CANCELED',
] as const;
export type JobExecutionStatus = (typeof JOB_EXECUTION_STATUSES)[number];

export const JOB_STATUSES = ['IN_PROGRESS', 'CANCELED', 'COMPLETED', 'DELETION_IN_PROGRESS', 'SCHEDULED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** What a device may ask for in UpdateJobExecution. */
export const DEVICE_REQUESTABLE_STATUSES = ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED'] as const;
export type DeviceRequestableStatus = (typeof DEVICE_REQUESTABLE_STATUSES)[number];

const TERMINAL: ReadonlySet<JobExecutionStatus> = new Set([
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'REJECTED',
  'REMOVED',
  'CANCELED',
]);

export const isTerminalStatus = (status: JobExecutionStatus): boolean => TERMINAL.has(status);
/** QUEUED and IN_PROGRESS executions are "pending": they appear in GetPendingJobExecutions and notify. */
export const isPendingStatus = (status: JobExecutionStatus): boolean => !TERMINAL.has(status);

/** Failure types of jobExecutionsRetryConfig: only FAILED and TIMED_OUT executions are retried. */
export type RetryableFailureType = 'FAILED' | 'TIMED_OUT' | 'ALL';
export const isRetryableStatus = (status: JobExecutionStatus): status is 'FAILED' | 'TIMED_OUT' =>
  status === 'FAILED' || status === 'TIMED_OUT';
export const retryCriterionMatches = (failureType: RetryableFailureType, status: JobExecutionStatus): boolean =>
  isRetryableStatus(status) && (failureType === 'ALL' || failureType === status);

/** Failure types of abortConfig. */
export type AbortFailureType = 'FAILED' | 'REJECTED' | 'TIMED_OUT' | 'ALL';
export const abortCriterionMatches = (failureType: AbortFailureType, status: JobExecutionStatus): boolean =>
  (status === 'FAILED' || status === 'REJECTED' || status === 'TIMED_OUT') &&
  (failureType === 'ALL' || failureType === status);

/**
 * May a device move an execution from `from` to `to` with UpdateJobExecution? A device works on
 * QUEUED or IN_PROGRESS executions and may set IN_PROGRESS (again, to refresh statusDetails), or
 * finish them as SUCCEEDED, FAILED or REJECTED; once terminal, nothing changes it any more.
 */
export function isDeviceTransitionAllowed(from: JobExecutionStatus, to: JobExecutionStatus): boolean {
  if (isTerminalStatus(from)) return false;
  return (DEVICE_REQUESTABLE_STATUSES as readonly string[]).includes(to);
}

/** What the Jobs service itself does to an execution. */
export type ServiceExecutionEvent =
  /** inProgressTimeoutInMinutes or the step timer ran out. */
  | 'timeout'
  /** CancelJob / CancelJobExecution / abort without force: only QUEUED executions. */
  | 'cancel'
  /** CancelJob / CancelJobExecution with force: IN_PROGRESS too. */
  | 'force-cancel'
  /** The thing left the target (thing deleted, or removed from a CONTINUOUS job's group). */
  | 'remove';

export const SERVICE_EXECUTION_EVENTS: readonly ServiceExecutionEvent[] = [
  'timeout',
  'cancel',
  'force-cancel',
  'remove',
];

/** The status an event moves an execution to, or undefined when it does not apply in that state. */
export function serviceTransition(
  from: JobExecutionStatus,
  event: ServiceExecutionEvent,
): JobExecutionStatus | undefined {
  switch (event) {
    case 'timeout':
      // The timers only run while IN_PROGRESS.
      return from === 'IN_PROGRESS' ? 'TIMED_OUT' : undefined;
    case 'cancel':
      return from === 'QUEUED' ? 'CANCELED' : undefined;
    case 'force-cancel':
      return from === 'QUEUED' || from === 'IN_PROGRESS' ? 'CANCELED' : undefined;
    case 'remove':
      return from === 'QUEUED' || from === 'IN_PROGRESS' ? 'REMOVED' : undefined;
  }
}
