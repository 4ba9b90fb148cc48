import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  compileValidator,
  describeIssues,
  JOB_EXECUTION_STATUSES,
  JOB_STATUSES,
  JOB_ID,
  StatusDetailsSchema,
  THING_NAME,
} from '@otafleet/protocol';
import { AwsServiceError } from '../aws-error.js';

/**
 * Runtime shapes of the control-plane requests (the HTTP layer hands over parsed JSON, so nothing is
 * trusted). Limits from https://docs.aws.amazon.com/iot/latest/apireference/API_CreateJob.html
 */
const JobId = Type.String({ pattern: JOB_ID.pattern });
const ThingName = Type.String({ pattern: THING_NAME.pattern });

export const RolloutConfigSchema = Type.Object({
  maximumPerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  exponentialRate: Type.Optional(
    Type.Object({
      baseRatePerMinute: Type.Integer({ minimum: 1, maximum: 1000 }),
      incrementFactor: Type.Number({ minimum: 1.1, maximum: 5 }),
      rateIncreaseCriteria: Type.Object({
        numberOfNotifiedThings: Type.Optional(Type.Integer({ minimum: 1 })),
        numberOfSucceededThings: Type.Optional(Type.Integer({ minimum: 1 })),
      }),
    }),
  ),
});

export const AbortConfigSchema = Type.Object({
  criteriaList: Type.Array(
    Type.Object({
      failureType: Type.Union([
        Type.Literal('FAILED'),
        Type.Literal('REJECTED'),
        Type.Literal('TIMED_OUT'),
        Type.Literal('ALL'),
      ]),
      action: Type.Literal('CANCEL'),
      thresholdPercentage: Type.Number({ minimum: 0, maximum: 100 }),
      minNumberOfExecutedThings: Type.Integer({ minimum: 1 }),
    }),
    { minItems: 1 },
  ),
});

export const TimeoutConfigSchema = Type.Object({
  inProgressTimeoutInMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10080 })),
});

export const RetryConfigSchema = Type.Object({
  criteriaList: Type.Array(
    Type.Object({
      failureType: Type.Union([Type.Literal('FAILED'), Type.Literal('TIMED_OUT'), Type.Literal('ALL')]),
      numberOfRetries: Type.Integer({ minimum: 0, maximum: 10 }),
    }),
    { minItems: 1, maxItems: 2 },
  ),
});

export const PresignedUrlConfigSchema = Type.Object({
  roleArn: Type.Optional(Type.String({ minLength: 20, maxLength: 2048 })),
  expiresInSec: Type.Optional(Type.Integer({ minimum: 60, maximum: 3600 })),
});

const Description = Type.String({ maxLength: 2028 });

export const CreateJobSchema = Type.Object({
  jobId: JobId,
  targets: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  document: Type.Optional(Type.String({ minLength: 1, maxLength: 32768 })),
  documentSource: Type.Optional(Type.String()),
  description: Type.Optional(Description),
  presignedUrlConfig: Type.Optional(PresignedUrlConfigSchema),
  targetSelection: Type.Optional(Type.Union([Type.Literal('SNAPSHOT'), Type.Literal('CONTINUOUS')])),
  jobExecutionsRolloutConfig: Type.Optional(RolloutConfigSchema),
  abortConfig: Type.Optional(AbortConfigSchema),
  timeoutConfig: Type.Optional(TimeoutConfigSchema),
  jobExecutionsRetryConfig: Type.Optional(RetryConfigSchema),
});
export type CreateJobInput = Static<typeof CreateJobSchema>;

export const UpdateJobSchema = Type.Object({
  jobId: JobId,
  description: Type.Optional(Description),
  presignedUrlConfig: Type.Optional(PresignedUrlConfigSchema),
  jobExecutionsRolloutConfig: Type.Optional(RolloutConfigSchema),
  abortConfig: Type.Optional(AbortConfigSchema),
  timeoutConfig: Type.Optional(TimeoutConfigSchema),
  jobExecutionsRetryConfig: Type.Optional(RetryConfigSchema),
});

export const CancelJobSchema = Type.Object({
  jobId: JobId,
  reasonCode: Type.Optional(Type.String({ maxLength: 128 })),
  comment: Type.Optional(Type.String({ maxLength: 2028 })),
  force: Type.Optional(Type.Boolean()),
});

export const DeleteJobSchema = Type.Object({ jobId: JobId, force: Type.Optional(Type.Boolean()) });
export const JobIdOnlySchema = Type.Object({ jobId: JobId });

export const CancelJobExecutionSchema = Type.Object({
  jobId: JobId,
  thingName: ThingName,
  force: Type.Optional(Type.Boolean()),
  expectedVersion: Type.Optional(Type.Integer({ minimum: 0 })),
  statusDetails: Type.Optional(StatusDetailsSchema),
});

export const DescribeJobExecutionSchema = Type.Object({
  jobId: JobId,
  thingName: ThingName,
  executionNumber: Type.Optional(Type.Integer({ minimum: 0 })),
});

const MaxResults = Type.Integer({ minimum: 1, maximum: 250 });
export const ListJobsSchema = Type.Object({
  status: Type.Optional(Type.Union(JOB_STATUSES.map((s) => Type.Literal(s)))),
  targetSelection: Type.Optional(Type.Union([Type.Literal('SNAPSHOT'), Type.Literal('CONTINUOUS')])),
  maxResults: Type.Optional(MaxResults),
  nextToken: Type.Optional(Type.String()),
  thingGroupName: Type.Optional(Type.String()),
});

export const ListJobExecutionsForJobSchema = Type.Object({
  jobId: JobId,
  status: Type.Optional(Type.Union(JOB_EXECUTION_STATUSES.map((s) => Type.Literal(s)))),
  maxResults: Type.Optional(MaxResults),
  nextToken: Type.Optional(Type.String()),
});

/** Drops members the SDK sets to undefined, so optional members validate as absent. */
function defined(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

/** Validates a control-plane request or throws InvalidRequestException naming what is wrong. */
export function validated<S extends TSchema>(schema: S): (input: unknown) => Static<S> {
  const validator = compileValidator(schema);
  return (input) => {
    const value = defined(input);
    const r = validator.validate(value);
    if (!r.ok) throw new AwsServiceError('InvalidRequestException', 400, describeIssues(r.error));
    return r.value;
  };
}
