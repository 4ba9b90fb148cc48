import {
  OTA_JOB_DOCUMENT_SCHEMA_VERSION,
  parseOtaJobDocument,
  type HealthChecks,
  type OtaInstallJobDocument,
  type OtaRollbackJobDocument,
  type RollbackPolicy,
} from '@otafleet/protocol';
import type { StoredBundle } from '../bundles/bundle-store.js';

/** What a rollout asks of each device, beyond the bundle: the checks that decide a commit, the rollback policy. */
export interface DeviceUpdatePolicy {
  readonly healthChecks: HealthChecks;
  readonly rollback: RollbackPolicy;
}

export const DEFAULT_DEVICE_POLICY: DeviceUpdatePolicy = {
  healthChecks: { deadlineSeconds: 300, requiredPasses: 3, intervalSeconds: 5, checks: [{ kind: 'mqtt' }] },
  rollback: { mode: 'automatic', maxBootAttempts: 3 },
};

/** Checked exactly as the agent will parse it: a document the devices would refuse never reaches CreateJob. */
function checked(doc: OtaInstallJobDocument | OtaRollbackJobDocument): string {
  const parsed = parseOtaJobDocument(doc);
  if (!parsed.ok) throw new Error(`the job document the rollout would send is invalid: ${parsed.error.message}`);
  return JSON.stringify(doc);
}

export function installDocument(options: {
  readonly rolloutId: string;
  readonly waveName: string;
  readonly bundle: StoredBundle;
  readonly url: string;
  readonly policy: DeviceUpdatePolicy;
}): string {
  const { manifest } = options.bundle;
  return checked({
    schemaVersion: OTA_JOB_DOCUMENT_SCHEMA_VERSION,
    operation: 'ota.install',
    component: 'application',
    rolloutId: options.rolloutId,
    waveId: options.waveName,
    healthChecks: options.policy.healthChecks,
    rollback: options.policy.rollback,
    bundle: { name: manifest.name, version: manifest.version, securityVersion: manifest.securityVersion },
    download: { url: options.url, size: options.bundle.size, sha256: options.bundle.sha256 },
    install: { mode: 'immediate' },
  });
}

/**
 * Sends updated devices back to the release in their other slot. The precondition makes it safe to send to a
 * whole wave: a device that already rolled back by itself (or never installed) is not on `fromVersion`, so it
 * rejects the job with PRECONDITION_FAILED and changes nothing — instead of switching to the bad release.
 */
export function rollbackDocument(options: {
  readonly rolloutId: string;
  readonly fromVersion: string;
  readonly reason: string;
  readonly policy: DeviceUpdatePolicy;
}): string {
  return checked({
    schemaVersion: OTA_JOB_DOCUMENT_SCHEMA_VERSION,
    operation: 'ota.rollback',
    component: 'application',
    rolloutId: options.rolloutId,
    precondition: { installedVersion: options.fromVersion },
    healthChecks: options.policy.healthChecks,
    rollback: options.policy.rollback,
    target: { kind: 'previous-slot' },
    reason: options.reason.slice(0, 200),
  });
}
