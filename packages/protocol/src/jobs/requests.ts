import type { TSchema, Static } from '@sinclair/typebox';
import { isPlainObject, parseJsonPayload } from '../json.js';
import { err, ok, type Result } from '../result.js';
import { compileValidator, describeIssues, type Validator } from '../schema.js';
import { jobsError, type JobsError } from './errors.js';
import {
  DescribeJobExecutionRequestSchema,
  GetPendingJobExecutionsRequestSchema,
  StartNextPendingJobExecutionRequestSchema,
  UpdateJobExecutionRequestSchema,
} from './payloads.js';
import type { JobsOperation } from './topics.js';

/** AWS IoT's MQTT message size limit. */
export const MAX_JOBS_REQUEST_BYTES = 128 * 1024;

export const getPendingJobExecutionsRequestValidator = compileValidator(GetPendingJobExecutionsRequestSchema);
export const startNextPendingJobExecutionRequestValidator = compileValidator(StartNextPendingJobExecutionRequestSchema);
export const describeJobExecutionRequestValidator = compileValidator(DescribeJobExecutionRequestSchema);
export const updateJobExecutionRequestValidator = compileValidator(UpdateJobExecutionRequestSchema);

/** A clientToken that can be echoed back even when the rest of the request is invalid. */
function echoableToken(value: unknown): string | undefined {
  if (!isPlainObject(value)) return undefined;
  const t = value['clientToken'];
  return typeof t === 'string' && t.length > 0 && t.length <= 64 ? t : undefined;
}

function parseWith<S extends TSchema>(
  validator: Validator<S>,
  payload: Uint8Array | string,
): Result<Static<S>, JobsError> {
  // An empty payload is read as `{}`: devices publish empty get / start-next requests.
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  const json = size === 0 ? ok<unknown>({}) : parseJsonPayload(payload, MAX_JOBS_REQUEST_BYTES);
  if (!json.ok) {
    if (json.error.kind === 'too-large')
      return err(
        jobsError('InvalidRequest', {
          message: `The payload exceeds the maximum size allowed (${json.error.size} > ${json.error.limit} bytes)`,
        }),
      );
    return err(jobsError('InvalidJson'));
  }
  const clientToken = echoableToken(json.value);
  if (!isPlainObject(json.value))
    return err(jobsError('InvalidRequest', { message: 'The request must be a JSON object', clientToken }));
  const checked = validator.validate(json.value);
  if (!checked.ok) return err(jobsError('InvalidRequest', { message: describeIssues(checked.error), clientToken }));
  return ok(checked.value);
}

export const parseGetPendingJobExecutionsRequest = (p: Uint8Array | string) =>
  parseWith(getPendingJobExecutionsRequestValidator, p);
export const parseStartNextPendingJobExecutionRequest = (p: Uint8Array | string) =>
  parseWith(startNextPendingJobExecutionRequestValidator, p);
export const parseDescribeJobExecutionRequest = (p: Uint8Array | string) =>
  parseWith(describeJobExecutionRequestValidator, p);
export const parseUpdateJobExecutionRequest = (p: Uint8Array | string) =>
  parseWith(updateJobExecutionRequestValidator, p);

/** A request read off the wire, tagged by operation. */
export type JobsRequest =
  | {
      readonly operation: 'GetPendingJobExecutions';
      readonly body: Static<typeof GetPendingJobExecutionsRequestSchema>;
    }
  | {
      readonly operation: 'StartNextPendingJobExecution';
      readonly body: Static<typeof StartNextPendingJobExecutionRequestSchema>;
    }
  | {
      readonly operation: 'DescribeJobExecution';
      readonly jobId: string;
      readonly body: Static<typeof DescribeJobExecutionRequestSchema>;
    }
  | {
      readonly operation: 'UpdateJobExecution';
      readonly jobId: string;
      readonly body: Static<typeof UpdateJobExecutionRequestSchema>;
    };

/** Validates the payload of the request a topic names. Never throws. */
export function parseJobsRequest(
  operation: JobsOperation,
  payload: Uint8Array | string,
): Result<JobsRequest, JobsError> {
  switch (operation.name) {
    case 'GetPendingJobExecutions': {
      const r = parseGetPendingJobExecutionsRequest(payload);
      return r.ok ? ok({ operation: operation.name, body: r.value }) : r;
    }
    case 'StartNextPendingJobExecution': {
      const r = parseStartNextPendingJobExecutionRequest(payload);
      return r.ok ? ok({ operation: operation.name, body: r.value }) : r;
    }
    case 'DescribeJobExecution': {
      const r = parseDescribeJobExecutionRequest(payload);
      return r.ok ? ok({ operation: operation.name, jobId: operation.jobId, body: r.value }) : r;
    }
    case 'UpdateJobExecution': {
      const r = parseUpdateJobExecutionRequest(payload);
      return r.ok ? ok({ operation: operation.name, jobId: operation.jobId, body: r.value }) : r;
    }
  }
}
