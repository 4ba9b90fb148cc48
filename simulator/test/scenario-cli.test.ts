/** `pnpm sim -- run ...` as a real process: its exit codes, its errors, its report file. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));

function sim(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return simUntil(undefined, ...args);
}

/** Runs the CLI; with `stopAt`, sends SIGTERM once stdout shows that text. */
function simUntil(
  stopAt: string | undefined,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'simulator/src/cli/main.ts', ...args],
      { cwd: root, env: { ...process.env, INIT_CWD: dir }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let stopped = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stopAt !== undefined && !stopped && stdout.includes(stopAt)) {
        stopped = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const TINY = `name: tiny
seed: 5
fleet:
  - { group: pi4, count: 3, hardwareType: rpi4, startVersion: 1.0.0 }
releases:
  - { version: 1.1.0, hardware: [rpi4] }
rollout:
  release: 1.1.0
  waves: [{ count: 1 }, { percent: 100 }]
  onBreach: rollback
expect:
  rollout: rolled-back
  deadlineSeconds: 150
`;

describe('pnpm sim', () => {
  it('exits 2 on a bad scenario, printing each issue with its file and line', async () => {
    writeFileSync(join(dir, 'bad.yaml'), TINY.replace('seed: 5', 'seed: -5'));
    const { code, stderr } = await sim('--', 'run', 'bad.yaml');
    expect(code).toBe(2);
    expect(stderr).toContain('bad.yaml:2:1: seed must be a whole number, 0 to 2147483647 (got -5)');
  }, 60_000);

  it('exits 2 on bad options or an unknown scenario, with the usage', async () => {
    const flag = await sim('run', 'happy-path', '--devices', 'many');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--devices must be a whole number from 1 to 1000000, got many');
    const verify = await sim('run', 'happy-path', '--verify', 'sometimes');
    expect(verify.code).toBe(2);
    expect(verify.stderr).toContain('--verify must be per-device or per-content-hash');
    const running = ['--fleet-api', 'http://127.0.0.1:9', '--mqtt', 'mqtts://127.0.0.1:9'];
    writeFileSync(join(dir, 'token'), 'ofs_x\n');
    writeFileSync(join(dir, 'not-a-key.pem'), 'hello\n');
    const noKey = await sim('run', 'happy-path', ...running, '--token-file', 'token', '--signing-key', 'none.pem');
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--signing-key none.pem: ENOENT');
    const badKey = await sim(
      'run',
      'happy-path',
      ...running,
      '--token-file',
      'token',
      '--signing-key',
      'not-a-key.pem',
    );
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('--signing-key not-a-key.pem: ');
    const noToken = await sim('run', 'happy-path', ...running, '--signing-key', 'not-a-key.pem');
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('--token-file .data/iot-core/fleet-service/operator-token: ENOENT');
    const missing = await sim('run', 'no-such-preset');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no scenario file no-such-preset and no preset of that name');
  }, 60_000);

  it('exits 1 when the expected outcome does not hold, and writes the report it printed', async () => {
    writeFileSync(join(dir, 'tiny.yaml'), TINY);
    const { code, stdout } = await sim('run', 'tiny.yaml', '--report', 'report.json');
    expect(code).toBe(1);
    expect(stdout).toContain('expected outcome: NOT held');
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
      passed: boolean;
      rollout: { status: string };
      checks: { name: string; passed: boolean }[];
    };
    expect(report.passed).toBe(false);
    expect(report.rollout.status).toBe('completed');
    expect(report.checks.find((c) => c.name === 'rollout status')?.passed).toBe(false);
  }, 200_000);

  it('stops on SIGTERM mid-run: the fleet and the stack close, the report so far is printed, exit 0', async () => {
    writeFileSync(join(dir, 'tiny.yaml'), TINY);
    const { code, stdout, stderr } = await simUntil('rollout running', 'run', 'tiny.yaml');
    expect(stderr).toContain('SIGTERM: stopping the fleet and the stack');
    expect(code).toBe(0);
    expect(stdout).toMatch(/run +FAILED +the rollout rests within 150 s +interrupted/);
  }, 200_000);
});
