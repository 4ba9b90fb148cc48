import { Type } from '@sinclair/typebox';

/**
 * Where an OTA job execution is, from the device's side: reported in the job's statusDetails (`phase`) and in
 * health reports (`ota.phase`). An install runs queued → downloading → verifying → [waiting-for-window] →
 * installing → rebooting | restarting → health-checking → committing → succeeded; a failed health check or boot
 * goes rolling-back → rolled-back. A download-only job ends at downloaded. An operator rollback to the other
 * slot skips the download.
 */
export const OTA_PHASES = [
  'queued',
  'downloading',
  'verifying',
  /** Verified and staged, not installed: the end of a download-only job. */
  'downloaded',
  /** Verified and staged, installing at the next install window. */
  'waiting-for-window',
  /** Writing the inactive slot. */
  'installing',
  /** Slot switched; the device reboots into it. */
  'rebooting',
  /** Slot switched; the application (or the agent) restarts from it without a reboot. */
  'restarting',
  'health-checking',
  /** Healthy: making the new slot permanent. */
  'committing',
  'succeeded',
  'rolling-back',
  /** Back on the release the update started from. */
  'rolled-back',
  /** Ended without switching slots, or a rollback could not complete. */
  'failed',
  'canceled',
] as const;

export type OtaPhase = (typeof OTA_PHASES)[number];
export const OtaPhaseSchema = Type.Union(OTA_PHASES.map((p) => Type.Literal(p)));

const TERMINAL: ReadonlySet<OtaPhase> = new Set<OtaPhase>([
  'downloaded',
  'succeeded',
  'rolled-back',
  'failed',
  'canceled',
]);
/** A phase after which the execution changes no more. */
export const isTerminalOtaPhase = (phase: OtaPhase): boolean => TERMINAL.has(phase);
