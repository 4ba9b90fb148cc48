/**
 * Minimal MQTT devices for the rollout engine's tests: each speaks the Jobs MQTT API over mutual TLS to the
 * local core and publishes protocol v2 health reports. They stand in for the agent only in how they decide
 * (good, sick, failing); the agent's own end-to-end tests cover the agent. `behaviour` is per version.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import {
  healthReportTopic,
  jobsNotifyNextTopic,
  jobsRequestTopic,
  jobsResponseTopic,
  type HealthReportV2,
} from '@otafleet/protocol';

const START_NEXT = { name: 'StartNextPendingJobExecution' } as const;

export type Behaviour = 'good' | 'crashes' | 'fails-install';

export interface FleetDevice {
  readonly thingName: string;
  version: string;
  /** The release in the other slot: where a rollback goes. */
  previousVersion: string | undefined;
  readonly jobsSeen: string[];
  /** URLs downloaded and verified (with `download`). */
  readonly downloaded: string[];
  /** Why each job this device failed, failed (for test messages). */
  readonly failures: string[];
  close(): Promise<void>;
}

interface Credentials {
  readonly certPath: string;
  readonly keyPath: string;
  readonly caPath: string;
}

const DOWNLOAD_PATIENCE_MS = 30_000;

/**
 * GET with the agent's retry rule (its downloader backs off and retries a refused or reset connection and a 5xx,
 * and gives up at once on another 4xx); here a fixed 200 ms pause, for at most DOWNLOAD_PATIENCE_MS.
 */
async function fetchBundle(url: string): Promise<{ response: Response | undefined; bytes: Buffer | undefined }> {
  const until = Date.now() + DOWNLOAD_PATIENCE_MS;
  for (;;) {
    const response = await fetch(url).catch(() => undefined);
    const bytes =
      response?.ok === true
        ? await response.arrayBuffer().then(
            (b) => Buffer.from(b),
            () => undefined,
          )
        : undefined;
    const retryable = response === undefined || response.status >= 500 || (response.ok && bytes === undefined);
    if (!retryable || Date.now() > until) return { response, bytes };
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startFleetDevice(options: {
  readonly thingName: string;
  readonly port: number;
  readonly credentials: Credentials;
  readonly version: string;
  /** How the device behaves once it runs a given version. */
  readonly behaviourOf: (version: string) => Behaviour;
  /** Download the bundle from the job document's URL and check its SHA-256 before reporting success. */
  readonly download?: boolean;
  /** How long an install takes (default 0). */
  readonly installMs?: number;
}): Promise<FleetDevice> {
  const { thingName } = options;
  const client: MqttClient = mqtt.connect({
    protocol: 'mqtts',
    host: '127.0.0.1',
    port: options.port,
    clientId: thingName,
    cert: readFileSync(options.credentials.certPath),
    key: readFileSync(options.credentials.keyPath),
    ca: readFileSync(options.credentials.caPath),
    rejectUnauthorized: true,
    reconnectPeriod: 200,
  });
  const bootId = randomUUID();
  let sequence = 0;
  const device: FleetDevice = {
    thingName,
    version: options.version,
    previousVersion: undefined,
    jobsSeen: [],
    downloaded: [],
    failures: [],
    close: () => client.endAsync().then(() => undefined),
  };
  const publishHealth = async (): Promise<void> => {
    const crashes = options.behaviourOf(device.version) === 'crashes' ? 40 : 0;
    const report: HealthReportV2 = {
      schemaVersion: 2,
      thingName,
      bootId,
      bootCount: 1,
      sequence: sequence++,
      timestamp: Date.now(),
      agentVersion: '0.1.0',
      firmwareVersion: device.version,
      hardwareType: 'rpi4',
      activeSlot: 'A',
      status: crashes > 0 ? 'degraded' : 'healthy',
      uptimeSeconds: 3600,
      counters: { processRestarts: crashes, crashes, errors: 0, requests: 1000 },
      rollbackCount: 0,
      checks: [],
    };
    await client.publishAsync(healthReportTopic(thingName), JSON.stringify(report), { qos: 1 });
  };
  const startNext = (): void => {
    void client.publishAsync(jobsRequestTopic(thingName, START_NEXT), JSON.stringify({}), { qos: 1 });
  };

  client.on('message', (topic, payload) => {
    const body = JSON.parse(payload.toString()) as {
      execution?: { jobId: string; versionNumber?: number; jobDocument?: Record<string, unknown> };
    };
    if (topic === jobsNotifyNextTopic(thingName)) {
      if (body.execution !== undefined) startNext();
      return;
    }
    if (topic !== jobsResponseTopic(thingName, START_NEXT, 'accepted') || body.execution === undefined) return;
    const { jobId, jobDocument } = body.execution;
    // A job is handled once, as the agent does: a repeated notification or start-next answer is ignored.
    if (device.jobsSeen.includes(jobId)) return;
    device.jobsSeen.push(jobId);
    const finish = async (
      status: 'SUCCEEDED' | 'FAILED' | 'REJECTED',
      details: Record<string, string>,
    ): Promise<void> => {
      await publishHealth();
      await client.publishAsync(
        jobsRequestTopic(thingName, { name: 'UpdateJobExecution', jobId }),
        JSON.stringify({ status, statusDetails: details }),
        { qos: 1 },
      );
    };
    void (async () => {
      if (jobDocument?.operation === 'ota.rollback') {
        const wanted = (jobDocument.precondition as { installedVersion?: string } | undefined)?.installedVersion;
        if (wanted !== undefined && wanted !== device.version) {
          await finish('REJECTED', { reasonCode: 'PRECONDITION_FAILED' });
          return;
        }
        if (device.previousVersion === undefined) {
          await finish('FAILED', { reasonCode: 'NO_PREVIOUS_RELEASE' });
          return;
        }
        [device.version, device.previousVersion] = [device.previousVersion, device.version];
        await finish('SUCCEEDED', { phase: 'committed' });
        return;
      }
      const target = (jobDocument?.bundle as { version: string } | undefined)?.version ?? '';
      const download = jobDocument?.download as { url: string; sha256: string } | undefined;
      if (options.download === true && download !== undefined) {
        const { response, bytes } = await fetchBundle(download.url);
        if (bytes === undefined || createHash('sha256').update(bytes).digest('hex') !== download.sha256) {
          await finish('FAILED', {
            reasonCode: 'DOWNLOAD_FAILED',
            reason: `GET ${download.url}: ${response?.status ?? 'no answer'}`,
          });
          return;
        }
        device.downloaded.push(download.url);
      }
      if (options.installMs !== undefined) await new Promise((r) => setTimeout(r, options.installMs));
      if (options.behaviourOf(target) === 'fails-install') {
        await finish('FAILED', { reasonCode: 'HEALTH_CHECK_FAILED', reason: 'probe answered 500' });
        return;
      }
      [device.previousVersion, device.version] = [device.version, target];
      await finish('SUCCEEDED', { phase: 'committed' });
    })();
  });

  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync([jobsNotifyNextTopic(thingName), jobsResponseTopic(thingName, START_NEXT, 'accepted')], {
    qos: 1,
  });
  await publishHealth();
  startNext();
  // After a reconnect (the core restarted), ask again: a notification sent while away is not repeated.
  client.on('connect', startNext);
  return device;
}
