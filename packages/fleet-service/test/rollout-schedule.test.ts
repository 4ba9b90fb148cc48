/** Maintenance windows (node-cron → AWS cron in UTC) and rollout rates (AWS's limits and wording). */
import { describe, expect, it } from 'vitest';
import { planMaintenance, zoneOffsetMinutes } from '../src/rollout/maintenance-windows.js';
import { checkRolloutRate } from '../src/rollout/rollout-rate.js';

const NOW = Date.UTC(2026, 0, 15);
const aws = (cron: string, timeZone?: string): string => {
  const planned = planMaintenance({ windows: [{ cron, durationMinutes: 60 }], ...(timeZone ? { timeZone } : {}) }, NOW);
  if (!planned.ok) throw new Error(planned.error.message);
  return planned.value.aws[0]?.startTime ?? '';
};
const refusal = (cron: string, timeZone?: string, durationMinutes = 60) => {
  const planned = planMaintenance({ windows: [{ cron, durationMinutes }], ...(timeZone ? { timeZone } : {}) }, NOW);
  if (planned.ok) throw new Error(`expected a refusal of ${cron}, got ${planned.value.aws[0]?.startTime}`);
  return planned.error;
};

describe('maintenance windows: node-cron to AWS cron', () => {
  it('maps the day fields: "?" for the one not restricted, day-of-week 0-6 (0 = Sunday) to 1-7 (1 = Sunday)', () => {
    expect(aws('0 2 * * *')).toBe('cron(0 2 * * ? *)');
    expect(aws('30 1 * * 1-5')).toBe('cron(30 1 ? * 2-6 *)');
    expect(aws('0 3 * * 0')).toBe('cron(0 3 ? * 1 *)');
    expect(aws('0 3 * * 7')).toBe('cron(0 3 ? * 1 *)');
    expect(aws('0 3 * * sat,sun')).toBe('cron(0 3 ? * 1,7 *)');
    expect(aws('0 4 1,15 * *')).toBe('cron(0 4 1,15 * ? *)');
    expect(aws('*/15 22-23 * jan-mar *')).toBe('cron(0,15,30,45 22-23 * 1-3 ? *)');
  });

  it('moves a window in a fixed-offset zone to UTC, shifting the day of the week across midnight', () => {
    // Kolkata is UTC+5:30 all year: Monday 02:00 there is Sunday 20:30 UTC.
    expect(zoneOffsetMinutes('Asia/Kolkata', NOW)).toBe(330);
    expect(aws('0 2 * * 1', 'Asia/Kolkata')).toBe('cron(30 20 ? * 1 *)');
    expect(aws('0 12 * * *', 'Asia/Kolkata')).toBe('cron(30 6 * * ? *)');
    expect(aws('0 23 * * 6', 'Etc/GMT+2')).toBe('cron(0 1 ? * 1 *)');
  });

  it('refuses what AWS cron cannot say, naming the field and why', () => {
    expect(refusal('0 2 1 * 1')).toMatchObject({
      field: 'maintenance.windows[0].cron',
      message: expect.stringContaining('not both'),
    });
    expect(refusal('0 0 2 * * *').message).toContain('seconds field has no AWS equivalent');
    expect(refusal('61 2 * * *').message).toContain('minute');
    expect(refusal('0 2 * *').message).toContain('expected 5 fields');
    expect(refusal('0 2 * * *', 'Europe/Berlin')).toMatchObject({
      field: 'maintenance.timeZone',
      message: expect.stringContaining('daylight saving time'),
    });
    expect(refusal('0 2 * * *', 'Mars/Olympus')).toMatchObject({ field: 'maintenance.timeZone' });
    expect(refusal('0 1 5 * *', 'Asia/Kolkata').message).toContain('previous day');
    expect(refusal('0 3-8 * * *', 'Asia/Kolkata').message).toContain('midnight UTC');
    expect(refusal('0 2 * * *', undefined, 1431)).toMatchObject({
      field: 'maintenance.windows[0].durationMinutes',
      message: expect.stringContaining('1 to 1430 minutes'),
    });
    expect(refusal('0 2 * * *', undefined, 0).field).toBe('maintenance.windows[0].durationMinutes');
  });
});

describe('rollout rate', () => {
  it('accepts AWS’s ranges and answers a violation with AWS’s text and the field', () => {
    expect(checkRolloutRate({ maximumPerMinute: 1000 }).ok).toBe(true);
    expect(
      checkRolloutRate({
        maximumPerMinute: 200,
        exponentialRate: {
          baseRatePerMinute: 10,
          incrementFactor: 2,
          rateIncreaseCriteria: { numberOfSucceededThings: 5 },
        },
      }).ok,
    ).toBe(true);
    expect(checkRolloutRate({ maximumPerMinute: 1001 })).toEqual({
      ok: false,
      error: {
        field: 'rate.maximumPerMinute',
        message:
          "1 validation error detected: Value '1001' at 'jobExecutionsRolloutConfig.maximumPerMinute' failed to satisfy constraint: Member must have value less than or equal to 1000",
      },
    });
    const low = checkRolloutRate({
      exponentialRate: {
        baseRatePerMinute: 5,
        incrementFactor: 1.05,
        rateIncreaseCriteria: { numberOfNotifiedThings: 5 },
      },
    });
    expect(low).toMatchObject({
      ok: false,
      error: {
        field: 'rate.exponentialRate.incrementFactor',
        message: expect.stringContaining('greater than or equal to 1.1'),
      },
    });
    const none = checkRolloutRate({
      exponentialRate: { baseRatePerMinute: 5, incrementFactor: 2, rateIncreaseCriteria: {} },
    });
    expect(none).toMatchObject({ ok: false, error: { field: 'rate.exponentialRate.rateIncreaseCriteria' } });
    expect(checkRolloutRate({ maximumPerMinute: 0 })).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('greater than or equal to 1') },
    });
  });
});
