import { describe, expect, it } from 'vitest';
import {
  MAX_MERGED_OCCURRENCES,
  endAction,
  schedulingPhase,
  upcomingRolloutStarts,
  validateSchedulingConfig,
  type SchedulingConfigInput,
  type SchedulingPhaseName,
  type ValidScheduling,
} from '../src/jobs/scheduling/index.js';
import { prng, Rand } from '../src/testing/seeded-random.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The test clock starts at 2026-03-01T12:00:00Z (a Sunday). */
const NOW = Date.UTC(2026, 2, 1, 12, 0);
const at = (iso: string): number => Date.parse(`${iso}Z`);
const iso = (t: number | null | undefined): string | null | undefined =>
  t === null || t === undefined ? t : new Date(t).toISOString().slice(0, 16);

function config(input: SchedulingConfigInput, now = NOW): ValidScheduling {
  const r = validateSchedulingConfig(input, now);
  if (!r.ok) throw new Error(`${r.error.field}: ${r.error.message}`);
  return r.value;
}

/** phase and nextChangeAt at each instant, as readable strings. */
function timeline(c: ValidScheduling, instants: readonly string[]): string[] {
  return instants.map((t) => {
    const p = schedulingPhase(c, at(t));
    const ends = p.windowEndsAt === undefined ? '' : ` until ${iso(p.windowEndsAt)}`;
    return `${t} ${p.phase}${ends} next ${String(iso(p.nextChangeAt))}`;
  });
}

