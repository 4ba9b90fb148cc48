import { Type } from '@sinclair/typebox';
import { BUNDLE_ERROR_CODES, type BundleErrorCode } from '../bundle/errors.js';
import type { JobExecutionStatus } from '../jobs/states.js';

/**
 * Why an OTA job execution ended the way it did: one code in the job's statusDetails (`reasonCode`), in the
 * health report's and the shadow's `lastUpdate`. The bundle library's codes are part of the list as they are.
 */
const OTA_OWN_REASON_CODES = [
  'INVALID_JOB_DOCUMENT',
  'UNSUPPORTED_SCHEMA_VERSION',
  'UNSUPPORTED_OPERATION',
  'UNSUPPORTED_COMPONENT',
  'PRECONDITION_FAILED',
  'INSUFFICIENT_SPACE',
  'DOWNLOAD_FAILED',
  'DOWNLOAD_REFUSED',
  'DOWNLOAD_URL_EXPIRED',
  'DOWNLOAD_SIZE_MISMATCH',
  'DOWNLOAD_DIGEST_MISMATCH',
  'INSTALL_FAILED',
  'SLOT_SWITCH_FAILED',
  'HEALTH_CHECK_FAILED',
  'HEALTH_CHECK_TIMEOUT',
  'CRASH_LOOP',
  'BOOT_FAILED',
  'AGENT_START_FAILED',
  'ROLLBACK_UNAVAILABLE',
  'ROLLBACK_FAILED',
  'ROLLED_BACK',
  'CANCELED',
  'TIMED_OUT',
  'JOURNAL_CORRUPT',
  'STATE_LOOP',
  'INTERNAL_ERROR',
] as const;

export const OTA_REASON_CODES = [...OTA_OWN_REASON_CODES, ...BUNDLE_ERROR_CODES] as const;
export type OtaReasonCode = (typeof OTA_REASON_CODES)[number];
export const OtaReasonCodeSchema = Type.Union(OTA_REASON_CODES.map((c) => Type.Literal(c)));

export function isOtaReasonCode(value: unknown): value is OtaReasonCode {
  return typeof value === 'string' && (OTA_REASON_CODES as readonly string[]).includes(value);
}

/**
 * What a code is about, for the fleet service's health gates: `health` is the new release misbehaving on the
 * device (what a rollout gate weighs), `compatibility` a valid bundle that is not for this device (a targeting
 * mistake), `verification` a bundle that is corrupt or untrusted, `job` a document this agent cannot act on.
 */
export const OTA_REASON_CATEGORIES = [
  'job',
  'download',
  'verification',
  'compatibility',
  'install',
  'health',
  'operator',
  'device',
  'internal',
] as const;
export type OtaReasonCategory = (typeof OTA_REASON_CATEGORIES)[number];

export interface OtaReasonInfo {
  readonly category: OtaReasonCategory;
  /** The same job may succeed on the same device if tried again: the agent retries these (within the job's maxRetries), and only these. */
  readonly retryable: boolean;
  /** Counts against the release and the device. False for an operator's cancel or a completed operator rollback. */
  readonly failure: boolean;
  /**
   * The job execution status that goes with it: the agent reports FAILED, REJECTED (the device declined the job
   * without touching a slot) or SUCCEEDED; CANCELED and TIMED_OUT are set by the Jobs service, not reported.
   */
  readonly executionStatus: Extract<JobExecutionStatus, 'SUCCEEDED' | 'FAILED' | 'REJECTED' | 'CANCELED' | 'TIMED_OUT'>;
  readonly description: string;
}

const info = (
  category: OtaReasonCategory,
  retryable: boolean,
  description: string,
  executionStatus: OtaReasonInfo['executionStatus'] = 'FAILED',
  failure = true,
): OtaReasonInfo => Object.freeze({ category, retryable, failure, executionStatus, description });

const REJECT = 'REJECTED';

