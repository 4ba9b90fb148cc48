import { Type, type Static } from '@sinclair/typebox';
import {
  BundleNameSchema,
  DownloadUrlSchema,
  OpaqueIdSchema,
  OtaTextSchema,
  SecurityVersionSchema,
  SemVerSchema,
  Sha256HexSchema,
} from './fields.js';
import { HealthChecksSchema } from './health-checks.js';
import { InstallWindowSchema } from './install-window.js';
import { TaggedUnion } from './tagged-union.js';
import { VERSION_RANGE_MAX_LENGTH } from './version-range.js';

/**
 * The AWS IoT job document of an OTA job, version 2. The fleet service writes it into CreateJob's `document`;
 * the agent reads it from the job execution. One operation per document: `ota.install` installs a bundle,
 * `ota.rollback` returns to an earlier release. Version 1 documents (install only) are still accepted and read
 * as version 2 (see job-document-v1.ts).
 */
export const OTA_JOB_DOCUMENT_SCHEMA_VERSION = 2;
export const OTA_INSTALL_OPERATION = 'ota.install';
export const OTA_ROLLBACK_OPERATION = 'ota.rollback';
export const OTA_JOB_OPERATIONS = [OTA_INSTALL_OPERATION, OTA_ROLLBACK_OPERATION] as const;
export type OtaJobOperation = (typeof OTA_JOB_OPERATIONS)[number];

/** `application`: the bundle in the A/B slots. `agent`: the agent updates itself. */
export const OTA_COMPONENTS = ['application', 'agent'] as const;
export type OtaComponent = (typeof OTA_COMPONENTS)[number];
export const OtaComponentSchema = Type.Union(OTA_COMPONENTS.map((c) => Type.Literal(c)));

/** AWS IoT Jobs caps a job document at 32 KB. See https://docs.aws.amazon.com/iot/latest/apireference/API_CreateJob.html */
export const JOB_DOCUMENT_MAX_BYTES = 32 * 1024;

const strict = { additionalProperties: false } as const;

export const OtaBundleRefSchema = Type.Object(
  { name: BundleNameSchema, version: SemVerSchema, securityVersion: SecurityVersionSchema },
  strict,
);
export type OtaBundleRef = Static<typeof OtaBundleRefSchema>;

/** Exact size of the bundle file in bytes: the agent refuses more and resumes with Range below it. */
export const BundleFileSizeSchema = Type.Integer({ minimum: 1, maximum: 64 * 1024 ** 3 });

export const OtaDownloadSchema = Type.Object(
  {
    url: DownloadUrlSchema,
    size: BundleFileSizeSchema,
    /** SHA-256 of the whole bundle file; a file already downloaded (download-only job) is found by it. */
    sha256: Sha256HexSchema,
    /** Bandwidth cap; absent: as fast as the link goes. */
    maxBandwidthBytesPerSecond: Type.Optional(Type.Integer({ minimum: 1024, maximum: 10 * 1024 ** 3 })),
    /** Attempts after the first for retryable failures (see otaReasonInfo); absent: the agent's default. */
    maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  },
  strict,
);
export type OtaDownload = Static<typeof OtaDownloadSchema>;

export const RollbackPolicySchema = Type.Object(
  {
    /**
     * automatic: a failed health check, a crash loop or a failed boot switches back to the slot the job started
     * from by itself. manual: the device stays and reports; an operator decides.
     */
    mode: Type.Union([Type.Literal('automatic'), Type.Literal('manual')]),
    /** Boots of the new slot without a commit before the boot loader (or the agent) gives up on it. */
    maxBootAttempts: Type.Integer({ minimum: 1, maximum: 10 }),
  },
  strict,
);
export type RollbackPolicy = Static<typeof RollbackPolicySchema>;

export const OtaPreconditionSchema = Type.Object(
  {
    /**
     * The version the component runs now must match: an exact version or a range (version-range.ts). Not met:
     * the job is rejected with PRECONDITION_FAILED and nothing changes.
     */
    installedVersion: Type.String({ minLength: 1, maxLength: VERSION_RANGE_MAX_LENGTH }),
  },
  strict,
);
export type OtaPrecondition = Static<typeof OtaPreconditionSchema>;

/**
 * When to install once the bundle is downloaded and verified: at once; inside the next install window; or
 * not at all (download-only: the job succeeds with the bundle staged, and a later install job with the same
 * sha256 installs it without downloading again).
 */
export const OtaInstallModeSchema = TaggedUnion('mode', [
  Type.Object({ mode: Type.Literal('immediate') }, strict),
  Type.Object({ mode: Type.Literal('window'), window: InstallWindowSchema }, strict),
  Type.Object({ mode: Type.Literal('download-only') }, strict),
]);
export type OtaInstallMode = Static<typeof OtaInstallModeSchema>;

const common = {
  schemaVersion: Type.Literal(OTA_JOB_DOCUMENT_SCHEMA_VERSION),
  component: OtaComponentSchema,
  /** The rollout and wave that created the job: opaque to the agent, echoed in its reports. */
  rolloutId: Type.Optional(OpaqueIdSchema),
  waveId: Type.Optional(OpaqueIdSchema),
  precondition: Type.Optional(OtaPreconditionSchema),
  healthChecks: HealthChecksSchema,
  rollback: RollbackPolicySchema,
};

export const OtaInstallJobDocumentSchema = Type.Object(
  {
    operation: Type.Literal(OTA_INSTALL_OPERATION),
    ...common,
    bundle: OtaBundleRefSchema,
    download: OtaDownloadSchema,
    install: OtaInstallModeSchema,
  },
  strict,
);
export type OtaInstallJobDocument = Static<typeof OtaInstallJobDocumentSchema>;

/**
 * Where an operator rollback goes. `previous-slot`: the release still in the other slot, no download, and no
 * anti-rollback refusal (that release was installed and committed on this device before); `expectedVersion`
 * guards against a slot that changed since the operator looked. `bundle`: an older bundle, downloaded and
 * verified like any other; `allowDowngrade` must be written out, and its securityVersion is still enforced
 * (http-service 1.0.0, securityVersion 1, cannot replace 1.1.0, securityVersion 2, this way).
 */
export const OtaRollbackTargetSchema = TaggedUnion('kind', [
  Type.Object({ kind: Type.Literal('previous-slot'), expectedVersion: Type.Optional(SemVerSchema) }, strict),
  Type.Object(
    {
      kind: Type.Literal('bundle'),
      bundle: OtaBundleRefSchema,
      download: OtaDownloadSchema,
      allowDowngrade: Type.Literal(true),
    },
    strict,
  ),
]);
export type OtaRollbackTarget = Static<typeof OtaRollbackTargetSchema>;

export const OtaRollbackJobDocumentSchema = Type.Object(
  {
    operation: Type.Literal(OTA_ROLLBACK_OPERATION),
    ...common,
    target: OtaRollbackTargetSchema,
    /** Why the operator rolls back: journaled on the device and reported with the result. */
    reason: OtaTextSchema,
  },
  strict,
);
export type OtaRollbackJobDocument = Static<typeof OtaRollbackJobDocumentSchema>;

export const OtaJobDocumentV2Schema = TaggedUnion('operation', [
  OtaInstallJobDocumentSchema,
  OtaRollbackJobDocumentSchema,
]);
/** What `parseOtaJobDocument` returns, whatever version the document was written in. */
export type OtaJobDocument = Static<typeof OtaJobDocumentV2Schema>;
