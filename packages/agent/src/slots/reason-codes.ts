import type { OtaReasonCode } from '@otafleet/protocol';
import type { SlotError } from './errors.js';
import type { FailedTrial, SlotBackend } from './types.js';

/** Which slot operation a SlotError came from, as the update flow knows it. */
export type SlotOperationKind = 'install' | 'switch' | 'rollback';

/**
 * The job reason code for a slot refusal: the install wrote nothing usable (INSTALL_FAILED), arming or
 * activating or committing failed (SLOT_SWITCH_FAILED), or the way back failed (ROLLBACK_FAILED; with no
 * release to go back to, ROLLBACK_UNAVAILABLE). The SlotError's code and message go into the reason text.
 */
export function slotErrorReasonCode(error: SlotError, during: SlotOperationKind): OtaReasonCode {
  switch (during) {
    case 'install':
      return 'INSTALL_FAILED';
    case 'switch':
      return 'SLOT_SWITCH_FAILED';
    case 'rollback':
      return error.code === 'SLOT_EMPTY' ? 'ROLLBACK_UNAVAILABLE' : 'ROLLBACK_FAILED';
  }
}

/**
 * The job reason code for a trial that ended without a commit because its attempts ran out: on a reboot backend
 * the bootloader gave up on the new slot (BOOT_FAILED); on directory slots the agent kept starting on it
 * without reaching a commit (CRASH_LOOP). A `rolled-back` trial has no code here: the agent decided, and its
 * journal holds why.
 */
export function failedTrialReasonCode(
  failed: FailedTrial,
  activation: SlotBackend['activation'],
): Extract<OtaReasonCode, 'BOOT_FAILED' | 'CRASH_LOOP'> | undefined {
  if (failed.reason !== 'attempts-exhausted') return undefined;
  return activation === 'reboot' ? 'BOOT_FAILED' : 'CRASH_LOOP';
}
