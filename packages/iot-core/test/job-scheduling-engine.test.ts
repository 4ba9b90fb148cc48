import { describe, expect, it } from 'vitest';
import {
  endAction,
  schedulingPhase,
  validateSchedulingConfig,
  type SchedulingConfigInput,
  type ValidScheduling,
} from '../src/jobs/scheduling/index.js';

const MINUTE = 60_000;
/** The test clock starts at 2026-03-01T12:00:00Z (a Sunday). */
const NOW = Date.UTC(2026, 2, 1, 12, 0);
const at = (iso: string): number => Date.parse(`${iso}Z`);
const iso = (t: number | undefined): string | undefined =>
  t === undefined ? t : new Date(t).toISOString().slice(0, 16);

function config(input: SchedulingConfigInput): ValidScheduling {
  const r = validateSchedulingConfig(input, NOW);
  if (!r.ok) throw new Error(`${r.error.field}: ${r.error.message}`);
  return r.value;
}

// ------------------------------------------------------------------------------- an engine on a test clock

/**
 * A minimal rollout engine driven by schedulingPhase and a test clock: it arms one timer at nextChangeAt, and
 * while in a window releases executions at a fixed rate; at the end it applies endAction. The clock jumps from
 * event to event, so days of schedule run in milliseconds.
 */
function simulate(c: ValidScheduling, pending: number, perMinute: number) {
  let now = NOW;
  const released: number[] = [];
  const phaseTimers: number[] = [];
  const ended: { at: number; action: string; canceled: number }[] = [];
  let queued = pending;
  for (let guard = 0; guard < 100_000; guard++) {
    const p = schedulingPhase(c, now);
    if (p.phase === 'ended') {
      ended.push({ at: now, action: endAction(c), canceled: endAction(c) === 'STOP_ROLLOUT' ? 0 : queued });
      queued = 0;
      break;
    }
    let next = p.nextChangeAt ?? Number.POSITIVE_INFINITY;
    if (p.phase === 'in-window' && queued > 0) {
      const batch = Math.min(perMinute, queued);
      for (let i = 0; i < batch; i++) released.push(now);
      queued -= batch;
      // The rate timer: the next batch a minute later, unless the phase changes first.
      next = Math.min(next, now + MINUTE);
    }
    if (!Number.isFinite(next)) break;
    if (next === p.nextChangeAt) phaseTimers.push(next);
    now = next;
  }
  return { released, phaseTimers, ended, queued };
}

describe('a job with a maintenance window on a test clock', () => {
  const windowStart = (t: number): boolean => {
    const d = new Date(t);
    return d.getUTCHours() === 2 && d.getUTCMinutes() < 30;
  };

  it('releases executions only inside the window, and cancels what is left at endTime', () => {
    const c = config({
      startTime: '2026-03-02T00:00',
      endTime: '2026-03-05T02:10',
      endBehavior: 'CANCEL',
      maintenanceWindows: [{ startTime: 'cron(0 2 * * ? *)', durationInMinutes: 30 }],
    });
    const run = simulate(c, 12_000, 100);
    // 30 minutes a day on Mar 2, 3, 4 and 10 minutes on Mar 5, at 100 a minute.
    expect(run.released).toHaveLength((30 + 30 + 30 + 10) * 100);
    expect(run.released.every(windowStart)).toBe(true);
    expect(iso(run.released[0])).toBe('2026-03-02T02:00');
    expect(iso(run.released[run.released.length - 1])).toBe('2026-03-05T02:09');
    expect(run.ended).toEqual([{ at: at('2026-03-05T02:10'), action: 'CANCEL', canceled: 2000 }]);
    // One phase timer per change: 02:00 open, 02:30 close on three days; 02:00 on the fourth; then the end.
    expect(run.phaseTimers.map(iso)).toEqual([
      '2026-03-02T02:00',
      '2026-03-02T02:30',
      '2026-03-03T02:00',
      '2026-03-03T02:30',
      '2026-03-04T02:00',
      '2026-03-04T02:30',
      '2026-03-05T02:00',
      '2026-03-05T02:10',
    ]);
  });

  it('stops the rollout at endTime with STOP_ROLLOUT, canceling nothing', () => {
    const c = config({
      startTime: '2026-03-02T00:00',
      endTime: '2026-03-03T00:00',
      endBehavior: 'STOP_ROLLOUT',
      maintenanceWindows: [{ startTime: 'cron(0 2 * * ? *)', durationInMinutes: 30 }],
    });
    const run = simulate(c, 10_000, 100);
    expect(run.released).toHaveLength(3000);
    expect(run.ended).toEqual([{ at: at('2026-03-03T00:00'), action: 'STOP_ROLLOUT', canceled: 0 }]);
  });

  it('cancels the executions still queued at endTime with CANCEL and FORCE_CANCEL', () => {
    for (const endBehavior of ['CANCEL', 'FORCE_CANCEL'] as const) {
      const c = config({
        startTime: '2026-03-02T00:00',
        endTime: '2026-03-03T00:00',
        endBehavior,
        maintenanceWindows: [{ startTime: 'cron(0 2 * * ? *)', durationInMinutes: 30 }],
      });
      const run = simulate(c, 10_000, 100);
      expect(run.released).toHaveLength(3000);
      expect(run.ended).toEqual([{ at: at('2026-03-03T00:00'), action: endBehavior, canceled: 7000 }]);
    }
  });
});
