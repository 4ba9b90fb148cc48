import { Type } from '@sinclair/typebox';
import { JOB_EXECUTION_STATUSES, JOB_ID, JOB_NAMESPACE_ID, JOB_STATUSES, STATUS_DETAILS_KEY } from '@otafleet/protocol';
import { MaxResults, NextToken, ResourceName, Tag } from './common-schemas.js';

/*
 * Request shapes and limits of the Jobs control-plane operations, from the AWS IoT API reference
 * (https://docs.aws.amazon.com/iot/latest/apireference/API_CreateJob.html and the pages it links).
 */
const strict = { additionalProperties: false } as const;
const literals = <T extends string>(...values: T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const JobId = Type.String({
  minLength: JOB_ID.minLength,
  maxLength: JOB_ID.maxLength,
  pattern: JOB_ID.charsPattern,
});
export const JobIdParams = Type.Object({ jobId: JobId });
export const JobExecutionParams = Type.Object({ thingName: ResourceName, jobId: JobId });
const NamespaceId = Type.String({
  minLength: JOB_NAMESPACE_ID.minLength,
  maxLength: JOB_NAMESPACE_ID.maxLength,
  pattern: JOB_NAMESPACE_ID.charsPattern,
});

const PresignedUrlConfig = Type.Object(
  {
    roleArn: Type.Optional(Type.String({ minLength: 20, maxLength: 2048 })),
    expiresInSec: Type.Optional(Type.Integer({ minimum: 60, maximum: 3600 })),
  },
  strict,
);

const RateIncreaseCriteria = Type.Object(
  {
    numberOfNotifiedThings: Type.Optional(Type.Integer({ minimum: 1 })),
    numberOfSucceededThings: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  strict,
);

const JobExecutionsRolloutConfig = Type.Object(
  {
    maximumPerMinute: Type.Optional(Type.Integer({ minimum: 1 })),
    exponentialRate: Type.Optional(
      Type.Object(
        {
          baseRatePerMinute: Type.Integer({ minimum: 1, maximum: 1000 }),
          incrementFactor: Type.Number({ minimum: 1.1, maximum: 5 }),
          rateIncreaseCriteria: RateIncreaseCriteria,
        },
        strict,
      ),
    ),
  },
  strict,
);

const AbortConfig = Type.Object(
  {
    criteriaList: Type.Array(
      Type.Object(
        {
          failureType: literals('FAILED', 'REJECTED', 'TIMED_OUT', 'ALL'),
          action: literals('CANCEL'),
          thresholdPercentage: Type.Number({ minimum: 0, maximum: 100 }),
          minNumberOfExecutedThings: Type.Integer({ minimum: 1 }),
        },
        strict,
      ),
      { minItems: 1 },
    ),
  },
  strict,
);

const TimeoutConfig = Type.Object(
  { inProgressTimeoutInMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10080 })) },
  strict,
);

const JobExecutionsRetryConfig = Type.Object(
  {
    criteriaList: Type.Array(
      Type.Object(
        {
          failureType: literals('FAILED', 'TIMED_OUT', 'ALL'),
          numberOfRetries: Type.Integer({ minimum: 0, maximum: 10 }),
        },
        strict,
      ),
      { minItems: 1, maxItems: 2 },
    ),
  },
  strict,
);

const SchedulingConfig = Type.Object(
  {
    startTime: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    endTime: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    endBehavior: Type.Optional(literals('STOP_ROLLOUT', 'CANCEL', 'FORCE_CANCEL')),
    maintenanceWindows: Type.Optional(
      Type.Array(
        Type.Object(
          {
            startTime: Type.String({ minLength: 1, maxLength: 256 }),
            durationInMinutes: Type.Integer({ minimum: 1, maximum: 1430 }),
          },
          strict,
        ),
      ),
    ),
  },
  strict,
);

