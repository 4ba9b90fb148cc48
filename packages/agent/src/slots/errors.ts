/**
 * Stable reasons a slot operation is refused; the agent maps them to job status reasons. Callers branch
 * on `code`, never on the message.
 */
export const SLOT_ERROR_CODES = [
  /** The device's slot records (state file, bootloader environment, link) are missing, unreadable or inconsistent. */
  'SLOT_STATE_CORRUPT',
  /** The target is the slot running now. */
  'SLOT_IS_BOOTED',
  /** The target is the committed slot (the rollback target). */
  'SLOT_IS_COMMITTED',
  /** The target is armed for a trial: roll it back first. */
  'SLOT_TRIAL_ARMED',
  /** A trial is already running or has used attempts: commit or roll it back first. */
  'SLOT_TRIAL_IN_PROGRESS',
  /** commit() while the armed trial slot is not the one running. */
  'SLOT_TRIAL_NOT_BOOTED',
  /** The slot holds no complete release. */
  'SLOT_EMPTY',
  /** A bad argument (slot id, attempts, contents). */
  'SLOT_INVALID_ARGUMENT',
  /** This backend does not write that kind of install source. */
  'SLOT_SOURCE_UNSUPPORTED',
  /** The image is not the size given, or what was written does not read back with its SHA-256. */
  'SLOT_IMAGE_MISMATCH',
  /** A bootloader tool (fw_setenv, grub-editenv) failed or is missing. */
  'SLOT_TOOL_FAILED',
  /** provision() found records already there. */
  'SLOT_ALREADY_PROVISIONED',
  /** The bootloader is not set up for A/B trials (e.g. no altbootcmd in the U-Boot environment). */
  'SLOT_BOOTLOADER_UNPREPARED',
  /** A file-system operation failed (disk full, permissions). */
  'SLOT_IO_ERROR',
] as const;

export type SlotErrorCode = (typeof SLOT_ERROR_CODES)[number];

export class SlotError extends Error {
  override readonly name = 'SlotError';
  readonly code: SlotErrorCode;

  constructor(code: SlotErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isSlotError(e: unknown, code?: SlotErrorCode): e is SlotError {
  return e instanceof SlotError && (code === undefined || e.code === code);
}

/** The device's records cannot be trusted; the message says which record and what to do. */
export function slotStateCorrupt(what: string, detail: string, cause?: unknown): SlotError {
  return new SlotError(
    'SLOT_STATE_CORRUPT',
    `${what}: ${detail} (the slot records must be repaired or re-provisioned before updates can run)`,
    cause === undefined ? undefined : { cause },
  );
}

/** Wraps a file-system failure that is not already a SlotError. */
export function asSlotError(e: unknown, what: string): SlotError {
  if (e instanceof SlotError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new SlotError('SLOT_IO_ERROR', `${what}: ${message}`, { cause: e });
}
