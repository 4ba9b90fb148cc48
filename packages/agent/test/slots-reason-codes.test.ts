import { isOtaReasonCode, otaReasonInfo } from '@otafleet/protocol';
import { describe, expect, it } from 'vitest';
import { failedTrialReasonCode, SLOT_ERROR_CODES, SlotError, slotErrorReasonCode } from '../src/slots/index.js';

describe('slot outcomes as job reason codes', () => {
  it('every slot refusal maps to a protocol reason code that reports FAILED', () => {
    for (const code of SLOT_ERROR_CODES) {
      for (const during of ['install', 'switch', 'rollback'] as const) {
        const reason = slotErrorReasonCode(new SlotError(code, 'x'), during);
        expect(isOtaReasonCode(reason)).toBe(true);
        expect(otaReasonInfo(reason).failure).toBe(true);
      }
    }
    expect(slotErrorReasonCode(new SlotError('SLOT_IMAGE_MISMATCH', 'x'), 'install')).toBe('INSTALL_FAILED');
    expect(slotErrorReasonCode(new SlotError('SLOT_TOOL_FAILED', 'x'), 'switch')).toBe('SLOT_SWITCH_FAILED');
    expect(slotErrorReasonCode(new SlotError('SLOT_EMPTY', 'x'), 'rollback')).toBe('ROLLBACK_UNAVAILABLE');
    expect(slotErrorReasonCode(new SlotError('SLOT_STATE_CORRUPT', 'x'), 'rollback')).toBe('ROLLBACK_FAILED');
  });

  it('an exhausted trial is a failed boot on reboot backends and a crash loop on directory slots', () => {
    const trial = { slot: 'B', attempts: 3, maxAttempts: 3 } as const;
    expect(failedTrialReasonCode({ ...trial, reason: 'attempts-exhausted' }, 'reboot')).toBe('BOOT_FAILED');
    expect(failedTrialReasonCode({ ...trial, reason: 'attempts-exhausted' }, 'restart')).toBe('CRASH_LOOP');
    expect(failedTrialReasonCode({ ...trial, reason: 'rolled-back' }, 'reboot')).toBeUndefined();
  });
});
