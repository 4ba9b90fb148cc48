import type { UpdateEvent, UpdateStateName } from './states.js';

/**
 * THE update flow, in one place: `(state, event) → next state`, read top to bottom as the happy path with its
 * exits. Every state is journaled before its action runs; the action returns an event; the event picks the next
 * state here. A pair that is not listed is a programming error (the runner ends the job with INTERNAL_ERROR).
 *
 * Before the switch (Accepted … Arming) a failure reports and changes nothing; after it (Activating …
 * ReportingSuccess) every failure and every cancel goes through RollingBack, so the device ends on the slot the
 * job started from. Commit happens only after the Jobs service accepted SUCCEEDED.
 */
type Row = readonly [UpdateStateName, UpdateEvent, UpdateStateName];

export const UPDATE_TRANSITIONS: readonly Row[] = [
  // Checks that need no download: precondition, slots, free space.
  ['Accepted', 'Success', 'Downloading'],
  ['Accepted', 'SkipDownload', 'Arming'],
  ['Accepted', 'Failure', 'ReportingFailure'],
  ['Accepted', 'Cancel', 'Canceling'],
  ['Accepted', 'StateLoopDetected', 'ReportingFailure'],

  ['Downloading', 'Success', 'Verified'],
  ['Downloading', 'Retry', 'Downloading'],
  ['Downloading', 'Failure', 'ReportingFailure'],
  ['Downloading', 'Cancel', 'Canceling'],
  ['Downloading', 'StateLoopDetected', 'ReportingFailure'],

  ['Verified', 'Success', 'Installing'],
  ['Verified', 'Wait', 'WaitingForWindow'],
  ['Verified', 'DownloadOnly', 'ReportingDownloaded'],
  ['Verified', 'Cancel', 'Canceling'],
  ['Verified', 'StateLoopDetected', 'ReportingFailure'],

  ['WaitingForWindow', 'Success', 'Installing'],
  ['WaitingForWindow', 'Cancel', 'Canceling'],
  ['WaitingForWindow', 'StateLoopDetected', 'ReportingFailure'],

  ['Installing', 'Success', 'Arming'],
  ['Installing', 'Retry', 'Installing'],
  ['Installing', 'Failure', 'ReportingFailure'],
  ['Installing', 'Cancel', 'Canceling'],
  ['Installing', 'StateLoopDetected', 'ReportingFailure'],

  // An armed trial that never ran is disarmed by Canceling / RollingBack; nothing ran on it yet.
  ['Arming', 'Success', 'Activating'],
  ['Arming', 'Failure', 'RollingBack'],
  ['Arming', 'Cancel', 'Canceling'],
  ['Arming', 'Rebooted', 'HealthChecking'],
  ['Arming', 'BootFailed', 'ReportingFailure'],
  ['Arming', 'StateLoopDetected', 'RollingBack'],

  // The switch: restart or reboot into the trial slot.
  ['Activating', 'Success', 'HealthChecking'],
  ['Activating', 'Rebooted', 'HealthChecking'],
  ['Activating', 'Failure', 'RollingBack'],
  ['Activating', 'BootFailed', 'ReportingFailure'],
  ['Activating', 'Cancel', 'RollingBack'],
  ['Activating', 'StateLoopDetected', 'RollingBack'],

  ['HealthChecking', 'Success', 'ReportingSuccess'],
  ['HealthChecking', 'Rebooted', 'HealthChecking'],
  ['HealthChecking', 'Failure', 'RollingBack'],
  ['HealthChecking', 'BootFailed', 'ReportingFailure'],
  ['HealthChecking', 'Cancel', 'RollingBack'],
  ['HealthChecking', 'StateLoopDetected', 'RollingBack'],

  // SUCCEEDED goes out first; only its /accepted commits. Refused (canceled meanwhile): roll back.
  ['ReportingSuccess', 'Success', 'Committing'],
  ['ReportingSuccess', 'Rebooted', 'ReportingSuccess'],
  ['ReportingSuccess', 'Failure', 'RollingBack'],
  ['ReportingSuccess', 'BootFailed', 'ReportingFailure'],
  ['ReportingSuccess', 'Cancel', 'RollingBack'],
  ['ReportingSuccess', 'StateLoopDetected', 'RollingBack'],

  ['Committing', 'Success', 'Done'],
  ['Committing', 'Failure', 'RollingBack'],
  ['Committing', 'StateLoopDetected', 'Done'],

  ['RollingBack', 'Success', 'ReportingFailure'],
  ['RollingBack', 'Failure', 'ReportingFailure'],
  ['RollingBack', 'Cancel', 'RollingBack'],
  ['RollingBack', 'StateLoopDetected', 'ReportingFailure'],

  ['ReportingFailure', 'Success', 'Done'],
  ['ReportingFailure', 'Failure', 'Done'],
  ['ReportingFailure', 'Cancel', 'Done'],
  ['ReportingFailure', 'StateLoopDetected', 'Done'],

  ['ReportingDownloaded', 'Success', 'Done'],
  ['ReportingDownloaded', 'Failure', 'Done'],
  ['ReportingDownloaded', 'Cancel', 'Canceling'],
  ['ReportingDownloaded', 'StateLoopDetected', 'Done'],

  ['Canceling', 'Success', 'Done'],
  ['Canceling', 'Failure', 'Done'],
  ['Canceling', 'Cancel', 'Canceling'],
  ['Canceling', 'StateLoopDetected', 'Done'],
];

const TABLE = new Map<string, UpdateStateName>(UPDATE_TRANSITIONS.map(([s, e, n]) => [`${s}/${e}`, n]));

/** The next state, or undefined when the table has no such pair. */
export function nextUpdateState(state: UpdateStateName, event: UpdateEvent): UpdateStateName | undefined {
  return TABLE.get(`${state}/${event}`);
}

/** The states an event can leave from (e.g. which states take a Cancel). */
export const statesTaking = (event: UpdateEvent): ReadonlySet<UpdateStateName> =>
  new Set(UPDATE_TRANSITIONS.filter(([, e]) => e === event).map(([s]) => s));

/** States after the switch: a trial may be armed or running, so leaving means rolling back. */
export const SWITCHED_STATES: ReadonlySet<UpdateStateName> = new Set([
  'Arming',
  'Activating',
  'HealthChecking',
  'ReportingSuccess',
]);
