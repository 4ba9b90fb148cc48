/** The operator CLI against a real API over real HTTP (real stores, real signed bundles). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GATE, planWaves, type RolloutStore } from '@otafleet/fleet-service';
import { startTestApi } from './api-fixture.js';
import { EXIT, parseWaves, runFleetCli } from '../src/cli/fleet-cli.js';
import { bundleBytes, testSigner } from './fleet-bundles.js';

const signer = testSigner('release-2026');
let app: FastifyInstance;
let base: string;
let token: string;
let viewerToken: string;
let rollouts: RolloutStore;
const dir = mkdtempSync(join(tmpdir(), 'fleet-cli-'));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runFleetCli(args, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: { OTA_FLEET_API: base },
    readToken: () => Promise.resolve(token),
  });
  return { code, out, err };
}

beforeAll(async () => {
  const api = await startTestApi({ signer, urlKey: Buffer.alloc(32) });
  ({ app, base, rollouts } = api);
  token = api.adminToken;
  viewerToken = api.viewerToken;
});
afterAll(() => app?.close());

describe('fleet CLI', () => {
  it('uploads a bundle, then says it is already stored; lists it; --json prints the body', async () => {
    const file = join(dir, 'app-1.1.0.otab');
    writeFileSync(file, await bundleBytes(signer, '1.1.0'));
    const first = await cli('bundles', 'upload', file);
    expect(first).toMatchObject({
      code: EXIT.ok,
      out: expect.stringMatching(/^stored [0-9a-f]{64} \("app" 1\.1\.0\)/),
    });
    expect((await cli('bundles', 'upload', file)).out).toContain('already stored');
    const listed = await cli('bundles', 'list');
    expect(listed.out.split('\n')[0]).toMatch(/^sha256\s+name\s+version\s+size$/);
    const json = JSON.parse((await cli('--json', 'bundles', 'list')).out) as { bundles: unknown[] };
    expect(json.bundles).toHaveLength(1);
  });

  it('prints the service’s code and exits 1 when it refuses', async () => {
    const bad = join(dir, 'bad.otab');
    writeFileSync(bad, 'not a bundle at all');
    expect(await cli('bundles', 'upload', bad)).toMatchObject({
      code: EXIT.refused,
      err: expect.stringContaining('BUNDLE_BAD_MAGIC'),
    });
    expect(await cli('rollouts', 'show', 'nope')).toMatchObject({
      code: EXIT.refused,
      err: expect.stringContaining('NOT_FOUND'),
    });
    let err = '';
    const code = await runFleetCli(['rollouts', 'pause', 'x'], {
      out: () => undefined,
      err: (t) => (err += t),
      env: { OTA_FLEET_API: base, OTA_FLEET_TOKEN: viewerToken },
      readToken: () => Promise.resolve(undefined),
    });
    expect(code).toBe(EXIT.refused);
    expect(err).toContain('FORBIDDEN');
  });

  it('runs operator actions and shows a rollout with its waves and audit', async () => {
    const definition = {
      name: 'n',
      bundle: { bundleId: 'b', version: '1.1.0' },
      target: { kind: 'group' as const, groupName: 'lab' },
      waves: [{ count: 1 }, { percent: 100 }],
      seed: 's',
      gate: DEFAULT_GATE,
      onBreach: 'pause' as const,
      soakSeconds: 0,
      waveTimeoutSeconds: 60,
    };
    await rollouts.createRollout('r1', definition, planWaves(['pi-1', 'pi-2'], definition.waves, 's'), {
      at: 1,
      actor: 'test',
    });
    expect(await cli('rollouts', 'pause', 'r1', '--reason', 'freeze')).toMatchObject({
      code: 0,
      out: 'rollout r1 is paused\n',
    });
    expect(await cli('rollouts', 'pause', 'r1')).toMatchObject({
      code: EXIT.refused,
      err: expect.stringContaining('ILLEGAL_TRANSITION'),
    });
    const shown = await cli('rollouts', 'show', 'r1');
    expect(shown.out).toContain('r1  paused — freeze');
    expect(shown.out).toMatch(/0\s+canary\s+pending/);
    expect((await cli('rollouts', 'audit', 'r1')).out).toMatch(/alice\s+pause\s+scheduled\s+paused\s+freeze/);
    expect((await cli('rollouts', 'list', '--status', 'paused')).out).toContain('r1');
  });

  it('usage errors exit 2 naming the problem; an unreachable service exits 3', async () => {
    expect(await cli('rollouts', 'create', '--group', 'lab')).toMatchObject({
      code: EXIT.usage,
      err: expect.stringContaining('missing --bundle'),
    });
    expect(
      await cli('rollouts', 'create', '--bundle', 'a'.repeat(64), '--group', 'lab', '--soak', 'ten'),
    ).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('--soak must be a whole number') });
    expect(await cli('frobnicate')).toMatchObject({
      code: EXIT.usage,
      err: expect.stringContaining('unknown command'),
    });
    expect(await cli('--bogus')).toMatchObject({ code: EXIT.usage });
    expect(await cli()).toMatchObject({ code: EXIT.usage });
    expect(() => parseWaves('5,ten%')).toThrow(/"ten%"/);
    expect(parseWaves('5, 10%,100%')).toEqual([{ count: 5 }, { percent: 10 }, { percent: 100 }]);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    let err = '';
    const unreachable = await runFleetCli(['rollouts', 'list'], {
      out: () => undefined,
      err: (t) => (err += t),
      env: { OTA_FLEET_API: `http://127.0.0.1:${port}` },
      readToken: () => Promise.resolve(token),
    });
    expect(unreachable).toBe(EXIT.unreachable);
    expect(err).toContain('ECONNREFUSED');
  });

  it('runs as `pnpm fleet` from the repository root', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const run = spawnSync('pnpm', ['fleet', '--', '--help'], { cwd: root, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('rollouts create --bundle SHA256 --group G');
  }, 60_000);
});
