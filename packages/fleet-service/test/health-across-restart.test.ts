/**
 * Health reports a device sends while the fleet service is down reach its health store once it is back: the
 * service holds a persistent MQTT session, so the broker keeps its subscription and queues QoS 1 reports for it,
 * and its handler is in place before the resumed session delivers that queue (a message that arrives before any
 * handler is acknowledged by the client and gone). On the shared filter, as the stack runs it: a group whose only
 * member is a persistent session away holds what is published meanwhile for it. Real local core, real MQTT over
 * mutual TLS, real SQLite.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEV_ACCESS_KEY_ID,
  DEV_SECRET_ACCESS_KEY,
  issueDeviceToDirectory,
  issueServiceToDirectory,
  loadConfig,
  startLocalCore,
  type LocalCore,
} from '@otafleet/iot-core';
import { HEALTH_REPORT_SHARED_FILTER, healthReportTopic, type HealthReportV2 } from '@otafleet/protocol';
import { startFleetService, type FleetService, type IotEndpoints } from '../src/app/fleet-service.js';

const silent = pino({ level: 'silent' });
const THING = 'pi-health';
let dir: string;
let core: LocalCore;
let endpoints: IotEndpoints;
let device: MqttClient;
let service: FleetService | undefined;
let token = '';

const start = (): Promise<FleetService> =>
  startFleetService(
    {
      dataDir: join(dir, 'fleet'),
      host: '127.0.0.1',
      apiPort: 0,
      trustPath: undefined,
      maxBundleBytes: 1_000_000,
      bundleUrls: 'signed',
      bundleUrlKey: 'k'.repeat(64),
      bundleUrlTtlSeconds: 3600,
      tickIntervalMs: 1_000,
      lateJoinerIntervalMs: 60_000,
      healthFilter: HEALTH_REPORT_SHARED_FILTER,
    },
    endpoints,
    silent,
  );

const report = (sequence: number): HealthReportV2 => ({
  schemaVersion: 2,
  thingName: THING,
  bootId: '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b',
  bootCount: 1,
  sequence,
  timestamp: Date.now(),
  agentVersion: '0.1.0',
  firmwareVersion: '1.0.0',
  hardwareType: 'rpi4',
  activeSlot: 'A',
  status: 'healthy',
  uptimeSeconds: 60 + sequence,
  counters: { processRestarts: 0, crashes: 0, errors: 0, requests: 10 },
  rollbackCount: 0,
  checks: [],
});

/** The sequence of the newest report the service's API shows for the device, once it is `wanted` (bounded). */
async function storedSequence(api: string, wanted: number): Promise<number | undefined> {
  let seen: number | undefined;
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    const response = await fetch(`${api}/v1/devices/${THING}/health`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (response.ok) seen = ((await response.json()) as { report: { sequence: number } }).report.sequence;
    if (seen === wanted) return seen;
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-health-restart-'));
  core = await startLocalCore(
    loadConfig(
      ['--data-dir', join(dir, 'core'), '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'silent'],
      {},
    ),
    silent,
  );
  const cred = await issueServiceToDirectory(core.pki.dir, 'fleet-service');
  endpoints = {
    controlPlane: { endpoint: core.httpEndpoint, region: 'us-east-1' },
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    mqtt: {
      url: `mqtts://127.0.0.1:${core.mqttTlsPort ?? 0}`,
      ca: await readFile(cred.caPath),
      cert: await readFile(cred.certPath),
      key: await readFile(cred.keyPath),
      clientId: 'fleet-service',
    },
  };
  const credentials = await issueDeviceToDirectory(core.pki.dir, THING);
  device = await mqtt.connectAsync({
    protocol: 'mqtts',
    host: '127.0.0.1',
    port: core.mqttTlsPort ?? 0,
    clientId: THING,
    cert: readFileSync(credentials.certPath),
    key: readFileSync(credentials.keyPath),
    ca: readFileSync(credentials.caPath),
    reconnectPeriod: 0,
  });
});

afterAll(async () => {
  await device?.endAsync();
  await service?.close();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('health reports across a fleet-service restart', () => {
  it('stores a report sent while the service was down once it is back', async () => {
    service = await start();
    token = service.createdToken ?? '';
    await device.publishAsync(healthReportTopic(THING), JSON.stringify(report(0)), { qos: 1 });
    expect(await storedSequence(service.apiEndpoint, 0)).toBe(0);

    await service.close();
    service = undefined;
    // Acknowledged by the broker (PUBACK) while no fleet service is connected.
    await device.publishAsync(healthReportTopic(THING), JSON.stringify(report(1)), { qos: 1 });
    await device.publishAsync(healthReportTopic(THING), JSON.stringify(report(2)), { qos: 1 });

    service = await start();
    expect(service.createdToken).toBeUndefined(); // the same data: the token of the first start still works
    expect(await storedSequence(service.apiEndpoint, 2)).toBe(2);
  });
});
