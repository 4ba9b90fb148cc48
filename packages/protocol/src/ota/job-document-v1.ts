import { Type, type Static } from '@sinclair/typebox';
import { LoopbackHttpUrlSchema, OpaqueIdSchema, Sha256HexSchema } from './fields.js';
import type { HealthCheckSpec } from './health-checks.js';
import {
  BundleFileSizeSchema,
  OTA_INSTALL_OPERATION,
  OtaBundleRefSchema,
  RollbackPolicySchema,
  type OtaInstallJobDocument,
} from './job-document.js';

/**
 * Version 1 of the OTA job document: install only, one optional HTTP health check. Still accepted; the agent
 * only ever sees it as the version 2 document `upgradeOtaJobDocumentV1` makes of it.
 */
const strict = { additionalProperties: false } as const;

export const OtaJobDocumentV1Schema = Type.Object(
  {
    operation: Type.Literal(OTA_INSTALL_OPERATION),
    schemaVersion: Type.Literal(1),
    bundle: OtaBundleRefSchema,
    download: Type.Object(
      { url: Type.String({ minLength: 1, maxLength: 4096 }), size: BundleFileSizeSchema, sha256: Sha256HexSchema },
      strict,
    ),
    rollback: RollbackPolicySchema,
    healthCheck: Type.Object(
      {
        /** Local URL polled after the switch; absent: the application process staying alive is the check. */
        url: Type.Optional(LoopbackHttpUrlSchema),
        requiredPasses: Type.Integer({ minimum: 1, maximum: 100 }),
        intervalSeconds: Type.Integer({ minimum: 1, maximum: 300 }),
        deadlineSeconds: Type.Integer({ minimum: 5, maximum: 86_400 }),
      },
      strict,
    ),
    rolloutId: Type.Optional(OpaqueIdSchema),
  },
  strict,
);
export type OtaJobDocumentV1 = Static<typeof OtaJobDocumentV1Schema>;

/** The version 2 reading of a version 1 document: an immediate install of the application. */
export function upgradeOtaJobDocumentV1(v1: OtaJobDocumentV1): OtaInstallJobDocument {
  const { url, requiredPasses, intervalSeconds, deadlineSeconds } = v1.healthCheck;
  const check: HealthCheckSpec = url === undefined ? { kind: 'process' } : { kind: 'http', url };
  return {
    operation: OTA_INSTALL_OPERATION,
    schemaVersion: 2,
    component: 'application',
    ...(v1.rolloutId === undefined ? {} : { rolloutId: v1.rolloutId }),
    healthChecks: { deadlineSeconds, requiredPasses, intervalSeconds, checks: [check] },
    rollback: { ...v1.rollback },
    bundle: { ...v1.bundle },
    download: { ...v1.download },
    install: { mode: 'immediate' },
  };
}
