import { Type } from '@sinclair/typebox';
import {
  JOB_EXECUTION_STATUSES,
  JOB_ID,
  JOB_NAMESPACE_ID,
  JOB_STATUSES,
  JOB_TEMPLATE_ID,
  STATUS_DETAILS_KEY,
} from '@otafleet/protocol';
import { SchedulingConfigSchema, UpdatableJobConfigMembers } from '../../jobs/job-config-schema.js';
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
export const ThingNameOnlyParams = Type.Object({ thingName: ResourceName });
const NamespaceId = Type.String({
  minLength: JOB_NAMESPACE_ID.minLength,
  maxLength: JOB_NAMESPACE_ID.maxLength,
  pattern: JOB_NAMESPACE_ID.charsPattern,
});

export const CreateJobBody = Type.Object(
  {
    targets: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1 }),
    documentSource: Type.Optional(Type.String({ minLength: 1, maxLength: 1350 })),
    document: Type.Optional(Type.String({ maxLength: 32768 })),
    description: Type.Optional(Type.String({ maxLength: 2028 })),
    targetSelection: Type.Optional(literals('CONTINUOUS', 'SNAPSHOT')),
    ...UpdatableJobConfigMembers,
    tags: Type.Optional(Type.Array(Tag, { maxItems: 50 })),
    namespaceId: Type.Optional(NamespaceId),
    jobTemplateArn: Type.Optional(Type.String({ minLength: 1, maxLength: 1600 })),
    documentParameters: Type.Optional(Type.Record(Type.String(), Type.String())),
    schedulingConfig: Type.Optional(SchedulingConfigSchema),
    destinationPackageVersions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1600 }))),
  },
  strict,
);

export const UpdateJobBody = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 2028 })),
    ...UpdatableJobConfigMembers,
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

export const AssociateTargetsWithJobBody = Type.Object(
  {
    targets: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1 }),
    comment: Type.Optional(Type.String({ maxLength: 2028 })),
  },
  strict,
);

export const ListJobExecutionsForThingQuery = Type.Object({
  status: Type.Optional(JobExecutionStatus),
  namespaceId: Type.Optional(NamespaceId),
  maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  nextToken: Type.Optional(NextToken),
  jobId: Type.Optional(JobId),
});

const JobTemplateId = Type.String({
  minLength: JOB_TEMPLATE_ID.minLength,
  maxLength: JOB_TEMPLATE_ID.maxLength,
  pattern: JOB_TEMPLATE_ID.charsPattern,
});
export const JobTemplateParams = Type.Object({ jobTemplateId: JobTemplateId });

export const CreateJobTemplateBody = Type.Object(
  {
    jobArn: Type.Optional(Type.String({ minLength: 1, maxLength: 1600 })),
    documentSource: Type.Optional(Type.String({ minLength: 1, maxLength: 1350 })),
    document: Type.Optional(Type.String({ maxLength: 32768 })),
    description: Type.String({ maxLength: 2028 }),
    ...UpdatableJobConfigMembers,
    tags: Type.Optional(Type.Array(Tag, { maxItems: 50 })),
    maintenanceWindows: SchedulingConfigSchema.properties.maintenanceWindows,
    destinationPackageVersions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1600 }))),
  },
  strict,
);

export const ListJobTemplatesQuery = Type.Object({
  maxResults: Type.Optional(MaxResults),
  nextToken: Type.Optional(NextToken),
});

/** UpdateEventConfigurations; the event type names are checked by the service. */
export const UpdateEventConfigurationsBody = Type.Object(
  {
    eventConfigurations: Type.Optional(
      Type.Record(Type.String(), Type.Object({ Enabled: Type.Optional(Type.Boolean()) }, strict)),
    ),
  },
  strict,
);
