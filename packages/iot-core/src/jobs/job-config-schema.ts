import { Type, type Static } from '@sinclair/typebox';
import { JOB_END_BEHAVIORS, SCHEDULING_LIMITS } from './scheduling/index.js';

/*
 * The job-level configuration members of CreateJob / UpdateJob / CreateJobTemplate, written once with AWS's
 * limits. The HTTP schemas (control-plane/schemas/jobs-schemas.ts), the in-process validation
 * (control-validation.ts) and the stored JobConfig type all take them from here. Limits from the API reference:
 * https://docs.aws.amazon.com/iot/latest/apireference/API_JobExecutionsRolloutConfig.html and the pages of
 * ExponentialRolloutRate, RateIncreaseCriteria, AbortCriteria, TimeoutConfig, RetryCriteria, PresignedUrlConfig,
 * SchedulingConfig and MaintenanceWindow.
 */
const strict = { additionalProperties: false } as const;
const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const JOB_CONFIG_LIMITS = {
  /** JobExecutionsRolloutConfig.maximumPerMinute: "Minimum value of 1" (no maximum in the API reference). */
  minPerMinute: 1,
  /** ExponentialRolloutRate.baseRatePerMinute: 1–1000; incrementFactor 1.1–5. */
  maxBaseRatePerMinute: 1000,
  minIncrementFactor: 1.1,
  maxIncrementFactor: 5,
  /** TimeoutConfig.inProgressTimeoutInMinutes: "between 1 minute and 7 days (1 to 10080 minutes)". */
  maxInProgressTimeoutMinutes: 10080,
  /** RetryCriteria.numberOfRetries 0–10; criteriaList 1–2 entries. */
  maxRetries: 10,
  maxRetryCriteria: 2,
  /** PresignedUrlConfig.expiresInSec 60–3600 (default 3600); roleArn 20–2048 characters. */
  minExpiresInSec: 60,
  maxExpiresInSec: 3600,
} as const;

const L = JOB_CONFIG_LIMITS;

export const PresignedUrlConfigSchema = Type.Object(
  {
    roleArn: Type.Optional(Type.String({ minLength: 20, maxLength: 2048 })),
    expiresInSec: Type.Optional(Type.Integer({ minimum: L.minExpiresInSec, maximum: L.maxExpiresInSec })),
  },
  strict,
);

export const JobExecutionsRolloutConfigSchema = Type.Object(
  {
    maximumPerMinute: Type.Optional(Type.Integer({ minimum: L.minPerMinute })),
    exponentialRate: Type.Optional(
      Type.Object(
        {
          baseRatePerMinute: Type.Integer({ minimum: L.minPerMinute, maximum: L.maxBaseRatePerMinute }),
          incrementFactor: Type.Number({ minimum: L.minIncrementFactor, maximum: L.maxIncrementFactor }),
          rateIncreaseCriteria: Type.Object(
            {
              numberOfNotifiedThings: Type.Optional(Type.Integer({ minimum: 1 })),
              numberOfSucceededThings: Type.Optional(Type.Integer({ minimum: 1 })),
            },
            strict,
          ),
        },
        strict,
      ),
    ),
  },
  strict,
);

export const AbortConfigSchema = Type.Object(
  {
    criteriaList: Type.Array(
      Type.Object(
        {
          failureType: literals(['FAILED', 'REJECTED', 'TIMED_OUT', 'ALL'] as const),
          action: Type.Literal('CANCEL'),
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

export const TimeoutConfigSchema = Type.Object(
  {
    inProgressTimeoutInMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: L.maxInProgressTimeoutMinutes })),
  },
  strict,
);

export const JobExecutionsRetryConfigSchema = Type.Object(
  {
    criteriaList: Type.Array(
      Type.Object(
        {
          failureType: literals(['FAILED', 'TIMED_OUT', 'ALL'] as const),
          numberOfRetries: Type.Integer({ minimum: 0, maximum: L.maxRetries }),
        },
        strict,
      ),
      { minItems: 1, maxItems: L.maxRetryCriteria },
    ),
  },
  strict,
);

/** The shape only; times, cron and their relations are checked by validateSchedulingConfig. */
export const SchedulingConfigSchema = Type.Object(
  {
    startTime: Type.Optional(Type.String({ minLength: 1, maxLength: SCHEDULING_LIMITS.maxTimeLength })),
    endTime: Type.Optional(Type.String({ minLength: 1, maxLength: SCHEDULING_LIMITS.maxTimeLength })),
    endBehavior: Type.Optional(literals(JOB_END_BEHAVIORS)),
    maintenanceWindows: Type.Optional(
      Type.Array(
        Type.Object(
          {
            startTime: Type.String({ minLength: 1, maxLength: SCHEDULING_LIMITS.maxCronLength }),
            durationInMinutes: Type.Integer({
              minimum: SCHEDULING_LIMITS.minWindowMinutes,
              maximum: SCHEDULING_LIMITS.maxWindowMinutes,
            }),
          },
          strict,
        ),
      ),
    ),
  },
  strict,
);

/** The members UpdateJob may change (CreateJob and CreateJobTemplate take them too). */
export const UpdatableJobConfigMembers = {
  presignedUrlConfig: Type.Optional(PresignedUrlConfigSchema),
  jobExecutionsRolloutConfig: Type.Optional(JobExecutionsRolloutConfigSchema),
  abortConfig: Type.Optional(AbortConfigSchema),
  timeoutConfig: Type.Optional(TimeoutConfigSchema),
  jobExecutionsRetryConfig: Type.Optional(JobExecutionsRetryConfigSchema),
};

export const JobConfigSchema = Type.Object(UpdatableJobConfigMembers, strict);

/** The job-level settings kept with a job (the validated members of CreateJob / UpdateJob). */
export type JobConfig = Static<typeof JobConfigSchema>;

export const JOB_CONFIG_KEYS = Object.keys(UpdatableJobConfigMembers) as readonly (keyof JobConfig)[];
