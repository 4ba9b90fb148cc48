/**
 * Backup and restore: a backup taken with SQLite's online backup while a rollout is mid-wave (devices
 * installing) restores into a fresh data directory, and a service opened there finishes the rollout.
 * Real local core, MQTT test devices, real SQLite files; restore's refusals change nothing.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  IoTClient,
} from '@aws-sdk/client-iot';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, mqttJsTransport, type MqttConnection } from '@otafleet/mqtt-client';
import {
  DEV_ACCESS_KEY_ID,
  DEV_SECRET_ACCESS_KEY,
  issueDeviceToDirectory,
  issueServiceToDirectory,
  loadConfig,
  startLocalCore,
  type LocalCore,
} from '@otafleet/iot-core';
import { lockDataDir } from '@otafleet/runtime';
import {
  BackupError,
  DEFAULT_GATE,
  createRolloutEngine,
  createServiceMetrics,
  listBackups,
  openBundleStore,
  openSqliteHealthStore,
  openSqliteRolloutStore,
  pruneBackups,
  restoreBackup,
  startHealthIngest,
  takeBackup,
  type RolloutEngine,
  type RolloutStore,
} from '@otafleet/fleet-service';
import { bundleBytes, chunks, testSigner, trustOf } from './fleet-bundles.js';
import { startFleetDevice, type FleetDevice } from './fleet-devices.js';

const silent = pino({ level: 'silent' });
const signer = testSigner('release-2026');
let dir: string;
let core: LocalCore;
let iot: IoTClient;
let bus: MqttConnection;
const devices: FleetDevice[] = [];
const closers: (() => Promise<unknown>)[] = [];

/** The fleet service's parts over one data directory (the layout startFleetService uses). */
async function openService(dataDir: string) {
  const rollouts = openSqliteRolloutStore(join(dataDir, 'rollouts.sqlite'));
  const health = openSqliteHealthStore(join(dataDir, 'health.sqlite'));
  const bundles = openBundleStore({ dir: join(dataDir, 'bundles'), trust: trustOf(signer) });
  const ingest = await startHealthIngest({ bus, store: health, filter: 'dt/+/health', logger: silent });
  const metrics = createServiceMetrics();
  const engine = createRolloutEngine({
    onJobCounts: (id, wave, counts) => metrics.observeJobCounts(id, wave, counts),
    iot,
    store: rollouts,
    health,
    bundles,
    bundleUrl: (b) => `https://bundles.invalid/${b.sha256}.otab`,
    now: Date.now,
    logger: silent,
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await ingest.stop();
    await rollouts.close();
    await health.close();
    await bundles.close();
  };
  closers.push(close);
  return { rollouts, health, bundles, engine, metrics, close };
}

async function tickUntil(
  engine: RolloutEngine,
  rollouts: RolloutStore,
  id: string,
  done: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`rollout ${id} still ${(await rollouts.getRollout(id))?.status}: ${last}`);
    last = JSON.stringify(await engine.tick(id));
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-backup-'));
  const config = loadConfig(
    ['--data-dir', join(dir, 'core'), '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'silent'],
    {},
  );
  core = await startLocalCore(config, silent);
  iot = new IoTClient({
    endpoint: core.httpEndpoint,
    region: config.region,
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
  const cred = await issueServiceToDirectory(core.pki.dir, 'fleet-service');
  bus = await connectMqtt({
    transport: mqttJsTransport({
      url: `mqtts://127.0.0.1:${core.mqttTlsPort ?? 0}`,
      tls: { ca: await readFile(cred.caPath), cert: await readFile(cred.certPath), key: await readFile(cred.keyPath) },
    }),
    clientId: 'fleet-service',
    logger: silent,
  });
}, 120_000);

afterAll(async () => {
  await Promise.all(devices.map((d) => d.close()));
  for (const close of closers) await close();
  await bus?.close();
  iot?.destroy();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('backup and restore', () => {
  it('restores a backup taken mid-rollout into a service that finishes the rollout', async () => {
    await iot.send(new CreateThingGroupCommand({ thingGroupName: 'bk' }));
    for (let i = 0; i < 6; i++) {
      const thingName = `bk-${i}`;
      await iot.send(new CreateThingCommand({ thingName }));
      await iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'bk', thingName }));
      const credentials = await issueDeviceToDirectory(core.pki.dir, thingName);
      devices.push(
        await startFleetDevice({
          thingName,
          port: core.mqttTlsPort ?? 0,
          credentials,
          version: '1.0.0',
          behaviourOf: () => 'good',
        }),
      );
    }
    const live = join(dir, 'live');
    const a = await openService(live);
    writeFileSync(join(live, 'bundle-url.key'), 'k'.repeat(64));
    const put = await a.bundles.put(chunks(await bundleBytes(signer, '1.1.0')), {
      uploadedBy: 'alice',
      at: Date.now(),
      maxBytes: 10_000_000,
    });
    if (!put.ok) throw new Error(put.error.message);
    const bundle = put.value.bundle;
    await a.engine.create(
      'rbk',
      {
        name: '1.1.0 to bk',
        bundle: { bundleId: bundle.sha256, version: '1.1.0' },
        target: { kind: 'group', groupName: 'bk' },
        waves: [{ count: 2 }, { percent: 100 }],
        seed: 'bk',
        // Health reports that arrived after the backup are not in it, and these test devices report only when
        // they finish a job: the gate must not wait for reports from before the restore.
        gate: { ...DEFAULT_GATE, minReportingFraction: 0 },
        onBreach: 'pause',
        soakSeconds: 0,
        waveTimeoutSeconds: 120,
      },
      'alice',
    );
    // Run until the second wave is deployed: its job is out and devices are installing.
    await tickUntil(
      a.engine,
      a.rollouts,
      'rbk',
      async () => (await a.rollouts.waves('rbk'))[1]?.status === 'deploying',
    );
    const file = join(dir, 'backups', 'mid-rollout.sqlite');
    const info = await takeBackup(live, file, Date.now());
    expect(info.databases).toEqual(['rollouts.sqlite', 'health.sqlite', 'bundles/bundles.db']);
    expect(info.bundleFiles).toBe(1);
    const auditAtBackup = (await a.rollouts.auditLog('rbk')).map((e) => e.action);
    // The live service is lost here (its directory with it): nothing after the backup is kept.
    await a.close();
    rmSync(live, { recursive: true, force: true });

    const restoredDir = join(dir, 'restored');
    const report = restoreBackup(file, restoredDir);
    expect(report.bundleFilesAdded).toBe(1);
    expect([...report.databases].sort()).toEqual([...info.databases].sort());
    expect(existsSync(join(restoredDir, 'bundle-url.key'))).toBe(true);
    const leftovers = readdirSync(restoredDir, { recursive: true }).filter((f) => String(f).includes('.restoring'));
    expect(leftovers).toEqual([]);
    const b = await openService(restoredDir);
    expect((await b.rollouts.auditLog('rbk')).map((e) => e.action)).toEqual(auditAtBackup);
    expect((await b.rollouts.waves('rbk'))[1]?.status).toBe('deploying');
    expect(await b.bundles.get(bundle.sha256)).toMatchObject({ sha256: bundle.sha256 });
    await tickUntil(b.engine, b.rollouts, 'rbk', async () =>
      ['completed', 'paused', 'aborted'].includes((await b.rollouts.getRollout('rbk'))?.status ?? ''),
    );
    expect((await b.rollouts.getRollout('rbk'))?.status).toBe('completed');
    expect(devices.map((d) => d.version)).toEqual(devices.map(() => '1.1.0'));
    expect((await b.rollouts.waves('rbk')).map((w) => w.status)).toEqual(['passed', 'passed']);
    // The restored service's metrics, from the real run: its stores and the job counts its engine read.
    const text = await b.metrics.render({ rollouts: b.rollouts, health: b.health });
    expect(text).toContain('ota_rollouts{status="completed"} 1');
    expect(text).toContain('ota_waves{status="passed"} 2');
    expect(text).toContain('ota_job_executions{rollout="rbk",wave="1",state="succeeded"} 4');
    expect(text).toContain('ota_job_updates_total{outcome="succeeded"} 4');
    await b.close();
  }, 120_000);

  it('refuses to restore onto a live service’s data directory, or a file that is no backup; changes nothing', async () => {
    const source = join(dir, 'src');
    const s = await openService(source);
    await s.close();
    const file = (await takeBackup(source, join(dir, 'backups', 'small.sqlite'), Date.now())).file;
    const target = join(dir, 'busy');
    const lock = lockDataDir(target, 'fleet-service');
    try {
      expect(() => restoreBackup(file, target)).toThrow(/in use by fleet-service.*stop the fleet service first/);
      expect(readdirSync(target)).toEqual(['.lock']);
    } finally {
      lock.release();
    }
    const notBackup = join(dir, 'not-a-backup.sqlite');
    writeFileSync(notBackup, 'hello');
    const fresh = join(dir, 'fresh');
    expect(() => restoreBackup(notBackup, fresh)).toThrow(BackupError);
    expect(() => restoreBackup(join(dir, 'missing.sqlite'), fresh)).toThrow(/no such file/);
    expect(existsSync(fresh)).toBe(false);
  });

  it('keeps the newest N backups', async () => {
    const backups = join(dir, 'retention');
    for (const at of [1, 2, 3, 4].map((d) => Date.UTC(2026, 0, d))) {
      await takeBackup(
        join(dir, 'src'),
        join(backups, `fleet-backup-${new Date(at).toISOString().replace(/[:.]/g, '-')}.sqlite`),
        at,
      );
    }
    expect(pruneBackups(backups, 2)).toEqual([
      'fleet-backup-2026-01-02T00-00-00-000Z.sqlite',
      'fleet-backup-2026-01-01T00-00-00-000Z.sqlite',
    ]);
    expect(listBackups(backups).map((b) => b.createdAt)).toEqual([
      '2026-01-04T00:00:00.000Z',
      '2026-01-03T00:00:00.000Z',
    ]);
  });
});