const OWN: Readonly<Record<(typeof OTA_OWN_REASON_CODES)[number], OtaReasonInfo>> = {
  INVALID_JOB_DOCUMENT: info('job', false, 'The job document does not match the schema.', REJECT),
  UNSUPPORTED_SCHEMA_VERSION: info(
    'job',
    false,
    'The job document has a schemaVersion newer than this agent knows.',
    REJECT,
  ),
  UNSUPPORTED_OPERATION: info('job', false, 'The operation is unknown to this agent.', REJECT),
  UNSUPPORTED_COMPONENT: info('job', false, 'The component cannot be updated by this agent.', REJECT),
  PRECONDITION_FAILED: info('job', false, 'The installed version does not satisfy the precondition.', REJECT),
  INSUFFICIENT_SPACE: info('device', false, 'Not enough free space to download or install the bundle.'),
  DOWNLOAD_FAILED: info('download', true, 'The download broke off (network, server error); it resumes on retry.'),
  DOWNLOAD_REFUSED: info('download', false, 'The server refused the download (HTTP 4xx other than an expired URL).'),
  DOWNLOAD_URL_EXPIRED: info(
    'download',
    true,
    'The presigned URL expired; a retry fetches the job document for a new one.',
  ),
  DOWNLOAD_SIZE_MISMATCH: info('download', true, 'The server sent more or fewer bytes than the job document says.'),
  DOWNLOAD_DIGEST_MISMATCH: info('download', true, "The file's SHA-256 is not the job document's."),
  INSTALL_FAILED: info('install', false, 'Writing the inactive slot failed.'),
  SLOT_SWITCH_FAILED: info('install', false, 'The boot loader or slot backend refused the switch.'),
  HEALTH_CHECK_FAILED: info('health', false, 'A health check failed after the switch; the device rolled back.'),
  HEALTH_CHECK_TIMEOUT: info(
    'health',
    false,
    'The health checks did not pass before the deadline; the device rolled back.',
  ),
  CRASH_LOOP: info('health', false, 'The new release kept crashing; the device rolled back.'),
  BOOT_FAILED: info('health', false, 'The new slot did not boot (boot attempts used up); the boot loader went back.'),
  AGENT_START_FAILED: info(
    'health',
    false,
    'The updated agent did not start and connect; the previous agent came back.',
  ),
  ROLLBACK_UNAVAILABLE: info('device', false, 'There is no committed release in the other slot to go back to.', REJECT),
  ROLLBACK_FAILED: info('install', false, 'Going back to the previous release failed: the device needs attention.'),
  ROLLED_BACK: info(
    'operator',
    false,
    'An operator rollback completed: the earlier release runs on purpose.',
    'SUCCEEDED',
    false,
  ),
  CANCELED: info('operator', false, 'The job was canceled.', 'CANCELED', false),
  TIMED_OUT: info('device', true, 'The job execution timed out before the device finished it.', 'TIMED_OUT'),
  JOURNAL_CORRUPT: info('device', false, "The agent's update journal is unreadable."),
  STATE_LOOP: info('internal', false, 'The update state machine looped and was stopped.'),
  INTERNAL_ERROR: info('internal', false, 'An unexpected agent error.'),
};

/** Every bundle code is a verification failure unless listed here; a new bundle code is therefore never retried. */
const BUNDLE_DEFAULT = info('verification', false, 'The bundle is malformed, tampered with or not trusted.');
const COMPATIBILITY = 'A valid bundle that this device does not accept';
const BUNDLE_EXCEPTIONS: Readonly<Partial<Record<BundleErrorCode, OtaReasonInfo>>> = {
  BUNDLE_HARDWARE_MISMATCH: info('compatibility', false, `${COMPATIBILITY}: other hardware.`, REJECT),
  BUNDLE_DOWNGRADE: info('compatibility', false, `${COMPATIBILITY}: not newer than installed.`, REJECT),
  BUNDLE_SECURITY_VERSION_ROLLBACK: info('compatibility', false, `${COMPATIBILITY}: lower securityVersion.`, REJECT),
  BUNDLE_AGENT_TOO_OLD: info('compatibility', false, `${COMPATIBILITY}: needs a newer agent.`, REJECT),
  BUNDLE_NOT_YET_VALID: info('verification', true, 'The bundle is not valid yet (the device clock may be behind).'),
  BUNDLE_PAYLOAD_TOO_LARGE: info('device', false, 'The bundle does not fit the slot.'),
  BUNDLE_TRUST_SET_INVALID: info('device', false, "The device's trust set is unreadable."),
  BUNDLE_TARGET_EXISTS: info('install', false, 'The install target already exists.'),
  BUNDLE_IO_ERROR: info('device', true, 'A local I/O error while verifying or extracting.'),
};

export function otaReasonInfo(code: OtaReasonCode): OtaReasonInfo {
  if (code in OWN) return OWN[code as keyof typeof OWN];
  return BUNDLE_EXCEPTIONS[code as BundleErrorCode] ?? BUNDLE_DEFAULT;
}
