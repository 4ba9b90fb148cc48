import { describe, expect, it } from 'vitest';
import {
  DEFAULT_COUNTER_RESET_AFTER_MS,
  compareReportOrder,
  isNewerReport,
  type HealthReportV1,
  type HealthReportV2,
} from '@otafleet/protocol';

const BOOT_A = '00000000-0000-4000-8000-00000000000a';
const BOOT_B = '00000000-0000-4000-8000-00000000000b';
const BOOT_C = '00000000-0000-4000-8000-00000000000c';
const T0 = 1_767_225_600_000;

function v2(
  bootId: string,
  bootCount: number,
  sequence: number,
  timestamp: number,
  previousBootId?: string,
): HealthReportV2 {
  return {
    schemaVersion: 2,
    thingName: 'pi-0001',
    bootId,
    ...(previousBootId === undefined ? {} : { previousBootId }),
    bootCount,
    sequence,
    timestamp,
    agentVersion: '0.2.0',
    firmwareVersion: '1.1.0',
    hardwareType: 'rpi4',
    activeSlot: 'A',
    status: 'healthy',
    uptimeSeconds: 0,
    counters: { processRestarts: 0, crashes: 0, errors: 0, requests: 0 },
    rollbackCount: 0,
    checks: [],
  };
}

function v1(sequence: number, timestamp: number): HealthReportV1 {
  return {
    schemaVersion: 1,
    thingName: 'pi-0001',
    timestamp,
    sequence,
    agentVersion: '0.1.0',
    firmwareVersion: '1.0.0',
    activeSlot: 'A',
    status: 'healthy',
    uptimeSeconds: 0,
    checks: [],
  };
}

describe('health report ordering', () => {
  it('within a boot the sequence decides, whatever the clock did', () => {
    const last = v2(BOOT_A, 5, 10, T0);
    // NTP stepped the clock back an hour between the two reports.
    expect(compareReportOrder(last, v2(BOOT_A, 5, 11, T0 - 3_600_000))).toEqual({ order: 'newer', basis: 'sequence' });
    expect(compareReportOrder(last, v2(BOOT_A, 5, 9, T0 + 3_600_000))).toEqual({ order: 'older', basis: 'sequence' });
    expect(compareReportOrder(last, v2(BOOT_A, 5, 10, T0))).toEqual({ order: 'duplicate', basis: 'sequence' });
  });

  it('the next boot names the one before it: a reboot with its clock behind is newer, a late report older', () => {
    const last = v2(BOOT_A, 5, 900, T0);
    const afterReboot = v2(BOOT_B, 6, 0, Date.parse('1970-01-01T00:01:00Z'), BOOT_A);
    expect(compareReportOrder(last, afterReboot)).toEqual({ order: 'newer', basis: 'boot-chain' });
    // A late report of boot A, whose clock was right, must not look like a counter reset.
    expect(compareReportOrder(afterReboot, v2(BOOT_A, 5, 901, T0 + 1000))).toEqual({
      order: 'older',
      basis: 'boot-chain',
    });
  });

  it('boots further apart go by boot count, whatever their clocks say', () => {
    const last = v2(BOOT_A, 5, 900, T0);
    expect(compareReportOrder(last, v2(BOOT_C, 7, 0, 60_000, BOOT_B))).toEqual({ order: 'newer', basis: 'bootCount' });
    expect(compareReportOrder(v2(BOOT_C, 7, 0, T0, BOOT_B), v2(BOOT_A, 5, 3, T0 - 1))).toEqual({
      order: 'older',
      basis: 'bootCount',
    });
  });

  it('a lower boot count well past the last report is a reset counter (reflashed device)', () => {
    const last = v2(BOOT_A, 40, 3, T0);
    const reflashed = v2(BOOT_B, 1, 0, T0 + DEFAULT_COUNTER_RESET_AFTER_MS);
    expect(compareReportOrder(last, reflashed)).toEqual({ order: 'newer', basis: 'counter-reset' });
    expect(compareReportOrder(last, v2(BOOT_B, 1, 0, T0 + DEFAULT_COUNTER_RESET_AFTER_MS - 1))).toEqual({
      order: 'older',
      basis: 'bootCount',
    });
    expect(compareReportOrder(last, v2(BOOT_B, 1, 0, T0 + 60_000), { counterResetAfterMs: 60_000 }).order).toBe(
      'newer',
    );
  });

  it('two boots with one count (count not persisted before a crash): time, then boot id', () => {
    const last = v2(BOOT_A, 7, 3, T0);
    expect(compareReportOrder(last, v2(BOOT_B, 7, 0, T0 + 1))).toEqual({ order: 'newer', basis: 'timestamp' });
    expect(compareReportOrder(last, v2(BOOT_B, 7, 0, T0 - 1))).toEqual({ order: 'older', basis: 'timestamp' });
    const tieAB = compareReportOrder(last, v2(BOOT_B, 7, 0, T0)).order;
    const tieBA = compareReportOrder(v2(BOOT_B, 7, 0, T0), last).order;
    expect([tieAB, tieBA].sort()).toEqual(['newer', 'older']);
  });

  it('version 1 reports (no boot identity) go by timestamp, then sequence', () => {
    expect(compareReportOrder(v1(3, T0), v1(0, T0 + 1))).toEqual({ order: 'newer', basis: 'timestamp' });
    expect(compareReportOrder(v1(3, T0), v1(4, T0))).toEqual({ order: 'newer', basis: 'timestamp' });
    expect(compareReportOrder(v1(3, T0), v1(3, T0))).toEqual({ order: 'duplicate', basis: 'timestamp' });
    // An agent upgraded from v1 to v2 reports: still ordered by its clock.
    expect(compareReportOrder(v1(3, T0), v2(BOOT_A, 1, 0, T0 + 5)).order).toBe('newer');
    expect(compareReportOrder(v2(BOOT_A, 1, 0, T0 + 5), v1(3, T0)).order).toBe('older');
  });

  it('isNewerReport keeps the first report and only newer ones', () => {
    const first = v2(BOOT_A, 1, 0, T0);
    expect(isNewerReport(undefined, first)).toBe(true);
    expect(isNewerReport(first, first)).toBe(false);
    expect(isNewerReport(first, v2(BOOT_A, 1, 1, T0))).toBe(true);
  });

  it('replaying a shuffled stream with duplicates keeps exactly the newest report', () => {
    const stream = [
      ...[0, 1, 2, 3].map((s) => v2(BOOT_A, 1, s, T0 + s * 1000)),
      // The next boot starts with its clock at 1970.
      ...[0, 1, 2].map((s) => v2(BOOT_B, 2, s, 1000 + s, BOOT_A)),
    ];
    const newest = stream[stream.length - 1];
    // A fixed shuffle with redeliveries, so the test is the same every run.
    const delivered = [3, 0, 5, 1, 4, 4, 2, 6, 0, 6, 5].map((i) => stream[i] as HealthReportV2);
    let kept: HealthReportV2 | undefined;
    let accepted = 0;
    for (const r of delivered) {
      if (isNewerReport(kept, r)) {
        kept = r;
        accepted += 1;
      }
    }
    expect(kept).toBe(newest);
    // A3, then B1 (B0 arrives after it), then B2.
    expect(accepted).toBe(3);
  });
});
