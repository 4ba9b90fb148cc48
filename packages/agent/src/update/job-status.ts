import { otaStatusDetails, type OtaPhase, type StatusDetails } from '@otafleet/protocol';
import type { QueuedJobUpdate } from '../journal/types.js';
import type { UpdateRecord } from './record.js';

/** The phase a state reports while its action runs (activation depends on the slot backend). */
export function phaseOf(record: UpdateRecord, activation: 'restart' | 'reboot'): OtaPhase {
  switch (record.state) {
    case 'Accepted':
      return 'queued';
    case 'Downloading':
      return 'downloading';
    case 'Verified':
      return 'verifying';
    case 'WaitingForWindow':
      return 'waiting-for-window';
    case 'Installing':
    case 'Arming':
      return 'installing';
    case 'Activating':
      return activation === 'reboot' ? 'rebooting' : 'restarting';
    case 'HealthChecking':
      return 'health-checking';
    case 'ReportingSuccess':
      return 'succeeded';
    case 'Committing':
      return 'committing';
    case 'RollingBack':
      return 'rolling-back';
    case 'ReportingFailure':
      return record.switchedAt === undefined ? 'failed' : 'rolled-back';
    case 'ReportingDownloaded':
      return 'downloaded';
    case 'Canceling':
    case 'Done':
      return 'canceled';
  }
}

/** statusDetails for the record at `phase`, with protocol's keys (all of them, each time: AWS replaces the map). */
export function statusDetailsOf(
  record: UpdateRecord,
  phase: OtaPhase,
  extra: { readonly bytesDownloaded?: number; readonly bytesTotal?: number; readonly progress?: number } = {},
): StatusDetails {
  const v = record.verdict;
  return otaStatusDetails({
    phase,
    ...extra,
    ...(v === undefined ? {} : { reasonCode: v.reasonCode, reason: v.reason }),
    ...(record.fromVersion === undefined ? {} : { fromVersion: record.fromVersion }),
    ...(record.toVersion === undefined ? {} : { toVersion: record.toVersion }),
    attempt: record.attempt,
    ...(record.targetSlot === undefined ? {} : { slot: record.targetSlot }),
  });
}

export function jobUpdate(
  record: UpdateRecord,
  status: QueuedJobUpdate['status'],
  details: StatusDetails,
): QueuedJobUpdate {
  return { jobId: record.jobId, executionNumber: record.executionNumber, status, statusDetails: details };
}
