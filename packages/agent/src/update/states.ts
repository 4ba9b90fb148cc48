/**
 * The update flow's states and events. State numbers are what the journal stores: they never change and are
 * never reused (a retired state stays in the list, marked unused), so a journal written by an older agent still
 * reads as it meant. Done is never stored: reaching it clears the journal.
 */
export const UPDATE_STATES = {
  Accepted: 1,
  Downloading: 2,
  Verified: 3,
  WaitingForWindow: 4,
  Installing: 5,
  Arming: 6,
  Activating: 7,
  HealthChecking: 8,
  ReportingSuccess: 9,
  Committing: 10,
  RollingBack: 11,
  ReportingFailure: 12,
  Canceling: 13,
  ReportingDownloaded: 14,
  Done: 15,
} as const;

export type UpdateStateName = keyof typeof UPDATE_STATES;
export type UpdateStateId = (typeof UPDATE_STATES)[UpdateStateName];

/** Numbers that once meant a state and must not be given to a new one. Empty so far. */
export const RETIRED_UPDATE_STATE_IDS: readonly number[] = [];

const BY_ID = new Map<number, UpdateStateName>(
  Object.entries(UPDATE_STATES).map(([name, id]) => [id, name as UpdateStateName]),
);

export const updateStateName = (id: number): UpdateStateName | undefined => BY_ID.get(id);
export const UPDATE_STATE_NAMES = Object.keys(UPDATE_STATES) as UpdateStateName[];

/** What an action (or recovery, or the Jobs service) says happened. */
export const UPDATE_EVENTS = [
  'Success',
  'Failure',
  /** A retryable failure with attempts left: the same state runs again. */
  'Retry',
  /** The job was canceled (or removed, or timed out) by the Jobs service. */
  'Cancel',
  /** ota.rollback to the previous slot: nothing to download or install. */
  'SkipDownload',
  /** Verified, install at the next install window. */
  'Wait',
  /** Verified, and the job is download-only: staged, not installed. */
  'DownloadOnly',
  /** Recovery: the device (or application) came back up on the trial slot. */
  'Rebooted',
  /** Recovery: the bootloader (or the boot step) gave up on the trial slot by itself. */
  'BootFailed',
  /** The persisted save counter of this job passed its limit. */
  'StateLoopDetected',
] as const;
export type UpdateEvent = (typeof UPDATE_EVENTS)[number];
