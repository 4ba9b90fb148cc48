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
