import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bench = fileURLToPath(new URL('../bench/idle-fleet.ts', import.meta.url));

describe('idle-fleet bench settings', () => {
  it.each(['0', '1.5', 'three'])('refuses BENCH_ROUNDS=%s before it starts any side', (rounds) => {
    const run = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', bench], {
      env: { ...process.env, BENCH_ROUNDS: rounds, BENCH_DEVICES: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`BENCH_ROUNDS must be a whole number from 1, not "${rounds}"`);
    expect(run.stdout).toBe(''); // no side ran, no result line
  });
});
