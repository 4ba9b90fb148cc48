/** The scenario file's validation: every bad input names its file, line, column and field. */
import { describe, expect, it } from 'vitest';
import { parseScenario, type ScenarioIssue } from '@otafleet/simulator';

const GOOD = `name: t
seed: 7
fleet:
  - group: pi
    count: 10
    hardwareType: rpi4
    startVersion: 1.0.0
releases:
  - version: 1.1.0
    hardware: [rpi4]
rollout:
  release: 1.1.0
  waves: [{ count: 2 }, { percent: 100 }]
  onBreach: rollback
expect:
  rollout: completed
  versions: { 1.1.0: all }
`;

function issues(text: string): ScenarioIssue[] {
  const parsed = parseScenario(text, 'scenario.yaml');
  if (parsed.ok) throw new Error('expected the scenario to be refused');
  return [...parsed.error.issues];
}
const lines = (text: string): string[] => issues(text).map((i) => `${i.line}:${i.column} ${i.message}`);
const replace = (from: string, to: string): string => {
  if (!GOOD.includes(from)) throw new Error(`fixture lacks ${from}`);
  return GOOD.replace(from, to);
};

describe('scenario parsing', () => {
  it('accepts a valid scenario as written', () => {
    const parsed = parseScenario(GOOD, 'scenario.yaml');
    expect(parsed.ok && parsed.value.rollout.waves).toEqual([{ count: 2 }, { percent: 100 }]);
  });

  it('names the line and column of a value out of range', () => {
    const text = `${GOOD}faults:\n  - percent: 120\n    corruptDownload: true\n`;
    expect(lines(text)).toEqual(['19:5 faults[0].percent must be between 0 and 100 (got 120)']);
    expect(issues(text)[0]?.file).toBe('scenario.yaml');
  });

  it('refuses an unknown key, naming it and the known ones', () => {
    const [issue, ...rest] = issues(replace('    count: 10\n', '    count: 10\n    colour: red\n'));
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({ line: 6, column: 5, path: 'fleet[0].colour' });
    expect(issue?.message).toContain('fleet[0].colour is not a known key (known here: group, prefix, count');
  });

  it('refuses a wrong type', () => {
    expect(lines(replace('count: 10', 'count: ten'))).toEqual([
      '5:5 fleet[0].count must be a whole number, 0 to 1,000,000 (got "ten")',
    ]);
    expect(lines(replace('seed: 7', 'seed: [7]'))[0]).toMatch(/^2:1 seed must be a whole number/);
    expect(lines(replace('  - group: pi\n', '  - group: pi\n    prefix: 3\n'))[0]).toMatch(/^5:5 fleet\[0\]\.prefix/);
  });

  it('refuses a missing key at its enclosing mapping', () => {
    expect(lines(replace('    hardwareType: rpi4\n', ''))).toEqual(['4:5 fleet[0].hardwareType is required']);
    expect(lines(replace('  onBreach: rollback\n', ''))).toEqual(['11:1 rollout.onBreach is required']);
  });

  it('names the wrong key inside a wave (a union) instead of the union', () => {
    expect(lines(replace('{ count: 2 }', '{ count: 2, soak: 1 }'))).toEqual([
      '13:23 rollout.waves[0].soak is not a known key (known here: name, count)',
    ]);
  });

  it('lists the allowed words for an enumeration', () => {
    expect(lines(replace('onBreach: rollback', 'onBreach: explode'))).toEqual([
      '14:3 rollout.onBreach must be one of: pause, abort, rollback (got "explode")',
    ]);
    expect(lines(replace('rollout: completed', 'rollout: done'))[0]).toMatch(
      /^16:3 expect\.rollout must be a rollout status/,
    );
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    expect(lines(replace('seed: 7', 'seed: [7'))[0]).toMatch(/^3:1 Flow sequence in block collection/);
    expect(lines(replace('seed: 7', 'seed: 7\nseed: 8'))[0]).toMatch(/^3:1 Map keys must be unique/);
  });

  it('refuses a rollout of a release that does not exist', () => {
    expect(lines(replace('  release: 1.1.0', '  release: 2.0.0'))).toEqual([
      '12:3 rollout.release 2.0.0 is not one of the releases (1.1.0)',
    ]);
  });

  it('refuses waves the fleet service would refuse, with the service own words', () => {
    expect(lines(replace('{ percent: 100 }', '{ percent: 50 }'))).toEqual([
      '13:25 rollout.waves[1] the last wave must be { "percent": 100 } so the whole target is covered',
    ]);
    // The service's own minimum (60 s) holds in a scenario file too.
    expect(lines(replace('onBreach: rollback', 'onBreach: rollback\n  waveTimeoutSeconds: 5'))[0]).toMatch(
      /^15:3 rollout\.waveTimeoutSeconds: expected integer to be greater or equal to 60/,
    );
  });

  it('refuses faults that select no devices, too many ways, or devices and groups that do not exist', () => {
    const withFaults = (faults: string): string => `${GOOD}faults:\n${faults}`;
    expect(lines(withFaults('  - percent: 10\n'))).toEqual([expect.stringMatching(/^19:5 faults\[0\] names no fault/)]);
    expect(lines(withFaults('  - percent: 10\n    count: 2\n    corruptDownload: true\n'))[0]).toMatch(
      /^19:5 faults\[0\] needs exactly one of percent, count or devices/,
    );
    expect(lines(withFaults('  - devices: [pi-0001, pi-0042]\n    corruptDownload: true\n'))).toEqual([
      '19:24 faults[0].devices[1] pi-0042 is not a device of the fleet',
    ]);
    expect(lines(withFaults('  - groups: [cm4]\n    count: 1\n    corruptDownload: true\n'))).toEqual([
      '19:14 faults[0].groups[0] cm4 is not a group of the fleet',
    ]);
    expect(lines(withFaults('  - count: 1\n    offlineWindows: [{ fromMs: 10, toMs: 5 }]\n'))[0]).toMatch(
      /^20:22 faults\[0\]\.offlineWindows\[0\] must end/,
    );
  });

  it('refuses expectations that cannot hold for the scenario', () => {
    expect(lines(replace('versions: { 1.1.0: all }', 'versions: { 9.9.9: all }'))).toEqual([
      '17:15 expect.versions: 9.9.9 is neither a release nor a start version of the fleet',
    ]);
    expect(lines(replace('rollout: completed', 'rollout: completed\n  waves: [passed]'))[0]).toMatch(
      /^17:3 expect\.waves lists 1 waves; the rollout has 2/,
    );
  });

  it('refuses a reserved or repeated group and an empty fleet', () => {
    expect(lines(replace('group: pi', 'group: sim-fleet'))[0]).toMatch(/^4:5 fleet\[0\]\.group sim-fleet is reserved/);
    expect(lines(replace('count: 10', 'count: 0'))).toEqual(['3:1 fleet has no devices: every count is 0']);
  });
});
