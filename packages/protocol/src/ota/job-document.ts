import { Type, type Static } from '@sinclair/typebox';
import { compileValidator } from '../schema.js';

/**
 * The AWS IoT Job document this system uses for an OTA install. The fleet service writes it into CreateJob's
 * `document`; the agent reads it from the Jobs execution. `download.url` may hold AWS's presigned-URL
 * placeholder (`${aws:iot:s3-presigned-url:https://...}`), which AWS IoT Jobs replaces per execution with a
 * short-lived URL when the job has presignedUrlConfig.
 * See https://docs.aws.amazon.com/iot/latest/developerguide/create-manage-jobs.html (presigned URL placeholders).
 */
export const OTA_JOB_OPERATION = 'ota.install';
export const OTA_JOB_DOCUMENT_SCHEMA_VERSION = 1;

const Sha256Hex = Type.String({
  pattern: '^[0-9a-f]{64}$',
  description: 'lowercase hex SHA-256 of the whole bundle file',
});
const SemVer = Type.String({
  pattern: '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-[0-9A-Za-z.-]+)?(?:\\+[0-9A-Za-z.-]+)?$',
  maxLength: 128,
});

export const OtaDownloadSchema = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 4096 }),
    /** Exact size of the bundle file in bytes: the agent refuses more and resumes with Range below it. */
    size: Type.Integer({ minimum: 1, maximum: 64 * 1024 ** 3 }),
    sha256: Sha256Hex,
  },
  { additionalProperties: false },
);

export const OtaBundleRefSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._-]+$' }),
    version: SemVer,
    securityVersion: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }),
  },
  { additionalProperties: false },
);

export const RollbackPolicySchema = Type.Object(
  {
    /** automatic: a failed health check or a crash loop rolls back to the previous slot by itself. */
    mode: Type.Union([Type.Literal('automatic'), Type.Literal('manual')]),
    /** Boots of the new slot without a commit before the agent gives up on it. */
    maxBootAttempts: Type.Integer({ minimum: 1, maximum: 10, default: 3 }),
  },
  { additionalProperties: false },
);

export const HealthCheckSettingsSchema = Type.Object(
  {
    /** Local URL the agent polls after the switch (e.g. the application's /health); absent: process liveness only. */
    url: Type.Optional(
      Type.String({ pattern: '^http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:\\d+)?/', maxLength: 1024 }),
    ),
    /** Consecutive passing probes needed to commit the update. */
    requiredPasses: Type.Integer({ minimum: 1, maximum: 100 }),
    intervalSeconds: Type.Integer({ minimum: 1, maximum: 300 }),
    /** From the switch: not healthy by then means roll back. */
    deadlineSeconds: Type.Integer({ minimum: 5, maximum: 86_400 }),
  },
  { additionalProperties: false },
);

export const OtaJobDocumentSchema = Type.Object(
  {
    operation: Type.Literal(OTA_JOB_OPERATION),
    schemaVersion: Type.Literal(OTA_JOB_DOCUMENT_SCHEMA_VERSION),
    bundle: OtaBundleRefSchema,
    download: OtaDownloadSchema,
    rollback: RollbackPolicySchema,
    healthCheck: HealthCheckSettingsSchema,
    /** The rollout and wave that created this job, for reports; opaque to the agent. */
    rolloutId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

export type OtaJobDocument = Static<typeof OtaJobDocumentSchema>;
export const otaJobDocumentValidator = compileValidator(OtaJobDocumentSchema);

/** AWS IoT Jobs caps a job document at 32 KB. See https://docs.aws.amazon.com/iot/latest/apireference/API_CreateJob.html */
export const JOB_DOCUMENT_MAX_BYTES = 32 * 1024;
