import { nextCronFire } from './cron-next.js';
import type { JobEndBehavior, ValidMaintenanceWindow, ValidScheduling } from './scheduling-config.js';

const MINUTE_MS = 60_000;

/**
 * Where a scheduled job stands at one instant:
 * - `scheduled`: before startTime, or after it but before the first maintenance window opens — the job's status
 *   is SCHEDULED ("When the job reaches your selected startTime or the startTime of the next maintenance window
 *   … the status will update from SCHEDULED to IN_PROGRESS");
 * - `in-window`: executions may be rolled out (inside a window, or anywhere between startTime and endTime when
 *   there are no windows);
 * - `outside-window`: the job is IN_PROGRESS but between windows: no new executions are released;
 * - `ended`: endTime has passed: endAction(config) applies, once.
 * Windows are clipped to [startTime, endTime): one that opened before startTime rolls out from startTime until
 * it closes; one still open at endTime is cut off there. Overlapping windows (several, or one whose occurrences
 * overlap) form one stretch.
 */
export type SchedulingPhaseName = 'scheduled' | 'in-window' | 'outside-window' | 'ended';

export interface SchedulingPhase {
  readonly phase: SchedulingPhaseName;
  /** In-window only: when this stretch of rollout time closes (absent when it never does). */
  readonly windowEndsAt?: number;
  /**
   * The next instant the phase changes, so the engine arms one timer; null when it never changes again.
   * Exact, except when windows overlap into one unbroken stretch of more than MAX_MERGED_OCCURRENCES
   * occurrences (a cron firing every minute, say): then it is the end of the stretch examined so far, and the
   * phase there is simply the same again.
   */
  readonly nextChangeAt: number | null;
}

/** How many window occurrences one in-window stretch is followed through before it is cut short (see above). */
export const MAX_MERGED_OCCURRENCES = 5000;

export function schedulingPhase(config: ValidScheduling, nowMs: number): SchedulingPhase {
  const start = config.rolloutFrom;
  const end = config.endTime ?? Number.POSITIVE_INFINITY;
  const endOrNull = (t: number): number | null => (Number.isFinite(t) ? t : null);
  if (nowMs >= end) return { phase: 'ended', nextChangeAt: null };

  const windows = config.maintenanceWindows;
  if (windows.length === 0) {
    if (nowMs < start) return { phase: 'scheduled', nextChangeAt: start };
    return inWindow(endOrNull(end));
  }
  // The job leaves SCHEDULED at the first window instant at or after its start.
  const firstOpen = openingAtOrAfter(windows, start);
  if (firstOpen === null || firstOpen >= end) return { phase: 'scheduled', nextChangeAt: endOrNull(end) };
  if (nowMs < firstOpen) return { phase: 'scheduled', nextChangeAt: firstOpen };
  if (coveredUntil(windows, nowMs) !== undefined) return inWindow(Math.min(stretchEnd(windows, nowMs, end).end, end));
  const next = openingAtOrAfter(windows, nowMs);
  return { phase: 'outside-window', nextChangeAt: endOrNull(next === null ? end : Math.min(next, end)) };
}

function inWindow(windowEndsAt: number | null): SchedulingPhase {
  return windowEndsAt === null
    ? { phase: 'in-window', nextChangeAt: null }
    : { phase: 'in-window', windowEndsAt, nextChangeAt: windowEndsAt };
}

/** When t is inside an occurrence of some window: the latest end among the occurrences found covering it. */
function coveredUntil(windows: readonly ValidMaintenanceWindow[], t: number): number | undefined {
  let until: number | undefined;
  for (const w of windows) {
    const duration = w.durationInMinutes * MINUTE_MS;
    // The first fire after t - duration covers t unless it comes after t.
    const fire = nextCronFire(w.cron, t - duration);
    if (fire !== null && fire <= t) until = Math.max(until ?? 0, fire + duration);
  }
  return until;
}

/** From a covered instant t, the first instant no window covers (or `limit`, or where the search stopped). */
function stretchEnd(
  windows: readonly ValidMaintenanceWindow[],
  t: number,
  limit: number,
): { readonly end: number; readonly complete: boolean } {
  let end = t;
  for (let step = 0; step < MAX_MERGED_OCCURRENCES; step++) {
    if (end >= limit) return { end, complete: true };
    const until = coveredUntil(windows, end);
    if (until === undefined) return { end, complete: true };
    end = until;
  }
  return { end, complete: false };
}

/** The first instant at or after t inside some window (t itself when covered), or null when none ever opens. */
function openingAtOrAfter(windows: readonly ValidMaintenanceWindow[], t: number): number | null {
  if (coveredUntil(windows, t) !== undefined) return t;
  let first: number | null = null;
  for (const w of windows) {
    const fire = nextCronFire(w.cron, t - 1);
    if (fire !== null && (first === null || fire < first)) first = fire;
  }
  return first;
}

/**
 * What happens at endTime. AWS does not document a default when endTime is set without endBehavior; this core
 * then stops the rollout (STOP_ROLLOUT, the least destructive). Only meaningful for a config with an endTime.
 * - STOP_ROLLOUT: no further executions are released; those already released continue.
 * - CANCEL: the job is canceled: QUEUED executions are canceled, IN_PROGRESS ones continue (CancelJob).
 * - FORCE_CANCEL: as CANCEL, and IN_PROGRESS executions are canceled too (CancelJob with force).
 */
export function endAction(config: ValidScheduling): JobEndBehavior {
  return config.endBehavior ?? 'STOP_ROLLOUT';
}

/**
 * The next `count` instants after nowMs at which a stretch of rollout time opens within [start, endTime) —
 * what DescribeJob's scheduledJobRollouts lists (AWS shows the next seven). Empty without maintenance windows.
 */
export function upcomingRolloutStarts(config: ValidScheduling, nowMs: number, count = 7): readonly number[] {
  const windows = config.maintenanceWindows;
  const end = config.endTime ?? Number.POSITIVE_INFINITY;
  const out: number[] = [];
  let t = Math.max(nowMs, config.rolloutFrom);
  while (windows.length > 0 && out.length < count && t < end) {
    const opens = openingAtOrAfter(windows, t);
    if (opens === null || opens >= end) break;
    if (opens > nowMs) out.push(opens);
    const stretch = stretchEnd(windows, opens, end);
    if (!stretch.complete) break;
    t = stretch.end;
  }
  return out;
}