describe('schedulingPhase', () => {
  it('without scheduling, rolls out at once and never changes', () => {
    expect(schedulingPhase(config({}), NOW)).toEqual({ phase: 'in-window', nextChangeAt: null });
    expect(schedulingPhase(config({}), NOW + 1000 * DAY)).toEqual({ phase: 'in-window', nextChangeAt: null });
  });

  it('is SCHEDULED until startTime, then rolls out until endTime, then has ended', () => {
    const c = config({ startTime: '2026-03-02T10:00', endTime: '2026-03-03T10:00', endBehavior: 'CANCEL' });
    expect(
      timeline(c, ['2026-03-01T12:00', '2026-03-02T09:59', '2026-03-02T10:00', '2026-03-03T09:59', '2026-03-03T10:00']),
    ).toEqual([
      '2026-03-01T12:00 scheduled next 2026-03-02T10:00',
      '2026-03-02T09:59 scheduled next 2026-03-02T10:00',
      '2026-03-02T10:00 in-window until 2026-03-03T10:00 next 2026-03-03T10:00',
      '2026-03-03T09:59 in-window until 2026-03-03T10:00 next 2026-03-03T10:00',
      '2026-03-03T10:00 ended next null',
    ]);
    expect(schedulingPhase(c, at('2026-03-02T10:00') - 1).phase).toBe('scheduled');
    expect(schedulingPhase(c, at('2026-03-03T10:00') - 1).phase).toBe('in-window');
    expect(endAction(c)).toBe('CANCEL');
  });

  it('with an endTime only, rolls out from creation until endTime', () => {
    const c = config({ endTime: '2026-03-01T13:00' });
    expect(timeline(c, ['2026-03-01T12:00', '2026-03-01T13:00'])).toEqual([
      '2026-03-01T12:00 in-window until 2026-03-01T13:00 next 2026-03-01T13:00',
      '2026-03-01T13:00 ended next null',
    ]);
  });

  it('with a maintenance window, stays SCHEDULED until the first window after startTime and rolls out only inside windows', () => {
    // Every day 22:00-02:00; startTime at 00:00 falls inside a window, endTime at 01:00 three days on cuts one short.
    const c = config({
      startTime: '2026-03-02T00:00',
      endTime: '2026-03-05T01:00',
      endBehavior: 'FORCE_CANCEL',
      maintenanceWindows: [{ startTime: 'cron(0 22 * * ? *)', durationInMinutes: 240 }],
    });
    expect(
      timeline(c, [
        '2026-03-01T12:00',
        '2026-03-01T22:30', // a window is open, but the job has not started
        '2026-03-02T00:00', // startTime inside a window: rollout from startTime until it closes
        '2026-03-02T01:59',
        '2026-03-02T02:00',
        '2026-03-02T21:59',
        '2026-03-02T22:00',
        '2026-03-04T23:00', // the last window is cut off at endTime
        '2026-03-05T01:00',
      ]),
    ).toEqual([
      '2026-03-01T12:00 scheduled next 2026-03-02T00:00',
      '2026-03-01T22:30 scheduled next 2026-03-02T00:00',
      '2026-03-02T00:00 in-window until 2026-03-02T02:00 next 2026-03-02T02:00',
      '2026-03-02T01:59 in-window until 2026-03-02T02:00 next 2026-03-02T02:00',
      '2026-03-02T02:00 outside-window next 2026-03-02T22:00',
      '2026-03-02T21:59 outside-window next 2026-03-02T22:00',
      '2026-03-02T22:00 in-window until 2026-03-03T02:00 next 2026-03-03T02:00',
      '2026-03-04T23:00 in-window until 2026-03-05T01:00 next 2026-03-05T01:00',
      '2026-03-05T01:00 ended next null',
    ]);
    expect(endAction(c)).toBe('FORCE_CANCEL');
  });

  it('stays SCHEDULED after startTime until the first window opens', () => {
    // startTime Monday 10:00; the window is Saturdays 01:00 for 30 minutes.
    const c = config({
      startTime: '2026-03-02T10:00',
      maintenanceWindows: [{ startTime: 'cron(0 1 ? * SAT *)', durationInMinutes: 30 }],
    });
    expect(timeline(c, ['2026-03-02T10:00', '2026-03-07T00:59', '2026-03-07T01:00', '2026-03-07T01:30'])).toEqual([
      '2026-03-02T10:00 scheduled next 2026-03-07T01:00',
      '2026-03-07T00:59 scheduled next 2026-03-07T01:00',
      '2026-03-07T01:00 in-window until 2026-03-07T01:30 next 2026-03-07T01:30',
      '2026-03-07T01:30 outside-window next 2026-03-14T01:00',
    ]);
  });

  it('joins overlapping windows, of one cron or of several, into one stretch', () => {
    const c = config({
      startTime: '2026-03-02T00:00',
      maintenanceWindows: [
        { startTime: 'cron(0 22 * * ? *)', durationInMinutes: 120 },
        { startTime: 'cron(30 23 * * ? *)', durationInMinutes: 60 },
        { startTime: 'cron(0 3 * * ? *)', durationInMinutes: 60 },
      ],
    });
    expect(timeline(c, ['2026-03-02T22:10', '2026-03-03T00:30', '2026-03-03T03:00'])).toEqual([
      '2026-03-02T22:10 in-window until 2026-03-03T00:30 next 2026-03-03T00:30',
      '2026-03-03T00:30 outside-window next 2026-03-03T03:00',
      '2026-03-03T03:00 in-window until 2026-03-03T04:00 next 2026-03-03T04:00',
    ]);
    // Hourly occurrences of 90 minutes overlap each other: one stretch across the day's allowed hours.
    const hourly = config({
      startTime: '2026-03-02T00:00',
      maintenanceWindows: [{ startTime: 'cron(0 8-11 * * ? *)', durationInMinutes: 90 }],
    });
    expect(timeline(hourly, ['2026-03-02T08:00'])).toEqual([
      '2026-03-02T08:00 in-window until 2026-03-02T12:30 next 2026-03-02T12:30',
    ]);
  });

  it('ends a job whose windows never open before endTime as SCHEDULED, at endTime', () => {
    // Windows on the 1st of the month at 03:00; the job runs 2026-03-02 to 2026-03-03.
    const c: ValidScheduling = {
      ...config({ startTime: '2026-03-02T00:00', endTime: '2026-03-03T00:00' }),
      maintenanceWindows: config({ maintenanceWindows: [{ startTime: 'cron(0 3 1 * ? *)', durationInMinutes: 60 }] })
        .maintenanceWindows,
    };
    expect(timeline(c, ['2026-03-02T00:00', '2026-03-03T00:00'])).toEqual([
      '2026-03-02T00:00 scheduled next 2026-03-03T00:00',
      '2026-03-03T00:00 ended next null',
    ]);
  });

  it('follows a stretch that never closes for MAX_MERGED_OCCURRENCES occurrences, then asks again', () => {
    const c = config({ maintenanceWindows: [{ startTime: 'cron(* * * * ? *)', durationInMinutes: 5 }] });
    const p = schedulingPhase(c, NOW);
    expect(p.phase).toBe('in-window');
    expect(p.nextChangeAt).toBe(NOW + MAX_MERGED_OCCURRENCES * MINUTE);
    expect(schedulingPhase(c, p.nextChangeAt ?? 0).phase).toBe('in-window');
  });

  it('defaults the end action to STOP_ROLLOUT', () => {
    expect(endAction(config({ endTime: '2026-03-02T00:00' }))).toBe('STOP_ROLLOUT');
    expect(endAction(config({ endTime: '2026-03-02T00:00', endBehavior: 'STOP_ROLLOUT' }))).toBe('STOP_ROLLOUT');
  });
});