export const CreateJobBody = Type.Object(
  {
    targets: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1 }),
    documentSource: Type.Optional(Type.String({ minLength: 1, maxLength: 1350 })),
    document: Type.Optional(Type.String({ maxLength: 32768 })),
    description: Type.Optional(Type.String({ maxLength: 2028 })),
    presignedUrlConfig: Type.Optional(PresignedUrlConfig),
    targetSelection: Type.Optional(literals('CONTINUOUS', 'SNAPSHOT')),
    jobExecutionsRolloutConfig: Type.Optional(JobExecutionsRolloutConfig),
    abortConfig: Type.Optional(AbortConfig),
    timeoutConfig: Type.Optional(TimeoutConfig),
    tags: Type.Optional(Type.Array(Tag, { maxItems: 50 })),
    namespaceId: Type.Optional(NamespaceId),
    jobTemplateArn: Type.Optional(Type.String({ minLength: 1, maxLength: 1600 })),
    jobExecutionsRetryConfig: Type.Optional(JobExecutionsRetryConfig),
    documentParameters: Type.Optional(Type.Record(Type.String(), Type.String())),
    schedulingConfig: Type.Optional(SchedulingConfig),
    destinationPackageVersions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1600 }))),
  },
  strict,
);

export const UpdateJobBody = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 2028 })),
    presignedUrlConfig: Type.Optional(PresignedUrlConfig),
    jobExecutionsRolloutConfig: Type.Optional(JobExecutionsRolloutConfig),
    abortConfig: Type.Optional(AbortConfig),
    timeoutConfig: Type.Optional(TimeoutConfig),
    jobExecutionsRetryConfig: Type.Optional(JobExecutionsRetryConfig),
  },
  strict,
);

export const NamespaceQuery = Type.Object({ namespaceId: Type.Optional(NamespaceId) });
export const DescribeJobQuery = Type.Object({ beforeSubstitution: Type.Optional(Type.Boolean()) });
export const ForceQuery = Type.Object({ force: Type.Optional(Type.Boolean()) });
export const DeleteJobQuery = Type.Object({
  force: Type.Optional(Type.Boolean()),
  namespaceId: Type.Optional(NamespaceId),
});

export const CancelJobBody = Type.Object(
  {
    reasonCode: Type.Optional(Type.String({ maxLength: 128, pattern: '^[A-Z0-9_]+$' })),
    comment: Type.Optional(Type.String({ maxLength: 2028 })),
  },
  strict,
);

export const ListJobsQuery = Type.Object({
  status: Type.Optional(literals(...JOB_STATUSES)),
  targetSelection: Type.Optional(literals('CONTINUOUS', 'SNAPSHOT')),
  maxResults: Type.Optional(MaxResults),
  nextToken: Type.Optional(NextToken),
  thingGroupName: Type.Optional(ResourceName),
  thingGroupId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  namespaceId: Type.Optional(NamespaceId),
});

export const JobExecutionStatus = literals(...JOB_EXECUTION_STATUSES);

export const ListJobExecutionsForJobQuery = Type.Object({
  status: Type.Optional(JobExecutionStatus),
  maxResults: Type.Optional(MaxResults),
  nextToken: Type.Optional(NextToken),
});

export const DescribeJobExecutionQuery = Type.Object({ executionNumber: Type.Optional(Type.Integer({ minimum: 0 })) });

export const CancelJobExecutionBody = Type.Object(
  {
    expectedVersion: Type.Optional(Type.Integer({ minimum: 0 })),
    statusDetails: Type.Optional(
      Type.Record(
        Type.String({
          minLength: STATUS_DETAILS_KEY.minLength,
          maxLength: STATUS_DETAILS_KEY.maxLength,
          pattern: STATUS_DETAILS_KEY.charsPattern,
        }),
        Type.String({ minLength: 1, maxLength: 1024 }),
        {
          additionalProperties: false,
        },
      ),
    ),
  },
  strict,
);
