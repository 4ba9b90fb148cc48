import type { JobExecutionStatus, JobStatus } from './states.js';

/*
 * Jobs events on AWS IoT's reserved event topics, published when the account's event configuration enables
 * JOB or JOB_EXECUTION events. https://docs.aws.amazon.com/iot/latest/developerguide/events-jobs.html
 */

/** Job operations that end a job, each with its topic `$aws/events/job/{jobId}/{operation}`. */
export type JobEventOperation = 'completed' | 'canceled' | 'deleted';

/** The terminal execution statuses and their topic suffixes `$aws/events/jobExecution/{jobId}/{operation}`. */
export const JOB_EXECUTION_EVENT_OPERATIONS = {
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  REJECTED: 'rejected',
  CANCELED: 'canceled',
  TIMED_OUT: 'timed_out',
  REMOVED: 'removed',
} as const satisfies Partial<Record<JobExecutionStatus, string>>;
export type JobExecutionEventOperation =
  (typeof JOB_EXECUTION_EVENT_OPERATIONS)[keyof typeof JOB_EXECUTION_EVENT_OPERATIONS] | 'deleted';

export const jobEventTopic = (jobId: string, operation: JobEventOperation): string =>
  `$aws/events/job/${jobId}/${operation}`;
export const jobExecutionEventTopic = (jobId: string, operation: JobExecutionEventOperation): string =>
  `$aws/events/jobExecution/${jobId}/${operation}`;

/** Counts in a completed / canceled job event (JobProcessDetails' terminal members). */
export interface JobEventProcessDetails {
  readonly numberOfCanceledThings: number;
  readonly numberOfRejectedThings: number;
  readonly numberOfFailedThings: number;
  readonly numberOfRemovedThings: number;
  readonly numberOfSucceededThings: number;
  readonly numberOfTimedOutThings: number;
}

export interface JobEventPayload {
  readonly eventType: 'JOB';
  readonly eventId: string;
  /** Epoch seconds; createdAt, lastUpdatedAt and completedAt are epoch milliseconds, as in AWS's example. */
  readonly timestamp: number;
  readonly operation: JobEventOperation;
  readonly jobId: string;
  readonly status: JobStatus;
  readonly targetSelection: 'SNAPSHOT' | 'CONTINUOUS';
  readonly targets: readonly string[];
  readonly description?: string;
  readonly comment?: string;
  readonly reasonCode?: string;
  readonly createdAt: number;
  readonly lastUpdatedAt: number;
  readonly completedAt?: number;
  readonly jobProcessDetails?: JobEventProcessDetails;
}

export interface JobExecutionEventPayload {
  readonly eventType: 'JOB_EXECUTION';
  readonly eventId: string;
  readonly timestamp: number;
  readonly operation: JobExecutionEventOperation;
  readonly jobId: string;
  readonly thingArn: string;
  readonly status: JobExecutionStatus;
  readonly statusDetails?: Readonly<Record<string, string>>;
}

/** The event types UpdateEventConfigurations switches (all off until enabled). */
export const EVENT_TYPES = [
  'THING',
  'THING_GROUP',
  'THING_TYPE',
  'THING_GROUP_MEMBERSHIP',
  'THING_GROUP_HIERARCHY',
  'THING_TYPE_ASSOCIATION',
  'JOB',
  'JOB_EXECUTION',
  'POLICY',
  'CERTIFICATE',
  'CA_CERTIFICATE',
] as const;
export type IotEventType = (typeof EVENT_TYPES)[number];
