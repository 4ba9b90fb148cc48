import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { IoTClient } from '@aws-sdk/client-iot';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createTrustStore, loadTrustStore, type TrustStore } from '@otafleet/bundle';
import { createMqttConnection, mqttJsTransport, type MqttConnection } from '@otafleet/mqtt-client';
import { buildApi } from '../api/build-api.js';
import { createServiceMetrics } from '../api/metrics.js';
import type { RateLimitConfig } from '../api/rate-limit.js';
import { openTokenStore, type TokenStore } from '../api/tokens.js';
import { openBundleBackend, type S3BundleConfig } from '../bundles/bundle-backend.js';
import type { BundleStore } from '../bundles/types.js';
import { openDeviceIndex } from '../devices/device-index.js';
import { createEnrolment } from '../devices/enrolment.js';
import { createGroups } from '../devices/groups.js';
import { startBackups, type BackupScheduleConfig } from '../backup/backup-schedule.js';
import { createRolloutEngine, type RolloutEngine } from '../engine/rollout-engine.js';
import { startHealthIngest, type HealthIngest } from '../health/health-ingest.js';
import { openSqliteHealthStore } from '../health/sqlite-health-store.js';
import type { HealthStore } from '../health/types.js';
import { openSqliteRolloutStore } from '../store/sqlite-rollout-store.js';
import type { RolloutStore } from '../store/types.js';

/** Where the fleet service finds AWS IoT (the local core or the real one): the same code path either way. */
export interface IotEndpoints {
  readonly controlPlane: { readonly endpoint: string | undefined; readonly region: string };
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly mqtt: {
    readonly url: string;
    readonly ca?: Buffer;
    readonly cert: Buffer;
    readonly key: Buffer;
    readonly clientId: string;
  };
}

export interface FleetServiceConfig {
  readonly dataDir: string;
  readonly host: string;
  readonly apiPort: number;
  /**
   * Where devices reach the API when that is not the address it listens on (a load balancer, a proxy): the base
   * of the bundle URLs in job documents, which outlive this process. Default: the listening address.
   */
  readonly publicUrl?: string;
  /** The bundle trust set uploads are verified against; absent: an empty set (every upload refused, and said so). */
  readonly trustPath: string | undefined;
  readonly maxBundleBytes: number;
  /**
   * How devices get a bundle URL. `presigned`: the job document carries AWS's placeholder
   * `${aws:iot:s3-presigned-url:<url>}` and the IoT core signs a fresh URL at every read (the local core does this
   * with the shared key; a device re-reading after expiry gets a new one). `signed`: the service signs the URL once,
   * at job creation, valid for `bundleUrlTtlSeconds`.
   */
  readonly bundleUrls: 'presigned' | 'signed';
  /** The key text bundle URLs are signed and checked with (see bundleUrlKeyText); shared with the IoT core. */
  readonly bundleUrlKey: string;
  readonly bundleUrlTtlSeconds: number;
  /** Bundles in S3, handed to devices as AWS IoT presigned URLs; absent: on disk under dataDir (bundleUrls). */
  readonly s3Bundles?: S3BundleConfig;
  readonly tickIntervalMs: number;
  readonly lateJoinerIntervalMs: number;
  /** The MQTT filter health reports arrive on (a `$share/...` filter where the broker supports it). */
  readonly healthFilter: string;
  /** A device whose last health report is younger than this is listed as online (default 300 s). */
  readonly onlineWindowSeconds?: number;
  /** An AWS IoT policy attached to every certificate enrolment makes (absent: none; the local core has no policies). */
  readonly iotPolicyName?: string;
  /** The operator API's rate limit per token (default DEFAULT_RATE_LIMIT); `false`: none. */
  readonly rateLimit?: RateLimitConfig | false;
  /** Scheduled backups of the databases, with retention; without it backups are taken on demand only. */
  readonly backup?: BackupScheduleConfig;
}

/** The gate's baselines (before-update and not-updated samples) are reread at most this often. */
const BASELINE_REFRESH_MS = 2_000;

export interface FleetService {
  readonly apiEndpoint: string;
  /** Set on the first start only: the admin token created then (also in `<dataDir>/operator-token`). */
  readonly createdToken: string | undefined;
  readonly tokenFile: string;
  close(): Promise<void>;
}

