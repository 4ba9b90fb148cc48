import type { HealthReport } from './health-report.js';

/**
 * Whether a health report is new, a duplicate (QoS 1 redelivery) or older than the last one kept (a reorder),
 * across reboots. Device clocks are the weakest evidence: a Raspberry Pi has no RTC and boots with the time it
 * shut down (or 1970) until NTP syncs, so its timestamps jump within a boot and go backwards across boots.
 * So, in order: within a boot, `sequence` decides; between a boot and the one right after it, `previousBootId`
 * decides (the chain needs no clock); between boots further apart, the persisted `bootCount` decides.
 * Timestamps decide only where nothing else can: version 1 reports (no boot identity), and the one case boot
 * counts cannot see — a device whose journal was wiped (SD card replaced, factory reset) counts boots from 1
 * again, so a lower bootCount from an unrelated boot whose timestamp is at least `counterResetAfterMs` past the
 * last report is taken as a reset counter, not a stale report. A wiped device whose clock is still behind is
 * therefore ignored until NTP moves its clock past that margin: late, never stuck.
 */
export type ReportOrder = 'newer' | 'duplicate' | 'older';
export type ReportOrderBasis = 'sequence' | 'boot-chain' | 'bootCount' | 'counter-reset' | 'timestamp';

export interface ReportOrdering {
  readonly order: ReportOrder;
  /** What decided it, for metrics and logs. */
  readonly basis: ReportOrderBasis;
}

export interface ReportOrderOptions {
  /** How far past the last report a lower bootCount must be to count as a reset counter. Default 10 minutes. */
  readonly counterResetAfterMs?: number;
}

export const DEFAULT_COUNTER_RESET_AFTER_MS = 10 * 60 * 1000;

const sign = (n: number): ReportOrder => (n > 0 ? 'newer' : n < 0 ? 'older' : 'duplicate');

/** Where `next` stands relative to `last`, the newest report kept for the same thing. */
export function compareReportOrder(
  last: HealthReport,
  next: HealthReport,
  options: ReportOrderOptions = {},
): ReportOrdering {
  if (last.schemaVersion === 1 || next.schemaVersion === 1) {
    const byTime = sign(next.timestamp - last.timestamp);
    return { order: byTime === 'duplicate' ? sign(next.sequence - last.sequence) : byTime, basis: 'timestamp' };
  }
  if (next.bootId === last.bootId) return { order: sign(next.sequence - last.sequence), basis: 'sequence' };
  if (next.previousBootId === last.bootId) return { order: 'newer', basis: 'boot-chain' };
  if (last.previousBootId === next.bootId) return { order: 'older', basis: 'boot-chain' };
  if (next.bootCount > last.bootCount) return { order: 'newer', basis: 'bootCount' };
  if (next.bootCount < last.bootCount) {
    const resetAfter = options.counterResetAfterMs ?? DEFAULT_COUNTER_RESET_AFTER_MS;
    return next.timestamp - last.timestamp >= resetAfter
      ? { order: 'newer', basis: 'counter-reset' }
      : { order: 'older', basis: 'bootCount' };
  }
  // Two boots with one count: the count was not persisted before a crash. Time, then boot id, keep it total.
  const byTime = sign(next.timestamp - last.timestamp);
  if (byTime !== 'duplicate') return { order: byTime, basis: 'timestamp' };
  return { order: next.bootId > last.bootId ? 'newer' : 'older', basis: 'timestamp' };
}

/** Whether `next` should replace `last` (no last report: it should). */
export const isNewerReport = (
  last: HealthReport | undefined,
  next: HealthReport,
  options?: ReportOrderOptions,
): boolean => last === undefined || compareReportOrder(last, next, options).order === 'newer';
