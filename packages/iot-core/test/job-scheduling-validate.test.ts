import { describe, expect, it } from 'vitest';
import {
  parseScheduleTimestamp,
  validateSchedulingConfig,
  type SchedulingConfigInput,
} from '../src/jobs/scheduling/index.js';

/** The test clock: 2026-03-01T12:00:00Z. */
const NOW = Date.UTC(2026, 2, 1, 12, 0);
const at = (iso: string): number => Date.parse(iso);

function valid(config: SchedulingConfigInput, now = NOW) {
  const r = validateSchedulingConfig(config, now);
  if (!r.ok) throw new Error(`${r.error.field}: ${r.error.message}`);
  return r.value;
}

const window = (startTime: string, durationInMinutes = 60) => ({ startTime, durationInMinutes });

/** [what, config, field, message] — one row per documented rule, at both sides of each limit. */
const REFUSED: readonly (readonly [string, SchedulingConfigInput, string, string])[] = [
  [
    'startTime not a timestamp',
    { startTime: 'tomorrow' },
    'schedulingConfig.startTime',
    'startTime must be a date and time such as 2026-03-01T14:30 (YYYY-MM-DDTHH:MM, UTC unless it ends in Z or ±HH:MM): tomorrow',
  ],
  [
    'startTime on a day that does not exist',
    { startTime: '2026-02-30T10:00' },
    'schedulingConfig.startTime',
    'startTime must be a date and time such as 2026-03-01T14:30 (YYYY-MM-DDTHH:MM, UTC unless it ends in Z or ±HH:MM): 2026-02-30T10:00',
  ],
  [
    'startTime longer than 64 characters',
    { startTime: `2026-03-02T10:00${' '.repeat(60)}` },
    'schedulingConfig.startTime',
    `startTime must be a date and time such as 2026-03-01T14:30 (YYYY-MM-DDTHH:MM, UTC unless it ends in Z or ±HH:MM): 2026-03-02T10:00${' '.repeat(60)}`,
  ],
  [
    'startTime 29 minutes from now',
    { startTime: '2026-03-01T12:29' },
    'schedulingConfig.startTime',
    'startTime must be at least 30 minutes after the current time',
  ],
  [
    'startTime in the past',
    { startTime: '2026-02-01T12:00' },
    'schedulingConfig.startTime',
    'startTime must be at least 30 minutes after the current time',
  ],
  [
    'startTime a year and a minute ahead',
    { startTime: '2027-03-01T12:01' },
    'schedulingConfig.startTime',
    'startTime can be at most one year after the current time',
  ],
  [
    'endTime not a timestamp',
    { endTime: '2026-03-05 10:00' },
    'schedulingConfig.endTime',
    'endTime must be a date and time such as 2026-03-01T14:30 (YYYY-MM-DDTHH:MM, UTC unless it ends in Z or ±HH:MM): 2026-03-05 10:00',
  ],
  [
    'endTime 29 minutes from now',
    { endTime: '2026-03-01T12:29' },
    'schedulingConfig.endTime',
    'endTime must be at least 30 minutes after the current time',
  ],
  [
    'endTime two years and a minute ahead',
    { endTime: '2028-03-01T12:01' },
    'schedulingConfig.endTime',
    'endTime can be at most two years after the current time',
  ],
  [
    'endTime 29 minutes after startTime',
    { startTime: '2026-03-02T10:00', endTime: '2026-03-02T10:29' },
    'schedulingConfig.endTime',
    'endTime must be at least 30 minutes after startTime',
  ],
  [
    'endTime before startTime',
    { startTime: '2026-03-02T10:00', endTime: '2026-03-01T13:00' },
    'schedulingConfig.endTime',
    'endTime must be at least 30 minutes after startTime',
  ],
  [
    'endBehavior not one of the three',
    { endTime: '2026-03-05T10:00', endBehavior: 'PAUSE' },
    'schedulingConfig.endBehavior',
    'endBehavior must be one of STOP_ROLLOUT, CANCEL, FORCE_CANCEL: PAUSE',
  ],
  [
    'endBehavior in lower case',
    { endTime: '2026-03-05T10:00', endBehavior: 'cancel' },
    'schedulingConfig.endBehavior',
    'endBehavior must be one of STOP_ROLLOUT, CANCEL, FORCE_CANCEL: cancel',
  ],
  [
    'a window cron that does not parse',
    { maintenanceWindows: [window('cron(0 0 * * ? *)'), window('cron(0 25 * * ? *)')] },
    'schedulingConfig.maintenanceWindows[1].startTime',
    'Invalid cron expression "cron(0 25 * * ? *)": hours value 25 is outside 0-23',
  ],
  [
    'an empty window startTime',
    { maintenanceWindows: [window('')] },
    'schedulingConfig.maintenanceWindows[0].startTime',
    "a maintenance window's startTime is a cron expression of 1-256 characters",
  ],
  [
    'a window startTime of 257 characters',
    { maintenanceWindows: [window(`cron(0 0 * * ? *)${' '.repeat(240)}`)] },
    'schedulingConfig.maintenanceWindows[0].startTime',
    "a maintenance window's startTime is a cron expression of 1-256 characters",
  ],
  [
    'durationInMinutes 0',
    { maintenanceWindows: [window('cron(0 0 * * ? *)', 0)] },
    'schedulingConfig.maintenanceWindows[0].durationInMinutes',
    'durationInMinutes must be a whole number from 1 to 1430: 0',
  ],
  [
    'durationInMinutes 1431',
    { maintenanceWindows: [window('cron(0 0 * * ? *)', 1431)] },
    'schedulingConfig.maintenanceWindows[0].durationInMinutes',
    'durationInMinutes must be a whole number from 1 to 1430: 1431',
  ],
  [
    'durationInMinutes 1.5',
    { maintenanceWindows: [window('cron(0 0 * * ? *)', 1.5)] },
    'schedulingConfig.maintenanceWindows[0].durationInMinutes',
    'durationInMinutes must be a whole number from 1 to 1430: 1.5',
  ],
  [
    'a window whose years are past',
    { maintenanceWindows: [window('cron(0 0 1 1 ? 2025)')] },
    'schedulingConfig.maintenanceWindows[0].startTime',
    'the maintenance window "cron(0 0 1 1 ? 2025)" never opens after the job starts',
  ],
  [
    'a window that first opens after endTime',
    {
      startTime: '2026-03-02T00:00',
      endTime: '2026-03-03T00:00',
      maintenanceWindows: [window('cron(0 0 ? * SUN *)')],
    },
    'schedulingConfig.maintenanceWindows[0].startTime',
    `the maintenance window "cron(0 0 ? * SUN *)" never opens between the job's start and its endTime`,
  ],
];

