import { isOtaReasonCode, type OtaReasonCode } from '@otafleet/protocol';
import { isSlotError, slotErrorReasonCode, type SlotOperationKind } from '../slots/index.js';
import type { UpdateVerdict } from './record.js';

/** A failure thrown by a port or a slot backend, as the verdict the job reports. */
export function verdictOf(e: unknown, fallback: OtaReasonCode, during?: SlotOperationKind): UpdateVerdict {
  const message = e instanceof Error ? e.message : String(e);
  if (isSlotError(e)) {
    return { reasonCode: slotErrorReasonCode(e, during ?? 'install'), reason: `${e.code}: ${message}` };
  }
  const code = (e as { code?: unknown } | undefined)?.code;
  if (isOtaReasonCode(code)) return { reasonCode: code, reason: message };
  return { reasonCode: fallback, reason: message };
}

/** The downloader's "stopped for shutdown": not a failure. */
export const isStopped = (e: unknown): boolean => (e as { code?: unknown } | undefined)?.code === 'DOWNLOAD_STOPPED';

export const verdict = (reasonCode: OtaReasonCode, reason: string): UpdateVerdict => ({ reasonCode, reason });
