/**
 * The simulator's CI proof at fleet scale: virtual devices running the real agent against the real local stack.
 * A bad release is caught by the canary and goes no further; a good one reaches every device.
 *
 * 1,000 devices on two worker threads, as the simulator issue asks. What makes that fit on a shared 2-core machine:
 * at most 50 devices per thread booting at once (BootPacer), an agent whose start failed under load started again,
 * and a periodic health-report interval that grows with the fleet (20 s here), so the main thread (broker, fleet
 * service, runner) is not starved while the devices connect. See docs/simulator.md.
 */
import { describe, expect, it } from 'vitest';
import { failedChecks, runPreset } from './scenario-harness.js';

const DEVICES = 1_000;

describe('fleet rollouts (1,000 devices)', () => {
  it('a bad release: the canary catches it, the rollout stops, the canary rolls back, no other device is touched', async () => {
    const report = await runPreset('bad-canary', { devices: DEVICES });
    expect(failedChecks(report)).toBe('');
    expect(report.passed).toBe(true);
    expect(report.devices).toBe(DEVICES);
    expect(report.rollout.status).toBe('rolled-back');
    const [canary, ...rest] = report.rollout.waves;
    expect(canary).toMatchObject({ name: 'canary', status: 'failed', decision: 'breach', devices: 10 });
    expect(rest.map((w) => w.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(report.versions).toEqual({ '1.0.0': DEVICES });
    expect(report.rollbacks.devices).toBe(10);
    expect(Object.keys(report.rollbacks.byReasonCode)).toEqual(['HEALTH_CHECK_FAILED']);
    expect(report.touchedDevices).toBe(10);
    expect(report.jobs.find((j) => j.job === 'canary')?.byStatus).toEqual({ FAILED: 10 });
  }, 300_000);

  it('a good release reaches every device, wave by wave', async () => {
    const report = await runPreset('happy-path', { devices: DEVICES });
    expect(failedChecks(report)).toBe('');
    expect(report.rollout.status).toBe('completed');
    expect(report.rollout.waves.map((w) => [w.status, w.devices])).toEqual([
      ['passed', 10],
      ['passed', 240],
      ['passed', 250],
      ['passed', 500],
    ]);
    expect(report.versions).toEqual({ '1.1.0': DEVICES });
    expect(report.rollbacks.total).toBe(0);
    expect(report.touchedDevices).toBe(DEVICES);
    expect(report.gateDecisions.map((g) => g.decision)).toEqual([
      'gate-passed',
      'gate-passed',
      'gate-passed',
      'gate-passed',
    ]);
  }, 300_000);
});
