/**
 * The device-facing parts end to end: a real agent process against the local IoT core. The classic shadow (read
 * with AWS's GetThingShadow) carries what runs, and after a rollback the device made by itself, the true reason;
 * the configuration shadow is applied to the file the application reads; health reports reach a real MQTT
 * subscriber, right after an update outcome too; the local endpoint answers on 127.0.0.1. Then the broker is
 * stopped and restarted: the health reports written meanwhile arrive exactly once, in order.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { issueDeviceToDirectory, loadConfig, startLocalCore, type LocalCore } from '@otafleet/iot-core';
import { OTA_CONFIG_SHADOW_NAME, healthReportTopic, parseHealthReport, type HealthReport } from '@otafleet/protocol';
import { isTerminal, startE2eCore, type E2eCore } from './e2e-core.js';
import { buildSampleBundles, createE2eDevice, installDocument, type AgentProcess, type Samples } from './e2e-device.js';
import { eventually, freePort, serve } from './e2e-helpers.js';
import { startBundleServer, startTcpProxy, type BundleServer, type TcpProxy } from './e2e-net.js';
import {
  closeConnections,
  dataPlane,
  getShadow,
  serviceConnection,
  serviceConnectionOf,
  updateShadow,
} from './shadow-harness.js';

let core: E2eCore;
let samples: Samples;
let server: BundleServer;
let data: IoTDataPlaneClient;
const agents: AgentProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  [core, samples, server] = await Promise.all([startE2eCore(), buildSampleBundles(), startBundleServer()]);
  data = dataPlane(core);
}, 120_000);
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await closeConnections();
  for (const c of cleanups.splice(0).reverse()) await c();
  data?.destroy();
  await server?.close();
  await core?.close();
  if (samples !== undefined) await rm(samples.dir, { recursive: true, force: true });
});

/** Adds the device-facing options to the configuration file the e2e device wrote. */
async function configure(configPath: string, extra: Record<string, unknown>): Promise<void> {
  const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
  await writeFile(configPath, JSON.stringify({ ...config, ...extra }));
}

/** Health reports of one thing, as a fleet service would receive them. */
async function watchHealth(name: string, thing: string) {
  const watcher = await serviceConnection(core, name);
  const reports: HealthReport[] = [];
  await watcher.subscribe(healthReportTopic(thing), (m) => {
    const parsed = parseHealthReport(m.payload, thing);
    if (parsed.ok) reports.push(parsed.value);
  });
  return { watcher, reports };
}

