import { Type, type Static } from '@sinclair/typebox';
import { compileValidator, describeIssues } from '@otafleet/protocol';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkS3PresignEndpoint } from '../jobs/s3-presign.js';

const Port = Type.Integer({ minimum: 0, maximum: 65_535 });

export const LocalCoreConfigSchema = Type.Object(
  {
    dataDir: Type.String({ minLength: 1 }),
    host: Type.String({ minLength: 1 }),
    /** Mutual-TLS MQTT listener (AWS IoT's port). */
    mqttTlsPort: Port,
    /** Plain TCP, no authentication: local development only, never on by default. */
    mqttTcpPort: Type.Optional(Port),
    /** Control plane + data plane HTTP API (SigV4). */
    httpPort: Port,
    region: Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d$' }),
    accountId: Type.String({ pattern: '^\\d{12}$' }),
    accessKeyId: Type.String({ minLength: 16, maxLength: 128, pattern: '^\\w+$' }),
    secretAccessKey: Type.String({ minLength: 16 }),
    /** Use an external broker (e.g. Mosquitto 2 with the generated config) instead of the embedded one. */
    brokerUrl: Type.Optional(Type.String({ pattern: '^(mqtt|mqtts)://' })),
    /** Key of the signed bundle URLs in job documents (env only); the bundle store verifies with the same. */
    bundleUrlKey: Type.Optional(Type.String({ minLength: 32 })),
    /**
     * An S3-compatible server that stands in for the role of a job's presignedUrlConfig (env only): S3 object URLs
     * in `${aws:iot:s3-presigned-url:…}` become SigV4-presigned GETs on it.
     */
    s3Presign: Type.Optional(
      Type.Object(
        {
          endpoint: Type.String({ pattern: '^https?://' }),
          region: Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d$' }),
          accessKeyId: Type.String({ minLength: 1 }),
          secretAccessKey: Type.String({ minLength: 1 }),
        },
        { additionalProperties: false },
      ),
    ),
    logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
  },
  { additionalProperties: false },
);
export type LocalCoreConfig = Static<typeof LocalCoreConfigSchema>;
const validator = compileValidator(LocalCoreConfigSchema);

/** Development credentials for the embedded defaults; the log warns whenever they are in use. */
export const DEV_ACCESS_KEY_ID = 'AKIALOCALIOTCORE0001';
export const DEV_SECRET_ACCESS_KEY = 'local-iot-core-development-secret';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CORE_CONFIG_INVALID';
}

const FLAGS = {
  'data-dir': 'OTA_CORE_DATA_DIR',
  host: 'OTA_CORE_HOST',
  'mqtt-tls-port': 'OTA_CORE_MQTT_TLS_PORT',
  'mqtt-tcp-port': 'OTA_CORE_MQTT_TCP_PORT',
  'http-port': 'OTA_CORE_HTTP_PORT',
  region: 'OTA_CORE_REGION',
  'account-id': 'OTA_CORE_ACCOUNT_ID',
  'broker-url': 'OTA_CORE_BROKER_URL',
  'log-level': 'LOG_LEVEL',
} as const;
type Flag = keyof typeof FLAGS;

export const CONFIG_HELP = `Usage: iot-core [options]
  --data-dir DIR        state (SQLite) and TLS material        env OTA_CORE_DATA_DIR      default ./.data/iot-core
  --host ADDR           bind address                           env OTA_CORE_HOST          default 127.0.0.1
  --mqtt-tls-port N     MQTT over mutual TLS                   env OTA_CORE_MQTT_TLS_PORT default 8883
  --mqtt-tcp-port N     plain MQTT, NO authentication (dev)    env OTA_CORE_MQTT_TCP_PORT default off
  --http-port N         control/data-plane HTTP API (SigV4)    env OTA_CORE_HTTP_PORT     default 4080
  --region R            region in ARNs and SigV4               env OTA_CORE_REGION        default us-east-1
  --account-id N        account id in ARNs                     env OTA_CORE_ACCOUNT_ID    default 123456789012
  --broker-url URL      external broker instead of aedes       env OTA_CORE_BROKER_URL    default embedded
  --log-level L         pino level                             env LOG_LEVEL              default info
Access keys (env only, never flags): OTA_CORE_ACCESS_KEY_ID, OTA_CORE_SECRET_ACCESS_KEY
  (default: the development pair ${DEV_ACCESS_KEY_ID} / ${DEV_SECRET_ACCESS_KEY}, with a warning).
Bundle URL signing key (env only, at least 32 characters): OTA_CORE_BUNDLE_URL_KEY (default: random per start).
S3 presigning (env only): OTA_CORE_S3_ENDPOINT (https, or http on loopback), OTA_CORE_S3_REGION (default --region),
  OTA_CORE_S3_ACCESS_KEY_ID, OTA_CORE_S3_SECRET_ACCESS_KEY: S3 URLs in presigned-URL placeholders are presigned there.`;

