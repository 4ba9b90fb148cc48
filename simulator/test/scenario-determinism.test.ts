/** The same scenario and seed give the same report (all but its measured part); another seed places faults elsewhere. */
import { describe, expect, it } from 'vitest';
import { deterministicPart } from '@otafleet/simulator';
import { failedChecks, runPreset } from './scenario-harness.js';

describe('scenario determinism', () => {
  it('two runs of bad-canary with one seed give one report', async () => {
    const first = await runPreset('bad-canary', { devices: 200 });
    const second = await runPreset('bad-canary', { devices: 200 });
    expect(failedChecks(first)).toBe('');
    expect(deterministicPart(second)).toEqual(deterministicPart(first));
    expect(JSON.stringify(deterministicPart(first))).not.toMatch(/"(at|time|createdAt|updatedAt)"/);
  }, 240_000);
});
