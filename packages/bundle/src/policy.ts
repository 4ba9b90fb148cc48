import semver from 'semver';
import type { BundleManifest } from '@otafleet/protocol';
import { BundleError } from './errors.js';

/**
 * What the device knows about itself. The agent passes all of it; the fleet service, verifying an
 * upload for no particular device, passes none and gets signature, format and expiry checks only.
 */
export interface DevicePolicy {
  /** The device's hardware id; must be in the manifest's compatibleHardware. */
  readonly hardware?: string;
  /** What runs now: the bundle must be newer and its securityVersion not lower. */
  readonly installed?: { readonly version: string; readonly securityVersion: number };
  /** The running agent's version; must be >= the manifest's minAgentVersion. */
  readonly agentVersion?: string;
  /** Allow a version not newer than installed (operator-driven rollback). securityVersion is still enforced. */
  readonly allowDowngrade?: boolean;
  /** Refuse bundles whose payloads add up to more than this (free space in the slot). */
  readonly maxPayloadBytes?: number;
  /** Tolerance for a createdAt in the device's future; default 5 minutes. */
  readonly clockSkewMs?: number;
}

const DEFAULT_SKEW_MS = 5 * 60 * 1000;

export function checkBundlePolicy(manifest: BundleManifest, policy: DevicePolicy, now: Date): void {
  const t = now.getTime();
  if (t >= Date.parse(manifest.expiresAt)) {
    throw new BundleError('BUNDLE_EXPIRED', `bundle expired at ${manifest.expiresAt}`);
  }
  if (Date.parse(manifest.createdAt) - (policy.clockSkewMs ?? DEFAULT_SKEW_MS) > t) {
    throw new BundleError('BUNDLE_NOT_YET_VALID', `bundle createdAt ${manifest.createdAt} is in the future`);
  }
  if (policy.hardware !== undefined && !manifest.compatibleHardware.includes(policy.hardware)) {
    throw new BundleError(
      'BUNDLE_HARDWARE_MISMATCH',
      `bundle is for ${manifest.compatibleHardware.join(', ')}, device is ${policy.hardware}`,
    );
  }
  if (policy.installed !== undefined) {
    const { version, securityVersion } = policy.installed;
    if (manifest.securityVersion < securityVersion) {
      throw new BundleError(
        'BUNDLE_SECURITY_VERSION_ROLLBACK',
        `securityVersion ${manifest.securityVersion} is lower than installed ${securityVersion}`,
      );
    }
    const installedValid = semver.valid(version);
    if (policy.allowDowngrade !== true && (installedValid === null || !semver.gt(manifest.version, installedValid))) {
      throw new BundleError('BUNDLE_DOWNGRADE', `version ${manifest.version} is not newer than installed ${version}`);
    }
  }
  if (policy.maxPayloadBytes !== undefined) {
    const total = manifest.payloads.reduce((n, p) => n + p.size, 0);
    if (total > policy.maxPayloadBytes) {
      throw new BundleError(
        'BUNDLE_PAYLOAD_TOO_LARGE',
        `payloads total ${total} bytes, device allows ${policy.maxPayloadBytes}`,
      );
    }
  }
  if (policy.agentVersion !== undefined) {
    const agent = semver.valid(policy.agentVersion);
    if (agent === null || semver.lt(agent, manifest.minAgentVersion)) {
      throw new BundleError(
        'BUNDLE_AGENT_TOO_OLD',
        `bundle needs agent >= ${manifest.minAgentVersion}, agent is ${policy.agentVersion}`,
      );
    }
  }
}
