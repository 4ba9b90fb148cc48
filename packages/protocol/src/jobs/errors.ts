import { Type, type Static } from '@sinclair/typebox';
import { JobExecutionStateSchema, type JobExecutionState } from './payloads.js';

/**
 * Jobs MQTT error codes with the descriptions AWS documents for them, used as default messages.
 * https://docs.aws.amazon.com/iot/latest/developerguide/jobs-api.html#jobs-mqtt-error-response
 */
export const JOBS_ERROR_CODES = [
  'InvalidTopic',
  'InvalidJson',
  'InvalidRequest',
  'InvalidStateTransition',
  'ResourceNotFound',
  'VersionMismatch',
  'InternalError',
  'RequestThrottled',
  'TerminalStateReached',
] as const;
export type JobsErrorCode = (typeof JOBS_ERROR_CODES)[number];

export const JOBS_ERROR_MESSAGES: Readonly<Record<JobsErrorCode, string>> = {
  InvalidTopic: "The request was sent to a topic in the AWS IoT Jobs namespace that doesn't map to any API operation.",
  InvalidJson: "The contents of the request couldn't be interpreted as valid UTF-8-encoded JSON.",
  InvalidRequest: 'The contents of the request were not valid.',
  InvalidStateTransition:
    "An update attempted to change the job execution to a state that is invalid because of the job execution's current state.",
  ResourceNotFound: "The JobExecution specified by the request topic doesn't exist.",
  VersionMismatch:
    "The expected version specified in the request doesn't match the version of the job execution in the AWS IoT Jobs service.",
  InternalError: 'There was an internal error during the processing of the request.',
  RequestThrottled: 'The request was throttled.',
  TerminalStateReached: 'A command to describe a job was performed on a job that is in a terminal state.',
};

export const JobsErrorResponseSchema = Type.Object({
  code: Type.Union(JOBS_ERROR_CODES.map((c) => Type.Literal(c))),
  message: Type.String(),
  clientToken: Type.Optional(Type.String()),
  timestamp: Type.Integer(),
  executionState: Type.Optional(JobExecutionStateSchema),
});
export type JobsErrorResponse = Static<typeof JobsErrorResponseSchema>;

/** A rejection before it is stamped and sent. executionState only for InvalidStateTransition and VersionMismatch. */
export interface JobsError {
  readonly code: JobsErrorCode;
  readonly message: string;
  readonly clientToken?: string;
  readonly executionState?: JobExecutionState;
}

export const jobsError = (
  code: JobsErrorCode,
  extra: {
    readonly message?: string;
    readonly clientToken?: string | undefined;
    readonly executionState?: JobExecutionState;
  } = {},
): JobsError => ({
  code,
  message: extra.message ?? JOBS_ERROR_MESSAGES[code],
  ...(extra.clientToken !== undefined ? { clientToken: extra.clientToken } : {}),
  ...(extra.executionState !== undefined && (code === 'InvalidStateTransition' || code === 'VersionMismatch')
    ? { executionState: extra.executionState }
    : {}),
});

/** The /rejected payload. `timestamp` is epoch seconds like every Jobs timestamp. */
export const jobsErrorResponse = (error: JobsError, timestampSeconds: number): JobsErrorResponse => ({
  code: error.code,
  message: error.message,
  ...(error.clientToken !== undefined ? { clientToken: error.clientToken } : {}),
  timestamp: timestampSeconds,
  ...(error.executionState !== undefined ? { executionState: error.executionState } : {}),
});
