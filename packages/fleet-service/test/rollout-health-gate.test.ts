import { describe, expect, it } from 'vitest';
import { DEFAULT_GATE, evaluateGate, type GateInput, type HealthSample } from '@otafleet/fleet-service';

const sample = (over: Partial<HealthSample> = {}): HealthSample => ({
  devices: 100,
  unhealthy: 0,
  uptimeSeconds: 100 * 3600,
  crashes: 2,
  restarts: 3,
  errors: 10,
  requests: 10_000,
  ...over,
});

const settled = (over: Partial<GateInput> = {}): GateInput => ({
  install: { targeted: 100, queued: 0, inProgress: 0, succeeded: 100, failed: 0 },
  updated: sample(),
  updatedBefore: sample(),
  notUpdated: sample(),
  soaked: true,
  ...over,
});

describe('evaluateGate', () => {
  it('passes a soaked wave that installed and behaves like its baseline', () => {
    const verdict = evaluateGate(settled());
    expect(verdict.decision).toBe('pass');
    expect(verdict.findings.every((f) => f.passed)).toBe(true);
  });

  it('waits while executions are pending and the minimum is still reachable', () => {
    const verdict = evaluateGate(
      settled({ install: { targeted: 100, queued: 10, inProgress: 20, succeeded: 68, failed: 2 } }),
    );
    expect(verdict).toMatchObject({ decision: 'wait', waitingFor: '30 of 100 executions to settle' });
  });

  it('breaches early once the minimum success rate can no longer be reached', () => {
    const verdict = evaluateGate(
      settled({ install: { targeted: 100, queued: 50, inProgress: 0, succeeded: 44, failed: 6 } }),
    );
    expect(verdict.decision).toBe('breach');
    expect(verdict.findings[0]).toMatchObject({ gate: 'install-success', passed: false, observed: 0.94 });
    expect(verdict.findings[0]?.message).toContain('6 of 100 failed so far');
  });

  it('breaches on install failures after settling, naming the counts', () => {
    const verdict = evaluateGate(
      settled({ install: { targeted: 20, queued: 0, inProgress: 0, succeeded: 18, failed: 2 } }),
    );
    expect(verdict.decision).toBe('breach');
    expect(verdict.findings[0]?.message).toBe('install-success: 18 of 20 succeeded (90.0%, minimum 95.0%)');
  });

  it('breaches when updated devices crash more than twice the worse baseline', () => {
    const verdict = evaluateGate(settled({ updated: sample({ crashes: 200 }) }));
    expect(verdict.decision).toBe('breach');
    const crash = verdict.findings.find((f) => f.gate === 'crash-rate');
    expect(crash).toMatchObject({ passed: false, observed: 2 });
    expect(crash?.threshold).toBe(DEFAULT_GATE.crashesPerDeviceHourFloor);
  });

  it('the worse baseline wins: a sick fleet raises the bar only as far as the devices own past allows', () => {
    // Not-updated devices crash a lot (a fleet-wide incident); the updated ones did not crash before their update.
    const input = settled({
      updated: sample({ crashes: 300 }),
      notUpdated: sample({ crashes: 400 }),
      updatedBefore: sample({ crashes: 0 }),
    });
    const crash = evaluateGate(input).findings.find((f) => f.gate === 'crash-rate');
    expect(crash?.threshold).toBe(8); // max(floor 0.5, 4/h × 2)
    expect(crash?.passed).toBe(true);
  });

  it('a zero baseline does not fail a wave on a single crash (the floor)', () => {
    const verdict = evaluateGate(
      settled({
        updated: sample({ crashes: 1 }),
        updatedBefore: sample({ crashes: 0 }),
        notUpdated: sample({ crashes: 0 }),
      }),
    );
    expect(verdict.decision).toBe('pass');
  });

  it('breaches on error rate and on unhealthy devices', () => {
    const errors = evaluateGate(settled({ updated: sample({ errors: 900 }) }));
    expect(errors.decision).toBe('breach');
    expect(errors.findings.find((f) => f.gate === 'error-rate')?.passed).toBe(false);
    const unhealthy = evaluateGate(settled({ updated: sample({ unhealthy: 6 }) }));
    expect(unhealthy.decision).toBe('breach');
    expect(unhealthy.findings.find((f) => f.gate === 'unhealthy')?.message).toContain('6 of 100');
  });

  it('visible sickness breaches before the soak ends; good health waits for the soak and for enough reports', () => {
    expect(evaluateGate(settled({ soaked: false, updated: sample({ crashes: 500 }) })).decision).toBe('breach');
    expect(evaluateGate(settled({ soaked: false }))).toMatchObject({
      decision: 'wait',
      waitingFor: 'the soak time to pass',
    });
    expect(evaluateGate(settled({ updated: sample({ devices: 50 }) }))).toMatchObject({
      decision: 'wait',
      waitingFor: 'health reports from the updated devices',
    });
  });

  it('an empty wave passes at once; a wave with no success cannot pass by default', () => {
    expect(
      evaluateGate(settled({ install: { targeted: 0, queued: 0, inProgress: 0, succeeded: 0, failed: 0 } })).decision,
    ).toBe('pass');
    expect(
      evaluateGate(settled({ install: { targeted: 3, queued: 0, inProgress: 0, succeeded: 0, failed: 3 } })).decision,
    ).toBe('breach');
  });

  it('is pure: the same input gives the same verdict', () => {
    const input = settled({ updated: sample({ crashes: 150 }) });
    expect(evaluateGate(input)).toEqual(evaluateGate(input));
  });
});
