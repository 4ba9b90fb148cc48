/** The operator CLI against a real API over real HTTP (real stores, real signed bundles). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { lockDataDir } from '@otafleet/runtime';
import {
  DEFAULT_GATE,
  createServiceMetrics,
  planWaves,
  startBackups,
  type BackupService,
  type RolloutStore,
  type ServiceMetrics,
} from '@otafleet/fleet-service';
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
  return cliWith({}, ...args);
}

async function cliWith(
  extra: { isTTY?: boolean; sleep?: (ms: number) => Promise<void> },
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runFleetCli(args, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: { OTA_FLEET_API: base },
    readToken: () => Promise.resolve(token),
    ...extra,
  });
  return { code, out, err };
}

let metrics: ServiceMetrics;
let backups: BackupService;
let dataDir: string;

beforeAll(async () => {
  metrics = createServiceMetrics();
  const api = await startTestApi({
    signer,
    urlKey: Buffer.alloc(32),
    extra: (d) => {
      backups = startBackups({ dataDir: d, now: Date.now, logger: pino({ level: 'silent' }) });
      return { metrics, backups, rateLimit: false };
    },
  });
  ({ app, base, rollouts } = api);
  dataDir = api.dir;
  token = api.adminToken;
  viewerToken = api.viewerToken;
});
afterAll(async () => {
  await backups?.stop();
  await app?.close();
});

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
      code: EXIT.notFound,
      err: expect.stringContaining('NOT_FOUND'),
    });
    const json = await cli('--json', 'rollouts', 'show', 'nope');
    expect(json.code).toBe(EXIT.notFound);
    expect(JSON.parse(json.out)).toEqual({ status: 404, code: 'NOT_FOUND', message: 'no rollout nope' });
    let err = '';
    const code = await runFleetCli(['rollouts', 'pause', 'x'], {
      out: () => undefined,
      err: (t) => (err += t),
      env: { OTA_FLEET_API: base, OTA_FLEET_TOKEN: viewerToken },
      readToken: () => Promise.resolve(undefined),
    });
    expect(code).toBe(EXIT.denied);
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
      code: EXIT.conflict,
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
    expect(
      await cli('rollouts', 'create', '--bundle', 'a'.repeat(64), '--group', 'lab', '--window', '0 2 * * *'),
    ).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('is not MINUTES:CRON') });
    // The service checks the window: a day of the month AND a day of the week cannot be said in AWS cron.
    expect(
      await cli('rollouts', 'create', '--bundle', 'a'.repeat(64), '--group', 'lab', '--window', '60:0 2 1 * 1'),
    ).toMatchObject({ code: EXIT.refused, err: expect.stringContaining('body.maintenance.windows[0].cron') });
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

  it('watches a rollout: plain lines per change off a terminal, exit 0 when it completes', async () => {
    const definition = {
      name: 'w',
      bundle: { bundleId: 'b', version: '1.1.0' },
      target: { kind: 'group' as const, groupName: 'lab' },
      waves: [{ percent: 100 }],
      seed: 's',
      gate: DEFAULT_GATE,
      onBreach: 'pause' as const,
      soakSeconds: 0,
      waveTimeoutSeconds: 60,
    };
    await rollouts.createRollout('w1', definition, planWaves(['pi-1', 'pi-2'], definition.waves, 's'), {
      at: 1,
      actor: 't',
    });
    const at = { at: 2, actor: 'service' };
    // Each poll's wait moves the rollout one step, as the engine would.
    const steps = [
      () => rollouts.applyRolloutEvent('w1', 'start', at),
      async () => {
        await rollouts.applyWaveEvent('w1', 0, 'deploy', { ...at, jobId: 'ota-w1-w0' });
        metrics.observeJobCounts('w1', 0, { targeted: 2, queued: 1, inProgress: 1, succeeded: 0, failed: 0 });
      },
      async () => {
        metrics.observeJobCounts('w1', 0, { targeted: 2, queued: 0, inProgress: 0, succeeded: 2, failed: 0 });
        await rollouts.applyWaveEvent('w1', 0, 'settled', at);
      },
      async () => {
        await rollouts.applyWaveEvent('w1', 0, 'gate-passed', at);
        await rollouts.applyRolloutEvent('w1', 'last-wave-passed', at);
      },
    ];
    const sleep = async (): Promise<void> => {
      await steps.shift()?.();
    };
    const watched = await cliWith({ sleep }, 'rollouts', 'watch', 'w1');
    expect(watched.code).toBe(EXIT.ok);
    const lines = watched.out
      .trimEnd()
      .split('\n')
      .map((l) => l.slice(9)); // without the time
    expect(lines).toEqual([
      'rollout w1: scheduled',
      'wave-1     pending   [....................] 2 devices',
      'rollout w1: running',
      'wave-1     deploying [....................] 0/2 ok, 0 failed, 1 installing, 1 queued',
      'wave-1     soaking   [####################] 2/2 ok, 0 failed, 0 installing, 0 queued',
      'rollout w1: completed',
      'wave-1     passed    [####################] 2/2 ok, 0 failed, 0 installing, 0 queued',
    ]);
    expect(watched.out).not.toContain('\x1b[');
  });

  it('redraws in place on a terminal, and exits 8 when the watched rollout stops without completing', async () => {
    const definition = {
      name: 'w',
      bundle: { bundleId: 'b', version: '1.1.0' },
      target: { kind: 'group' as const, groupName: 'lab' },
      waves: [{ count: 1 }, { percent: 100 }],
      seed: 's',
      gate: DEFAULT_GATE,
      onBreach: 'pause' as const,
      soakSeconds: 0,
      waveTimeoutSeconds: 60,
    };
    await rollouts.createRollout('w2', definition, planWaves(['pi-1', 'pi-2'], definition.waves, 's'), {
      at: 1,
      actor: 't',
    });
    const steps = [() => rollouts.applyRolloutEvent('w2', 'pause', { at: 2, actor: 'alice', reason: 'freeze' })];
    const watched = await cliWith(
      { isTTY: true, sleep: async () => void (await steps.shift()?.()) },
      'rollouts',
      'watch',
      'w2',
    );
    expect(watched.code).toBe(EXIT.rolloutStopped);
    expect(watched.out).toContain('\x1b[3F\x1b[J'); // up three lines (head + two waves), clear, redraw
    expect(watched.out.endsWith('wave-2     pending   [....................] 1 devices\n')).toBe(true);
    expect(watched.out).toContain('rollout w2: paused — freeze');
    const json = await cli('--json', 'rollouts', 'watch', 'w2');
    expect(json.code).toBe(EXIT.rolloutStopped);
    expect(JSON.parse(json.out)).toMatchObject({ id: 'w2', status: 'paused', waves: [{ devices: 1 }, { devices: 1 }] });
    expect(await cli('rollouts', 'watch', 'nope')).toMatchObject({ code: EXIT.notFound });
    expect(await cli('rollouts', 'watch', 'w2', '--interval', 'soon')).toMatchObject({
      code: EXIT.usage,
      err: expect.stringContaining('--interval must be a whole number of milliseconds'),
    });
  });

  it('takes a backup through the API into --out, and restores it only into a stopped service’s directory', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fleet-cli-backup-'));
    const taken = await cli('backup', '--out', out);
    expect(taken).toMatchObject({
      code: EXIT.ok,
      out: expect.stringMatching(/^backup fleet-backup-.*\.sqlite \(\d+ bytes\) written to /),
    });
    const [file] = readdirSync(out);
    expect(file).toMatch(/^fleet-backup-.*\.sqlite$/);
    const path = join(out, file ?? '');
    // The API's own data directory is in use by this process (as a running service holds its lock).
    const busy = join(out, 'busy');
    const lock = lockDataDir(busy, 'fleet-service');
    try {
      expect(await cli('restore', path, '--fleet-data-dir', busy)).toMatchObject({
        code: EXIT.dataDirInUse,
        err: expect.stringContaining('stop the fleet service first'),
      });
    } finally {
      lock.release();
    }
    const target = join(out, 'restored');
    const restored = await cli('--json', 'restore', path, '--fleet-data-dir', target);
    expect(restored.code).toBe(EXIT.ok);
    expect(JSON.parse(restored.out)).toMatchObject({ dataDir: target, bundleFilesAdded: 1 });
    expect(existsSync(join(target, 'rollouts.sqlite'))).toBe(true);
    writeFileSync(join(out, 'junk.sqlite'), 'junk');
    expect(await cli('restore', join(out, 'junk.sqlite'), '--fleet-data-dir', join(out, 'other'))).toMatchObject({
      code: EXIT.refused,
      err: expect.stringContaining('NOT_A_BACKUP'),
    });
    expect(dataDir).not.toBe(target);
  });
});