/** The S3 stand-in from OTA_CORE_S3_*: all of endpoint and key pair, or none of them. */
function s3PresignFromEnv(env: NodeJS.ProcessEnv, region: string): Record<string, string> | undefined {
  const endpoint = env['OTA_CORE_S3_ENDPOINT'];
  const accessKeyId = env['OTA_CORE_S3_ACCESS_KEY_ID'];
  const secretAccessKey = env['OTA_CORE_S3_SECRET_ACCESS_KEY'];
  if (endpoint === undefined && accessKeyId === undefined && secretAccessKey === undefined) return undefined;
  if (endpoint === undefined || accessKeyId === undefined || secretAccessKey === undefined) {
    throw new ConfigError(
      'S3 presigning needs all of OTA_CORE_S3_ENDPOINT, OTA_CORE_S3_ACCESS_KEY_ID and OTA_CORE_S3_SECRET_ACCESS_KEY',
    );
  }
  try {
    checkS3PresignEndpoint(endpoint);
  } catch (e) {
    throw new ConfigError(`OTA_CORE_S3_ENDPOINT: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { endpoint, region: env['OTA_CORE_S3_REGION'] ?? region, accessKeyId, secretAccessKey };
}

/** Flags win over environment, environment over defaults. Throws ConfigError naming what to fix. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): LocalCoreConfig {
  let values: Partial<Record<Flag, string>>;
  try {
    const options = Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' as const }]));
    // `pnpm start -- --flag` passes the `--` through.
    const args = argv[0] === '--' ? argv.slice(1) : [...argv];
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new ConfigError(`${e instanceof Error ? e.message : String(e)}\n${CONFIG_HELP}`);
  }
  const pick = (flag: Flag): string | undefined => values[flag] ?? env[FLAGS[flag]];
  const int = (flag: Flag, fallback?: number): number | undefined => {
    const raw = pick(flag);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw)) throw new ConfigError(`--${flag} / ${FLAGS[flag]} must be a port number, got "${raw}"`);
    return Number(raw);
  };
  const candidate: Record<string, unknown> = {
    // Relative to where the user ran the command (pnpm runs scripts inside the package folder).
    dataDir: resolve(env['INIT_CWD'] ?? process.cwd(), pick('data-dir') ?? '.data/iot-core'),
    host: pick('host') ?? '127.0.0.1',
    mqttTlsPort: int('mqtt-tls-port', 8883),
    mqttTcpPort: int('mqtt-tcp-port'),
    httpPort: int('http-port', 4080),
    region: pick('region') ?? 'us-east-1',
    accountId: pick('account-id') ?? '123456789012',
    accessKeyId: env['OTA_CORE_ACCESS_KEY_ID'] ?? DEV_ACCESS_KEY_ID,
    secretAccessKey: env['OTA_CORE_SECRET_ACCESS_KEY'] ?? DEV_SECRET_ACCESS_KEY,
    brokerUrl: pick('broker-url'),
    bundleUrlKey: env['OTA_CORE_BUNDLE_URL_KEY'],
    s3Presign: s3PresignFromEnv(env, pick('region') ?? 'us-east-1'),
    logLevel: pick('log-level') ?? 'info',
  };
  for (const key of Object.keys(candidate)) if (candidate[key] === undefined) delete candidate[key];
  const checked = validator.validate(candidate);
  if (!checked.ok) throw new ConfigError(`invalid configuration: ${describeIssues(checked.error)}\n${CONFIG_HELP}`);
  return Object.freeze(checked.value);
}
