import { Type, type Static } from '@sinclair/typebox';
import { JOB_EXECUTION_STATUSES, DEVICE_REQUESTABLE_STATUSES } from './states.js';
import { MAX_CLIENT_TOKEN_BYTES, STATUS_DETAILS_KEY } from '../identifiers.js';

/**
 * Jobs device MQTT payloads. Timestamps are epoch seconds.
 * https://docs.aws.amazon.com/iot/latest/developerguide/jobs-mqtt-api.html
 * https://docs.aws.amazon.com/iot/latest/developerguide/jobs-data-plane-data-types.html
 * Requests allow unknown members: AWS's own SDK clients serialise the whole request object, thingName
 * and jobId included.
 */
export const MAX_STATUS_DETAILS = 10;
export const MAX_STATUS_DETAIL_VALUE_LENGTH = 1024;
export const MAX_CLIENT_TOKEN_LENGTH = MAX_CLIENT_TOKEN_BYTES;
/** stepTimeoutInMinutes: 1 to 10080 (7 days); -1 on UpdateJobExecution cancels the step timer. */
export const MAX_STEP_TIMEOUT_MINUTES = 10080;

const StatusSchema = Type.Union(JOB_EXECUTION_STATUSES.map((s) => Type.Literal(s)));

/** Keys per STATUS_DETAILS_KEY, values 1–1024 characters without control characters. */
export const StatusDetailsSchema = Type.Record(
  Type.String({ pattern: STATUS_DETAILS_KEY.pattern }),
  Type.String({ minLength: 1, maxLength: MAX_STATUS_DETAIL_VALUE_LENGTH, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
  { maxProperties: MAX_STATUS_DETAILS, additionalProperties: false },
);
export type StatusDetails = Static<typeof StatusDetailsSchema>;

const ClientToken = Type.String({ minLength: 1, maxLength: MAX_CLIENT_TOKEN_LENGTH });
const StepTimeout = Type.Integer({ minimum: 1, maximum: MAX_STEP_TIMEOUT_MINUTES });
const Version = Type.Integer({ minimum: 0 });
const Timestamp = Type.Integer();
/** The job document as the device sees it: the JSON document given to CreateJob. */
const JobDocument = Type.Record(Type.String(), Type.Unknown());

// ---- requests ----

export const GetPendingJobExecutionsRequestSchema = Type.Object({ clientToken: Type.Optional(ClientToken) });
export type GetPendingJobExecutionsRequest = Static<typeof GetPendingJobExecutionsRequestSchema>;

export const StartNextPendingJobExecutionRequestSchema = Type.Object({
  statusDetails: Type.Optional(StatusDetailsSchema),
  stepTimeoutInMinutes: Type.Optional(StepTimeout),
  clientToken: Type.Optional(ClientToken),
});
export type StartNextPendingJobExecutionRequest = Static<typeof StartNextPendingJobExecutionRequestSchema>;

export const DescribeJobExecutionRequestSchema = Type.Object({
  executionNumber: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Defaults to true. */
  includeJobDocument: Type.Optional(Type.Boolean()),
  clientToken: Type.Optional(ClientToken),
});
export type MqttDescribeJobExecutionRequest = Static<typeof DescribeJobExecutionRequestSchema>;

export const UpdateJobExecutionRequestSchema = Type.Object({
  status: Type.Union(DEVICE_REQUESTABLE_STATUSES.map((s) => Type.Literal(s))),
  statusDetails: Type.Optional(StatusDetailsSchema),
  expectedVersion: Type.Optional(Version),
  executionNumber: Type.Optional(Type.Integer({ minimum: 1 })),
  includeJobExecutionState: Type.Optional(Type.Boolean()),
  includeJobDocument: Type.Optional(Type.Boolean()),
  stepTimeoutInMinutes: Type.Optional(Type.Union([Type.Literal(-1), StepTimeout])),
  clientToken: Type.Optional(ClientToken),
});
export type UpdateJobExecutionRequest = Static<typeof UpdateJobExecutionRequestSchema>;

// ---- data types ----

export const JobExecutionStateSchema = Type.Object({
  status: StatusSchema,
  statusDetails: Type.Optional(StatusDetailsSchema),
  versionNumber: Version,
});
export type JobExecutionState = Static<typeof JobExecutionStateSchema>;

export const JobExecutionSummarySchema = Type.Object({
  jobId: Type.String(),
  queuedAt: Timestamp,
  startedAt: Type.Optional(Timestamp),
  lastUpdatedAt: Timestamp,
  versionNumber: Version,
  executionNumber: Type.Integer({ minimum: 1 }),
});
export type MqttJobExecutionSummary = Static<typeof JobExecutionSummarySchema>;

export const JobExecutionSchema = Type.Object({
  jobId: Type.String(),
  thingName: Type.String(),
  jobDocument: Type.Optional(JobDocument),
  status: StatusSchema,
  statusDetails: Type.Optional(StatusDetailsSchema),
  queuedAt: Timestamp,
  startedAt: Type.Optional(Timestamp),
  lastUpdatedAt: Timestamp,
  versionNumber: Version,
  executionNumber: Type.Integer({ minimum: 1 }),
  approximateSecondsBeforeTimedOut: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type MqttJobExecution = Static<typeof JobExecutionSchema>;

// ---- responses and notifications ----

export const GetPendingJobExecutionsResponseSchema = Type.Object({
  inProgressJobs: Type.Array(JobExecutionSummarySchema),
  queuedJobs: Type.Array(JobExecutionSummarySchema),
  timestamp: Timestamp,
  clientToken: Type.Optional(Type.String()),
});
export type GetPendingJobExecutionsResponse = Static<typeof GetPendingJobExecutionsResponseSchema>;

/** Also the DescribeJobExecution response (`execution` absent for `$next` with nothing pending). */
export const StartNextPendingJobExecutionResponseSchema = Type.Object({
  execution: Type.Optional(JobExecutionSchema),
  timestamp: Timestamp,
  clientToken: Type.Optional(Type.String()),
});
export type StartNextPendingJobExecutionResponse = Static<typeof StartNextPendingJobExecutionResponseSchema>;
export const DescribeJobExecutionResponseSchema = StartNextPendingJobExecutionResponseSchema;
export type MqttDescribeJobExecutionResponse = StartNextPendingJobExecutionResponse;

export const UpdateJobExecutionResponseSchema = Type.Object({
  executionState: Type.Optional(JobExecutionStateSchema),
  jobDocument: Type.Optional(JobDocument),
  timestamp: Timestamp,
  clientToken: Type.Optional(Type.String()),
});
export type UpdateJobExecutionResponse = Static<typeof UpdateJobExecutionResponseSchema>;

/** `jobs` is `{}` when nothing is pending. */
export const JobExecutionsChangedEventSchema = Type.Object({
  timestamp: Timestamp,
  jobs: Type.Object({
    IN_PROGRESS: Type.Optional(Type.Array(JobExecutionSummarySchema)),
    QUEUED: Type.Optional(Type.Array(JobExecutionSummarySchema)),
  }),
});
export type JobExecutionsChangedEvent = Static<typeof JobExecutionsChangedEventSchema>;

/** notify-next: no `execution` once nothing is pending. */
export const NextJobExecutionChangedEventSchema = Type.Object({
  timestamp: Timestamp,
  execution: Type.Optional(JobExecutionSchema),
});
export type NextJobExecutionChangedEvent = Static<typeof NextJobExecutionChangedEventSchema>;
