import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  JOB_NAMESPACE_ID,
  JOB_TEMPLATE_ID,
  compileValidator,
  describeIssues,
  JOB_EXECUTION_STATUSES,
  JOB_STATUSES,
  JOB_ID,
  StatusDetailsSchema,
  THING_NAME,
} from '@otafleet/protocol';
import { AwsServiceError } from '../aws-error.js';
import { SchedulingConfigSchema, UpdatableJobConfigMembers } from './job-config-schema.js';

/**
 * Runtime shapes of the control-plane requests (the HTTP layer hands over parsed JSON, so nothing is
 * trusted). Limits from https://docs.aws.amazon.com/iot/latest/apireference/API_CreateJob.html
 */
const JobId = Type.String({ pattern: JOB_ID.pattern });
const ThingName = Type.String({ pattern: THING_NAME.pattern });

const Description = Type.String({ maxLength: 2028 });

export const CreateJobSchema = Type.Object({
  jobId: JobId,
  targets: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  document: Type.Optional(Type.String({ minLength: 1, maxLength: 32768 })),
  documentSource: Type.Optional(Type.String()),
  description: Type.Optional(Description),
  targetSelection: Type.Optional(Type.Union([Type.Literal('SNAPSHOT'), Type.Literal('CONTINUOUS')])),
  ...UpdatableJobConfigMembers,
  schedulingConfig: Type.Optional(SchedulingConfigSchema),
  jobTemplateArn: Type.Optional(Type.String({ minLength: 1, maxLength: 1600 })),
  documentParameters: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export type CreateJobInput = Static<typeof CreateJobSchema>;

export const UpdateJobSchema = Type.Object({
  jobId: JobId,
  description: Type.Optional(Description),
  ...UpdatableJobConfigMembers,
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

/** AssociateTargetsWithJob: "The total number of targets associated with a job must not exceed 100." */
export const MAX_TARGETS_PER_JOB = 100;

export const AssociateTargetsWithJobSchema = Type.Object({
  jobId: JobId,
  targets: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1 }),
  comment: Type.Optional(Type.String({ maxLength: 2028, pattern: '^[^\\p{C}]+$' })),
  namespaceId: Type.Optional(Type.String({ pattern: JOB_NAMESPACE_ID.pattern })),
});

export const ListJobExecutionsForThingSchema = Type.Object({
  thingName: ThingName,
  status: Type.Optional(Type.Union(JOB_EXECUTION_STATUSES.map((s) => Type.Literal(s)))),
  jobId: Type.Optional(JobId),
  namespaceId: Type.Optional(Type.String({ pattern: JOB_NAMESPACE_ID.pattern })),
  maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  nextToken: Type.Optional(Type.String()),
});

export const GetJobDocumentSchema = Type.Object({ jobId: JobId, beforeSubstitution: Type.Optional(Type.Boolean()) });

const JobTemplateId = Type.String({ pattern: JOB_TEMPLATE_ID.pattern });

export const CreateJobTemplateSchema = Type.Object({
  jobTemplateId: JobTemplateId,
  jobArn: Type.Optional(Type.String({ minLength: 1, maxLength: 1600 })),
  documentSource: Type.Optional(Type.String({ minLength: 1, maxLength: 1350 })),
  document: Type.Optional(Type.String({ minLength: 1, maxLength: 32768 })),
  description: Description,
  ...UpdatableJobConfigMembers,
  maintenanceWindows: Type.Optional(SchedulingConfigSchema.properties.maintenanceWindows),
});
export const JobTemplateIdOnlySchema = Type.Object({ jobTemplateId: JobTemplateId });
export const ListJobTemplatesSchema = Type.Object({
  maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: 250 })),
  nextToken: Type.Optional(Type.String()),
});
