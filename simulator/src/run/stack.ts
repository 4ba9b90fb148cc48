import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IoTClient } from '@aws-sdk/client-iot';
import type { Logger } from 'pino';
import {
  DEV_ACCESS_KEY_ID,
  DEV_SECRET_ACCESS_KEY,
  issueServiceToDirectory,
  loadConfig,
  startLocalCore,
  type EmbeddedBroker,
  type LocalCore,
} from '@otafleet/iot-core';
import { bundleUrlKeyText, loadStackConfig, startFleetService, withFleetDataDir } from '@otafleet/fleet-service';

/** The local stack a scenario runs against: the core (embedded broker) and the fleet service, in this process. */
export interface SimStack {
  readonly core: LocalCore;
  readonly broker: EmbeddedBroker;
  /** AWS's IoT client pointed at the core's control plane. */
  readonly iot: IoTClient;
  readonly fleetApi: string;
  readonly token: string;
  close(): Promise<void>;
}

export interface SimStackOptions {
  readonly dataDir: string;
  /** The bundle trust set the fleet service verifies uploads against. */
  readonly trustPath: string;
  readonly logger: Logger;
  /** How often the rollout engine ticks; shorter than a production stack's so waves follow each other promptly. */
  readonly tickIntervalMs?: number;
  readonly lateJoinerIntervalMs?: number;
}

/**
 * Starts what `pnpm start` starts, with the same start functions, on free ports and a scratch data directory:
 * the local core, a service certificate from its CA, and the fleet service connected to it over mutual TLS.
 */
export async function startSimStack(options: SimStackOptions): Promise<SimStack> {
  const args = ['--data-dir', join(options.dataDir, 'core'), '--http-port', '0', '--mqtt-tls-port', '0'];
  const loaded = loadStackConfig([...args, '--api-port', '0', '--trust', options.trustPath], {});
  let coreConfig = loadConfig([...loaded.coreArgs, '--log-level', 'silent'], {});
  const stack = withFleetDataDir(loaded, coreConfig.dataDir);
  const bundleUrlKey = bundleUrlKeyText(stack.fleet.dataDir);
  coreConfig = { ...coreConfig, bundleUrlKey };
  const coreLogger = options.logger.child({ part: 'iot-core' });
  // At the default level the core's one warning (the development access key, by design here) is noise in every run.
  if (coreLogger.level === 'warn') coreLogger.level = 'error';
  const core = await startLocalCore(coreConfig, coreLogger);
  try {
    const broker = core.broker;
    if (broker === undefined) throw new Error('the local core started without its embedded broker');
    const service = await issueServiceToDirectory(core.pki.dir, 'fleet-service');
    const fleet = await startFleetService(
      {
        ...stack.fleet,
        bundleUrlKey,
        tickIntervalMs: options.tickIntervalMs ?? 250,
        lateJoinerIntervalMs: options.lateJoinerIntervalMs ?? 1_000,
      },
      {
        controlPlane: { endpoint: core.httpEndpoint, region: coreConfig.region },
        credentials: { accessKeyId: coreConfig.accessKeyId, secretAccessKey: coreConfig.secretAccessKey },
        mqtt: {
          url: `mqtts://${coreConfig.host}:${core.mqttTlsPort ?? 0}`,
          ca: await readFile(service.caPath),
          cert: await readFile(service.certPath),
          key: await readFile(service.keyPath),
          clientId: 'fleet-service',
        },
      },
      options.logger.child({ part: 'fleet-service' }),
    );
    const iot = new IoTClient({
      endpoint: core.httpEndpoint,
      region: coreConfig.region,
      credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
      maxAttempts: 3,
    });
    const token = fleet.createdToken ?? (await readFile(fleet.tokenFile, 'utf8')).trim();
    return {
      core,
      broker,
      iot,
      fleetApi: fleet.apiEndpoint,
      token,
      close: async () => {
        iot.destroy();
        await fleet.close();
        await core.close();
      },
    };
  } catch (e) {
    await core.close();
    throw e;
  }
}
