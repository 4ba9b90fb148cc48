import { IoTClient, type IoTClientConfig } from '@aws-sdk/client-iot';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY, loadConfig, type LocalCoreConfig } from '../app/config.js';
import { startLocalCore, type LocalCore } from '../app/local-core.js';
import { ensurePki } from '../app/pki.js';
import type { S3PresignTarget } from '../jobs/s3-presign.js';
import { issueDeviceToDirectory, issueServiceToDirectory, type CredentialPaths } from '../identity/ca-store.js';
import { requireMosquitto, startTlsMosquitto, type MosquittoProcess } from './mosquitto.js';
import { silentLogger } from './silent-logger.js';

/** A certificate and key as files (for SDKs that take paths) and as PEM (for mqtt.js). */
export interface TestIdentity {
  readonly paths: CredentialPaths;
  readonly cert: string;
  readonly key: string;
  readonly caPem: string;
}

export interface TestCoreOptions {
  /** `embedded` (aedes, the default) or `mosquitto` (Mosquitto 2 with the generated mTLS config and ACL). */
  readonly broker?: 'embedded' | 'mosquitto';
  /** Also open the embedded broker's plain-TCP listener (no authentication). */
  readonly insecureTcp?: boolean;
  /** Where the core logs; silent unless given. */
  readonly logger?: Logger;
  /** An S3-compatible server the core presigns S3 placeholders for (as OTA_CORE_S3_* would configure it). */
  readonly s3Presign?: S3PresignTarget;
  /** The key of the bundle URLs the core signs (OTA_CORE_BUNDLE_URL_KEY); default random per start. */
  readonly bundleUrlKey?: string;
}

export interface TestCore {
  readonly core: LocalCore;
  readonly config: LocalCoreConfig;
  /** The temp directory holding the database and the PKI; removed by stop(). */
  readonly dir: string;
  readonly endpoints: {
    /** Control-plane and data-plane HTTP endpoint for the AWS SDK clients. */
    readonly http: string;
    /** Mutual-TLS MQTT port (embedded broker or Mosquitto). */
    readonly mqttTls: number;
    /** Plain-TCP MQTT port, when `insecureTcp` was asked for. */
    readonly mqttTcp: number | undefined;
  };
  readonly pki: { readonly dir: string; readonly caPath: string; readonly caPem: string };
  /** A device certificate for `thingName` from the core's CA (client id = thing name). */
  issueDevice(thingName: string): Promise<TestIdentity>;
  /** A privileged service certificate (CN `svc.<name>`) from the core's CA. */
  issueService(serviceName: string): Promise<TestIdentity>;
  /** The real AWS SDK clients, signed with the core's credentials; destroyed by stop(). */
  iotClient(extra?: Partial<IoTClientConfig>): IoTClient;
  dataClient(): IoTDataPlaneClient;
  /** Stops the core (and Mosquitto), destroys the SDK clients and removes the temp directory. */
  stop(): Promise<void>;
}

/** A whole local core on free ports of 127.0.0.1 in a fresh temp directory, reached as AWS would be. */
export async function startTestCore(options: TestCoreOptions = {}): Promise<TestCore> {
  const logger = options.logger ?? silentLogger;
  const dir = await mkdtemp(join(tmpdir(), 'otafleet-core-'));
  let mosquitto: MosquittoProcess | undefined;
  try {
    const args = ['--data-dir', dir, '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'silent'];
    if (options.insecureTcp === true) args.push('--mqtt-tcp-port', '0');
    if (options.broker === 'mosquitto') {
      const pki = await ensurePki(join(dir, 'pki'), logger);
      mosquitto = await startTlsMosquitto(requireMosquitto(), join(dir, 'mosquitto'), {
        cafile: pki.caPath,
        certfile: pki.server.certPath,
        keyfile: pki.server.keyPath,
        privilegedServices: ['iot-core'],
      });
      args.push('--broker-url', `mqtts://127.0.0.1:${mosquitto.port}`);
    }
    const env: NodeJS.ProcessEnv = {};
    if (options.bundleUrlKey !== undefined) env['OTA_CORE_BUNDLE_URL_KEY'] = options.bundleUrlKey;
    if (options.s3Presign !== undefined) {
      env['OTA_CORE_S3_ENDPOINT'] = options.s3Presign.endpoint;
      env['OTA_CORE_S3_REGION'] = options.s3Presign.region;
      env['OTA_CORE_S3_ACCESS_KEY_ID'] = options.s3Presign.accessKeyId;
      env['OTA_CORE_S3_SECRET_ACCESS_KEY'] = options.s3Presign.secretAccessKey;
    }
    const config = loadConfig(args, env);
    const core = await startLocalCore(config, logger);
    const caPem = await readFile(core.pki.caPath, 'utf8');
    const identity = async (paths: CredentialPaths): Promise<TestIdentity> => ({
      paths,
      cert: await readFile(paths.certPath, 'utf8'),
      key: await readFile(paths.keyPath, 'utf8'),
      caPem,
    });
    const clients: { destroy(): void }[] = [];
    const sdkConfig = {
      endpoint: core.httpEndpoint,
      region: config.region,
      credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
      maxAttempts: 1,
    };
    const track = <C extends { destroy(): void }>(client: C): C => {
      clients.push(client);
      return client;
    };
    const started = mosquitto;
    let stopping: Promise<void> | undefined;
    return {
      core,
      config,
      dir,
      endpoints: {
        http: core.httpEndpoint,
        mqttTls: started?.port ?? core.mqttTlsPort ?? 0,
        mqttTcp: core.mqttTcpPort,
      },
      pki: { dir: core.pki.dir, caPath: core.pki.caPath, caPem },
      issueDevice: async (thingName) => {
        const issued = await identity(await issueDeviceToDirectory(core.pki.dir, thingName));
        // Known to the core at once (not at its next folder scan), and granted in Mosquitto before it is used.
        core.certificates.register(issued.cert);
        await core.dynamicSecurity?.settled();
        return issued;
      },
      issueService: async (serviceName) => identity(await issueServiceToDirectory(core.pki.dir, serviceName)),
      iotClient: (extra = {}) => track(new IoTClient({ ...sdkConfig, ...extra })),
      dataClient: () => track(new IoTDataPlaneClient(sdkConfig)),
      stop: () =>
        (stopping ??= (async () => {
          for (const c of clients.splice(0)) c.destroy();
          await core.close();
          await started?.stop();
          await rm(dir, { recursive: true, force: true });
        })()),
    };
  } catch (e) {
    await mosquitto?.stop();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