const kernelBootId = (): string | undefined => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
};

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('shadow, configuration and health reports (real agent process, local IoT core)', () => {
  it('reports on connect, applies the configuration, reports a rollback it made by itself, answers locally', async () => {
    const thing = 'e2e-shadow-pi';
    const credentials = await core.addDevice(thing);
    const dev = await createE2eDevice({
      thing,
      samples,
      mqttPort: core.mqttPort,
      credentials,
      appPort: await freePort(),
    });
    const localPort = await freePort();
    const appConfigPath = join(dev.root, 'app-config.json');
    await configure(dev.configPath, {
      localEndpointPort: localPort,
      healthReportIntervalSeconds: 3600, // so a report with the outcome can only be the one sent right after it
      remoteConfig: { path: appConfigPath, onChange: 'restart' },
    });
    const health = await watchHealth('e2e-health-watcher', thing);
    const agent = dev.start();
    agents.push(agent);

    // The classic shadow, as AWS's data-plane client reads it.
    const reported = await eventually(async () => (await getShadow(data, thing))?.state.reported, 'reported state');
    expect(reported).toMatchObject({
      schemaVersion: 1,
      firmwareVersion: '1.0.0',
      agentVersion: '0.1.0',
      hardwareType: 'generic-linux',
      activeSlot: 'A',
      slots: { A: { name: 'http-service', version: '1.0.0' } },
      rollbackCount: 0,
      bootCount: 1,
    });
    const bootId = kernelBootId();
    if (bootId !== undefined) expect(reported.bootId).toBe(bootId);

    // The local endpoint.
    const ok = await eventually(async () => {
      const r = await getJson(`http://127.0.0.1:${localPort}/health`).catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, 'GET /health 200');
    expect(ok.body).toMatchObject({
      status: 'ok',
      running: { version: '1.0.0' },
      activeSlot: 'A',
      committed: true,
      broker: { connected: true, shadowSynced: true },
      agentVersion: '0.1.0',
    });
    const status = await getJson(`http://127.0.0.1:${localPort}/status`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ device: { thingName: thing }, slots: { activeSlot: 'A' } });
    expect((await getJson(`http://127.0.0.1:${localPort}/health`, { method: 'POST' })).status).toBe(405);
    expect((await getJson(`http://127.0.0.1:${localPort}/nothing`)).body).toMatchObject({ code: 'NotFound' });

    // The first health report, at start.
    const first = await eventually(() => health.reports[0], 'the first health report');
    expect(first).toMatchObject({ schemaVersion: 2, thingName: thing, sequence: 0, firmwareVersion: '1.0.0' });

    // Remote configuration: applied to the file, answered in the config shadow.
    const desired = { version: 1, settings: { greeting: 'hej' }, featureFlags: { beta: true } };
    await updateShadow(data, thing, { state: { desired } }, OTA_CONFIG_SHADOW_NAME);
    const answer = await eventually(
      async () => (await getShadow(data, thing, OTA_CONFIG_SHADOW_NAME))?.state.reported,
      'the configuration answer',
    );
    expect(answer).toEqual({ version: 1, status: 'applied', appliedVersion: 1 });
    expect(JSON.parse(await readFile(appConfigPath, 'utf8'))).toEqual(desired);

    // 1.2.0 fails its health check: the device goes back by itself and says why, in the shadow and a report.
    const v120 = await serve(server, 'shadow-1.2.0.otab', samples.byVersion('1.2.0'));
    await core.createJob('shadow-120', thing, installDocument(v120, dev.appPort, { deadlineSeconds: 12 }));
    const execution = await core.waitForExecution('shadow-120', thing, isTerminal, 120_000);
    expect(execution.status).toBe('FAILED');
    const after = await eventually(async () => {
      const r = (await getShadow(data, thing))?.state.reported;
      return (r?.rollbackCount as number | undefined) === 1 ? r : undefined;
    }, 'the rollback in the reported state');
    expect(after).toMatchObject({
      firmwareVersion: '1.0.0',
      activeSlot: 'A',
      lastUpdate: { jobId: 'shadow-120', result: 'rolled-back', reasonCode: 'HEALTH_CHECK_FAILED', toVersion: '1.2.0' },
    });
    const outcome = await eventually(
      () => health.reports.find((r) => r.schemaVersion === 2 && r.lastUpdate?.jobId === 'shadow-120'),
      'the health report after the outcome',
    );
    expect(outcome).toMatchObject({ rollbackCount: 1, lastUpdate: { result: 'rolled-back' } });
    expect((await agent.stop()).code).toBe(0);
  }, 240_000);

  it('delivers the health reports written while the broker was stopped exactly once after it restarts', async () => {
    // A core of its own on fixed ports, so it can be stopped and started again on the same data directory.
    const dir = mkdtempSync(join(tmpdir(), 'agent-e2e-restart-core-'));
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const config = loadConfig(
      [
        '--data-dir',
        dir,
        '--http-port',
        String(httpPort),
        '--mqtt-tls-port',
        String(mqttPort),
        '--log-level',
        'silent',
      ],
      {},
    );
    const silent = pino({ level: 'silent' });
    let own: LocalCore = await startLocalCore(config, silent);
    cleanups.push(() => own.close());
    const thing = 'e2e-restart-pi';
    const credentials = await issueDeviceToDirectory(own.pki.dir, thing);
    // The agent reaches the broker through a proxy, so it comes back only once the watcher is subscribed again.
    const proxy: TcpProxy = await startTcpProxy(mqttPort);
    cleanups.push(() => proxy.close());
    const dev = await createE2eDevice({ thing, samples, mqttPort: proxy.port, credentials, appPort: await freePort() });
    await configure(dev.configPath, { healthReportIntervalSeconds: 10 });
    const watcher = await serviceConnectionOf(own.pki.dir, 'e2e-restart-watcher', mqttPort);
    const reports: HealthReport[] = [];
    await watcher.subscribe(healthReportTopic(thing), (m) => {
      const parsed = parseHealthReport(m.payload, thing);
      if (parsed.ok) reports.push(parsed.value);
    });
    const agent = dev.start();
    agents.push(agent);
    await eventually(() => reports[0], 'the first report', 60_000);

    const pending = (): number => {
      const path = join(dev.dataDir, 'journal.db');
      if (!existsSync(path)) return 0;
      const db = new Database(path, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    proxy.down();
    await own.close();
    await eventually(() => (pending() >= 2 ? true : undefined), 'two reports written while the broker is down', 60_000);
    const heldBack = pending();

    own = await startLocalCore(config, silent);
    await eventually(() => (watcher.state.kind === 'connected' ? true : undefined), 'the watcher back', 30_000);
    await new Promise((r) => setTimeout(r, 500)); // its resubscription is part of "connected"; a little slack
    proxy.up();
    await eventually(() => (pending() === 0 ? true : undefined), 'the outbox drained', 60_000);
    expect((await agent.stop()).code).toBe(0);
    await new Promise((r) => setTimeout(r, 500));

    const v2 = reports.filter((r) => r.schemaVersion === 2);
    const sequences = v2.map((r) => r.sequence);
    expect(new Set(v2.map((r) => r.bootId)).size).toBe(1);
    expect(sequences).toEqual(sequences.map((_, i) => i)); // 0, 1, 2 …: none lost, none twice, in order
    expect(sequences.length).toBeGreaterThanOrEqual(1 + heldBack);
  }, 240_000);
});
