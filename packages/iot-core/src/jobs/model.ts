import type { JobExecutionStatus, JobStatus, StatusDetails } from '@otafleet/protocol';

export type { JobConfig } from './job-config-schema.js';
import type { JobConfig } from './job-config-schema.js';
import type { SchedulingConfigInput } from './scheduling/index.js';

export type TargetSelection = 'SNAPSHOT' | 'CONTINUOUS';

export interface JobRecord {
  readonly seq: number;
  readonly jobId: string;
  readonly status: JobStatus;
  readonly targetSelection: TargetSelection;
  readonly targets: readonly string[];
  /** The document text as given to CreateJob, and parsed (it is a JSON object). */
  readonly documentText: string;
  readonly document: Readonly<Record<string, unknown>>;
  readonly description: string | undefined;
  readonly config: JobConfig;
  readonly forceCanceled: boolean;
  readonly reasonCode: string | undefined;
  readonly comment: string | undefined;
  readonly createdAt: number;
  readonly lastUpdatedAt: number;
  readonly completedAt: number | undefined;
  /** CreateJob's schedulingConfig as given; validated again against createdAt when needed. */
  readonly scheduling: SchedulingConfigInput | undefined;
  /** Whether the schedule's endTime has passed and its endBehavior was applied (once). */
  readonly scheduleEnded: boolean;
  readonly rollout: RolloutState;
}

/** How far a job's rollout has got: the current rate and the one-minute window being filled. */
export interface RolloutState {
  /** Executions per minute now; undefined = release everything at once. */
  readonly rate: number | undefined;
  readonly windowStart: number;
  readonly windowCount: number;
  /** Notified / succeeded counts when the exponential rate last increased. */
  readonly baseNotified: number;
  readonly baseSucceeded: number;
}

export interface ExecutionRecord {
  readonly jobId: string;
  readonly thingName: string;
  readonly executionNumber: number;
  readonly status: JobExecutionStatus;
  readonly statusDetails: StatusDetails | undefined;
  readonly versionNumber: number;
  readonly queuedAt: number;
  readonly startedAt: number | undefined;
  readonly lastUpdatedAt: number;
  /** Whether the rollout has released it to the device (it is then "notified"). */
  readonly released: boolean;
  readonly stepDeadline: number | undefined;
  readonly inProgressDeadline: number | undefined;
  readonly forceCanceled: boolean;
}

export const timeoutAt = (e: Pick<ExecutionRecord, 'stepDeadline' | 'inProgressDeadline'>): number | undefined => {
  if (e.stepDeadline === undefined) return e.inProgressDeadline;
  if (e.inProgressDeadline === undefined) return e.stepDeadline;
  return Math.min(e.stepDeadline, e.inProgressDeadline);
};