describe('upcomingRolloutStarts', () => {
  it('lists the next seven stretches of rollout time within the job', () => {
    const c = config({
      startTime: '2026-03-02T00:00',
      endTime: '2026-03-07T00:00',
      maintenanceWindows: [{ startTime: 'cron(0 22 * * ? *)', durationInMinutes: 240 }],
    });
    expect(upcomingRolloutStarts(c, NOW).map(iso)).toEqual([
      '2026-03-02T00:00', // the window open at startTime rolls out from startTime
      '2026-03-02T22:00',
      '2026-03-03T22:00',
      '2026-03-04T22:00',
      '2026-03-05T22:00',
      '2026-03-06T22:00',
    ]);
    expect(upcomingRolloutStarts(c, at('2026-03-05T23:00'), 7).map(iso)).toEqual(['2026-03-06T22:00']);
    expect(upcomingRolloutStarts(c, NOW, 2).map(iso)).toEqual(['2026-03-02T00:00', '2026-03-02T22:00']);
    expect(upcomingRolloutStarts(config({ startTime: '2026-03-02T00:00' }), NOW)).toEqual([]);
  });
});

// ------------------------------------------------------------------------- against a minute-by-minute scan

/** Window shapes whose fires the reference can state without a cron evaluator. */
type Shape =
  | { kind: 'daily'; h: number; m: number }
  | { kind: 'weekly'; weekday: number; h: number; m: number }
  | { kind: 'everyHours'; k: number; m: number }
  | { kind: 'workdays'; h: number; m: number };

const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function shapeCron(s: Shape): string {
  switch (s.kind) {
    case 'daily':
      return `cron(${s.m} ${s.h} * * ? *)`;
    case 'weekly':
      return `cron(${s.m} ${s.h} ? * ${DAYS[s.weekday - 1] ?? ''} *)`;
    case 'everyHours':
      return `${s.m} */${s.k} * * ? *`;
    case 'workdays':
      return `cron(${s.m} ${s.h} ? * MON-FRI *)`;
  }
}

function firesAt(s: Shape, t: number): boolean {
  const d = new Date(t);
  const [h, m, weekday] = [d.getUTCHours(), d.getUTCMinutes(), d.getUTCDay() + 1];
  switch (s.kind) {
    case 'daily':
      return h === s.h && m === s.m;
    case 'weekly':
      return weekday === s.weekday && h === s.h && m === s.m;
    case 'everyHours':
      return h % s.k === 0 && m === s.m;
    case 'workdays':
      return weekday >= 2 && weekday <= 6 && h === s.h && m === s.m;
  }
}

interface GenJob {
  readonly input: SchedulingConfigInput;
  readonly windows: readonly { shape: Shape; minutes: number }[];
}