/** A bundle URL key file that is not what bundleUrlKeyText writes (cut short, edited): refused, never used. */
export class BundleUrlKeyError extends Error {
  override readonly name = 'BundleUrlKeyError';
}

const KEY_TEXT = /^[0-9a-f]{64}$/;

/**
 * The key bundle URLs are signed with, kept across restarts (created on first use, readable by its owner only):
 * 64 hex characters, used as text, so the IoT core can be handed the same key (OTA_CORE_BUNDLE_URL_KEY). The file
 * appears whole or not at all (written aside, synced, then linked into place): a kill mid-write must not leave an
 * empty key that the next start would sign with, turning every URL already in a job document invalid.
 */
export function bundleUrlKeyText(dataDir: string): string {
  const path = join(dataDir, 'bundle-url.key');
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(path)) {
    const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    const fd = openSync(aside, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('hex')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(aside, path); // fails if another start created it first: theirs is kept
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      unlinkSync(aside);
    }
    const dir = openSync(dataDir, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
  const key = readFileSync(path, 'utf8').trim();
  if (!KEY_TEXT.test(key)) {
    throw new BundleUrlKeyError(
      `${path} does not hold a bundle URL key (64 hex characters); restore it from a backup, or delete it to make a new one (bundle URLs already handed out stop working)`,
    );
  }
  return key;
}

/** `subscribed` (which waits for the first connection), or a ConnectFailed-like error naming the endpoint. */
async function withDeadline<T>(subscribed: Promise<T>, ms: number, what: string, bus: MqttConnection): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const state = bus.state;
      const why = state.kind === 'backoff' ? `: ${state.reason.message}` : '';
      reject(new Error(`could not connect to ${what} within ${ms} ms${why}`));
    }, ms);
  });
  try {
    return await Promise.race([subscribed, late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startFleetService(
  config: FleetServiceConfig,
  endpoints: IotEndpoints,
  logger: Logger,
): Promise<FleetService> {
  mkdirSync(config.dataDir, { recursive: true });
  const opened: { close(): unknown }[] = [];
  const closeAll = async (): Promise<void> => {
    for (const part of opened.reverse()) await part.close();
  };
  try {
    const trust: TrustStore =
      config.trustPath === undefined ? createTrustStore({ keys: [] }) : await loadTrustStore(config.trustPath);
    const urlKey = Buffer.from(config.bundleUrlKey, 'utf8');
    const rollouts: RolloutStore = openSqliteRolloutStore(join(config.dataDir, 'rollouts.sqlite'));
    opened.push(rollouts);
    const healthPath = join(config.dataDir, 'health.sqlite');
    const health: HealthStore = openSqliteHealthStore(healthPath);
    opened.push(health);
    // Opened after the health store, whose file it joins with.
    const devices = openDeviceIndex(join(config.dataDir, 'devices.sqlite'), { healthPath });
    opened.push(devices);
    let apiEndpoint = '';
    const bundleBackend = await openBundleBackend(config, trust, () => config.publicUrl ?? apiEndpoint);
    opened.push(bundleBackend);
    const bundles: BundleStore = bundleBackend.store;
    const tokens: TokenStore = openTokenStore(join(config.dataDir, 'tokens.sqlite'));
    opened.push(tokens);
    const tokenFile = join(config.dataDir, 'operator-token');
    let createdToken: string | undefined;
    if (tokens.count() === 0) {
      createdToken = tokens.create('operator', 'admin', Date.now());
      writeFileSync(tokenFile, `${createdToken}\n`, { mode: 0o600 });
    }

    const iot = new IoTClient({
      region: endpoints.controlPlane.region,
      ...(endpoints.controlPlane.endpoint === undefined ? {} : { endpoint: endpoints.controlPlane.endpoint }),
      ...(endpoints.credentials === undefined ? {} : { credentials: endpoints.credentials }),
    });
    opened.push({ close: () => iot.destroy() });
    // A persistent session under a stable client id: while this process is down (a crash, a deploy) the broker
    // keeps its subscription and queues the health reports devices send meanwhile, and what was in flight
    // unacknowledged at a kill is redelivered. The handler is in place before the first CONNACK: a resumed session
    // delivers its queue at once, and a message with no handler yet would be acknowledged and lost.
    const bus: MqttConnection = createMqttConnection({
      transport: mqttJsTransport({
        url: endpoints.mqtt.url,
        tls: {
          cert: endpoints.mqtt.cert,
          key: endpoints.mqtt.key,
          ...(endpoints.mqtt.ca === undefined ? {} : { ca: endpoints.mqtt.ca }),
        },
      }),
      clientId: endpoints.mqtt.clientId,
      cleanSession: false,
      logger: logger.child({ part: 'mqtt' }),
    });
    opened.push(bus);
    const subscribed = startHealthIngest({
      bus,
      store: health,
      filter: config.healthFilter,
      logger: logger.child({ part: 'health' }),
    });
    bus.start();
    const ingest: HealthIngest = await withDeadline(subscribed, 30_000, `MQTT ${endpoints.mqtt.url}`, bus);
    opened.push({ close: () => ingest.stop() });

    const metrics = createServiceMetrics();
    const backups = startBackups({
      dataDir: config.dataDir,
      ...(config.backup === undefined ? {} : { schedule: config.backup }),
      now: Date.now,
      logger: logger.child({ part: 'backup' }),
      onBackup: (outcome) => metrics.countBackup(outcome),
    });
    opened.push({ close: () => backups.stop() });
    const engine: RolloutEngine = createRolloutEngine({
      iot,
      store: rollouts,
      health,
      bundles,
      bundleUrl: bundleBackend.deviceUrl,
      ...(bundleBackend.presignedUrlConfig === undefined
        ? {}
        : { presignedUrlConfig: bundleBackend.presignedUrlConfig }),
      now: Date.now,
      logger: logger.child({ part: 'rollouts' }),
      onJobCounts: (rolloutId, wave, counts) => metrics.observeJobCounts(rolloutId, wave, counts),
      baselineRefreshMs: BASELINE_REFRESH_MS,
    });

    const api: FastifyInstance = await buildApi({
      engine,
      rollouts,
      health,
      bundles,
      tokens,
      urlKey,
      now: Date.now,
      logger: logger.child({ part: 'api' }),
      maxBundleBytes: config.maxBundleBytes,
      devices: {
        iot,
        index: devices,
        enrolment: createEnrolment({
          iot,
          index: devices,
          ...(config.iotPolicyName === undefined ? {} : { policyName: config.iotPolicyName }),
          now: Date.now,
          logger: logger.child({ part: 'devices' }),
        }),
        groups: createGroups(iot),
        onlineWindowMs: (config.onlineWindowSeconds ?? 300) * 1000,
      },
      metrics,
      backups,
      ...(config.rateLimit === undefined ? {} : { rateLimit: config.rateLimit }),
      ready: () => {
        const connected = bus.state.kind === 'connected';
        return { ready: connected, reasons: connected ? [] : [`MQTT ${bus.state.kind}`] };
      },
    });
    apiEndpoint = await api.listen({ host: config.host, port: config.apiPort });
    opened.push({ close: () => api.close() });

    // The rollout loop: one tick at a time, never overlapping; late joiners checked less often.
    let stopping = false;
    let lastJoinCheck = 0;
    let loop: Promise<void> = Promise.resolve();
    let stepping = false;
    const step = async (): Promise<void> => {
      try {
        await engine.tickAll(100);
        if (Date.now() - lastJoinCheck >= config.lateJoinerIntervalMs) {
          lastJoinCheck = Date.now();
          for (const r of await rollouts.listRollouts({ status: 'running' })) await engine.addLateJoiners(r.id);
        }
      } catch (e) {
        logger.error({ err: e }, 'rollout tick failed; the next tick retries');
      }
    };
    // A step slower than the interval is not queued behind itself: the next tick starts after it, not a backlog.
    const timer = setInterval(() => {
      if (stopping || stepping) return;
      stepping = true;
      loop = step().finally(() => (stepping = false));
    }, config.tickIntervalMs);
    opened.push({
      close: async () => {
        stopping = true;
        clearInterval(timer);
        await loop;
      },
    });

    return {
      apiEndpoint,
      createdToken,
      tokenFile,
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