describe('validateSchedulingConfig', () => {
  it.each(REFUSED)('refuses %s', (_what, config, field, message) => {
    expect(validateSchedulingConfig(config, NOW)).toEqual({ ok: false, error: { field, message } });
  });

  it('accepts each limit exactly at its edge', () => {
    expect(valid({ startTime: '2026-03-01T12:30' }).startTime).toBe(NOW + 30 * 60_000);
    expect(valid({ startTime: '2027-03-01T12:00' }).startTime).toBe(at('2027-03-01T12:00Z'));
    expect(valid({ endTime: '2026-03-01T12:30' }).endTime).toBe(NOW + 30 * 60_000);
    expect(valid({ endTime: '2028-03-01T12:00' }).endTime).toBe(at('2028-03-01T12:00Z'));
    expect(valid({ startTime: '2026-03-02T10:00', endTime: '2026-03-02T10:30' }).endTime).toBe(at('2026-03-02T10:30Z'));
    const windows = valid({
      maintenanceWindows: [window('cron(0 0 * * ? *)', 1), window('0 12 ? * MON-FRI *', 1430)],
    }).maintenanceWindows;
    expect(windows.map((w) => [w.startTime, w.durationInMinutes])).toEqual([
      ['cron(0 0 * * ? *)', 1],
      ['0 12 ? * MON-FRI *', 1430],
    ]);
  });

  it('returns times as epoch ms and the start of rollout (startTime, or now without one)', () => {
    expect(
      valid({ startTime: '2026-03-02T10:00', endTime: '2026-03-09T10:00', endBehavior: 'FORCE_CANCEL' }),
    ).toMatchObject({
      startTime: at('2026-03-02T10:00Z'),
      rolloutFrom: at('2026-03-02T10:00Z'),
      endTime: at('2026-03-09T10:00Z'),
      endBehavior: 'FORCE_CANCEL',
      maintenanceWindows: [],
    });
    expect(valid({})).toEqual({
      startTime: undefined,
      rolloutFrom: NOW,
      endTime: undefined,
      endBehavior: undefined,
      maintenanceWindows: [],
    });
  });

  it('accepts endBehavior without endTime (AWS: it then does not apply)', () => {
    expect(valid({ endBehavior: 'CANCEL' }).endBehavior).toBe('CANCEL');
  });

  it('accepts a window open right now for a job without startTime', () => {
    // 2026-03-01 is a Sunday; the window opened at 11:30 and is open until 12:30.
    expect(valid({ maintenanceWindows: [window('cron(30 11 ? * SUN *)', 60)] }).maintenanceWindows).toHaveLength(1);
    // One that closed at 12:00 sharp opens again next Sunday: still fine.
    expect(valid({ maintenanceWindows: [window('cron(0 11 ? * SUN *)', 60)] }).maintenanceWindows).toHaveLength(1);
  });

  it("restores after a restart: the stored input validated at the job's creation time gives the same result", () => {
    const input: SchedulingConfigInput = {
      startTime: '2026-03-02T10:00',
      endTime: '2026-03-09T10:00',
      endBehavior: 'CANCEL',
      maintenanceWindows: [window('cron(0 2 ? * MON-FRI *)', 90)],
    };
    const createdAt = NOW;
    const restored = validateSchedulingConfig(JSON.parse(JSON.stringify(input)) as SchedulingConfigInput, createdAt);
    expect(restored).toEqual(validateSchedulingConfig(input, createdAt));
    // Validated at the restart's own clock instead, the same config would be refused (startTime has passed).
    expect(validateSchedulingConfig(input, Date.UTC(2026, 2, 5)).ok).toBe(false);
  });

  it('checks against the clock it is given, not the machine clock', () => {
    const later = Date.UTC(2030, 0, 1);
    expect(validateSchedulingConfig({ startTime: '2026-03-02T10:00' }, later).ok).toBe(false);
    expect(validateSchedulingConfig({ startTime: '2030-01-02T10:00' }, later).ok).toBe(true);
  });
});