function genJob(r: Rand): GenJob {
  const windows = Array.from({ length: r.int(0, 3) }, () => {
    const h = r.int(0, 23);
    const m = r.pick([0, 15, 30, 45, r.int(0, 59)]);
    const shape: Shape = r.pick<Shape>([
      { kind: 'daily', h, m },
      { kind: 'weekly', weekday: r.int(1, 7), h, m },
      { kind: 'everyHours', k: r.pick([2, 3, 6, 8, 12]), m },
      { kind: 'workdays', h, m },
    ]);
    return { shape, minutes: r.pick([1, 30, 60, 90, 240, 600, 1430, r.int(1, 1430)]) };
  });
  const minuteIso = (t: number): string => new Date(t).toISOString().slice(0, 16);
  const start = r.chance(0.8) ? NOW + r.int(30, 3 * 24 * 60) * MINUTE : undefined;
  const end = r.chance(0.8) ? (start ?? NOW) + r.int(30, 8 * 24 * 60) * MINUTE : undefined;
  return {
    input: {
      ...(start === undefined ? {} : { startTime: minuteIso(start) }),
      ...(end === undefined ? {} : { endTime: minuteIso(end) }),
      maintenanceWindows: windows.map((w) => ({ startTime: shapeCron(w.shape), durationInMinutes: w.minutes })),
    },
    windows,
  };
}

/** The phase at every minute of [from, to), by marking every window occurrence on a minute array. */
function scanPhases(job: GenJob, c: ValidScheduling, from: number, to: number): SchedulingPhaseName[] {
  const minutes = (to - from) / MINUTE;
  const covered = new Array<boolean>(minutes).fill(false);
  for (const w of job.windows) {
    for (let f = from - w.minutes * MINUTE; f < to; f += MINUTE) {
      if (!firesAt(w.shape, f)) continue;
      for (let i = Math.max(0, (f - from) / MINUTE); i < Math.min(minutes, (f - from) / MINUTE + w.minutes); i++)
        covered[i] = true;
    }
  }
  const start = c.rolloutFrom;
  const end = c.endTime ?? Number.POSITIVE_INFINITY;
  let firstOpen: number | undefined;
  for (let i = 0; i < minutes; i++) {
    const t = from + i * MINUTE;
    if (t >= start && t < end && (job.windows.length === 0 || covered[i] === true)) {
      firstOpen = t;
      break;
    }
  }
  return covered.map((isCovered, i): SchedulingPhaseName => {
    const t = from + i * MINUTE;
    if (t >= end) return 'ended';
    if (firstOpen === undefined || t < firstOpen) return 'scheduled';
    return job.windows.length === 0 || isCovered ? 'in-window' : 'outside-window';
  });
}

describe('schedulingPhase against a minute-by-minute scan', () => {
  it('agrees at every minute of 200 random jobs (seeded), and nextChangeAt is exactly the next change', () => {
    const r = new Rand(prng(424242));
    let changes = 0;
    for (let n = 0; n < 200; n++) {
      const job = genJob(r);
      const validated = validateSchedulingConfig(job.input, NOW);
      if (!validated.ok) continue; // a window that never opens before endTime: refused, tested elsewhere
      const c = validated.value;
      const from = NOW;
      const to = NOW + 12 * DAY;
      const expected = scanPhases(job, c, from, to);
      let t = from;
      while (t < to) {
        const p = schedulingPhase(c, t);
        const stop = p.nextChangeAt === null ? to : Math.min(p.nextChangeAt, to);
        for (let m = t; m < stop; m += MINUTE) {
          const want = expected[(m - from) / MINUTE];
          if (want !== p.phase) {
            throw new Error(
              `${JSON.stringify(job.input)} at ${iso(m)}: expected ${String(want)}, phase(${iso(t)}) = ${JSON.stringify(p)}`,
            );
          }
        }
        if (p.phase === 'in-window') expect(p.windowEndsAt ?? null).toBe(p.nextChangeAt);
        if (p.nextChangeAt === null || p.nextChangeAt >= to) break;
        expect(p.nextChangeAt).toBeGreaterThan(t);
        expect(
          expected[(p.nextChangeAt - from) / MINUTE],
          `${JSON.stringify(job.input)} changes at ${iso(p.nextChangeAt)}`,
        ).not.toBe(p.phase);
        // Between minutes the phase is that of the minute before.
        expect(schedulingPhase(c, p.nextChangeAt - 1).phase).toBe(p.phase);
        t = p.nextChangeAt;
        changes++;
      }
    }
    expect(changes).toBeGreaterThan(1000);
  });
});
