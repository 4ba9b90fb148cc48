/** The shipped presets: each one valid, with an expected outcome, and reachable by name. */
import { describe, expect, it } from 'vitest';
import { loadScenario, planScenario, presetNames } from '@otafleet/simulator';

describe('scenario presets', () => {
  it('ships the six presets the simulator documents', () => {
    expect(presetNames()).toEqual([
      'bad-canary',
      'flaky-network',
      'happy-path',
      'late-joiners',
      'mixed-hardware',
      'power-cuts',
    ]);
  });

  it.each(presetNames())('%s is valid and expects an outcome', async (name) => {
    const loaded = await loadScenario(name);
    if (!loaded.ok) throw loaded.error;
    expect(loaded.value.scenario.name).toBe(name);
    expect(loaded.value.scenario.expect.rollout).toMatch(/^(completed|rolled-back|aborted|paused)$/);
    expect(planScenario(loaded.value.scenario).devices.length).toBeGreaterThan(0);
  });

  it('names the presets when a scenario is neither a file nor a preset', async () => {
    const loaded = await loadScenario('no-such-scenario');
    expect(loaded.ok).toBe(false);
    if (!loaded.ok)
      expect(loaded.error.message).toContain('no preset of that name (presets: bad-canary, flaky-network');
  });

  it('places faults by the seed: the same seed the same devices, another seed others', async () => {
    const loaded = await loadScenario('flaky-network');
    if (!loaded.ok) throw loaded.error;
    const faulty = (seed: number): string[] =>
      planScenario(loaded.value.scenario, { seed })
        .devices.filter((d) => d.spec.faults.flapping !== undefined)
        .map((d) => d.spec.thingName);
    expect(faulty(3)).toEqual(faulty(3));
    expect(faulty(3)).toHaveLength(10);
    expect(faulty(4)).not.toEqual(faulty(3));
  });

  it('scales the fleet to --devices, keeping the groups in proportion', async () => {
    const loaded = await loadScenario('mixed-hardware');
    if (!loaded.ok) throw loaded.error;
    const plan = planScenario(loaded.value.scenario, { devices: 1000 });
    expect(plan.devices).toHaveLength(1000);
    expect(plan.devices.filter((d) => d.group === 'cm4')).toHaveLength(400);
    expect(plan.devices[0]?.spec.thingName).toBe('pi4-0001');
  });
});
