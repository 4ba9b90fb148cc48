/** Faulty fleets still end right: every device on the good release, every job in a true final state. */
import { describe, expect, it } from 'vitest';
import { failedChecks, runPreset } from './scenario-harness.js';

describe('scenarios with faults', () => {
  it('power cuts and agent crashes mid-update: every device resumes from its journal and ends on 1.1.0', async () => {
    const report = await runPreset('power-cuts', { devices: 60 });
    expect(failedChecks(report)).toBe('');
    expect(report.versions).toEqual({ '1.1.0': 60 });
    expect(report.measured.powerCuts).toBeGreaterThan(0);
    expect(report.jobs.flatMap((j) => Object.keys(j.byStatus))).toEqual(report.jobs.map(() => 'SUCCEEDED'));
  }, 240_000);

  it('a flaky network (drops, flapping, slow links, corrupted downloads): every device on a good version', async () => {
    const report = await runPreset('flaky-network', { devices: 60 });
    expect(failedChecks(report)).toBe('');
    expect(report.rollout.status).toBe('completed');
    // Only a corrupted download (refused by the agent's verification, not retried) may keep a device on 1.0.0.
    expect(report.versions['1.1.0']).toBeGreaterThanOrEqual(58);
    expect((report.versions['1.1.0'] ?? 0) + (report.versions['1.0.0'] ?? 0)).toBe(60);
    expect(report.checks.find((c) => c.name === 'every job final')?.passed).toBe(true);
    expect(report.checks.find((c) => c.name === 'devices agree with the job service')?.passed).toBe(true);
  }, 240_000);
});