describe('parseScheduleTimestamp', () => {
  it.each([
    ['2026-03-01T14:30', Date.UTC(2026, 2, 1, 14, 30)],
    ['2026-03-01T14:30Z', Date.UTC(2026, 2, 1, 14, 30)],
    ['2026-03-01T14:30:15', Date.UTC(2026, 2, 1, 14, 30, 15)],
    ['2026-03-01T14:30:15.250Z', Date.UTC(2026, 2, 1, 14, 30, 15, 250)],
    ['2026-03-01T14:30+02:00', Date.UTC(2026, 2, 1, 12, 30)],
    ['2026-03-01T00:30-01:30', Date.UTC(2026, 2, 1, 2, 0)],
    ['2028-02-29T00:00', Date.UTC(2028, 1, 29)],
  ])('%s', (text, ms) => {
    expect(parseScheduleTimestamp(text)).toBe(ms);
  });

  it.each([
    '2026-03-01',
    '2026-03-01 14:30',
    '2026-3-1T14:30',
    '2026-13-01T14:30',
    '2026-02-29T00:00',
    '2026-03-01T24:00',
    '2026-03-01T14:60',
    '2026-03-01T14:30:60',
    '2026-03-01T14:30+25:00',
    '1772375400',
    '',
  ])('refuses %j', (text) => {
    expect(parseScheduleTimestamp(text)).toBeUndefined();
  });
});
