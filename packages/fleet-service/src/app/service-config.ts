import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { compileValidator, describeIssues } from '@otafleet/protocol';
import type { S3BundleConfig } from '../bundles/bundle-backend.js';
import type { FleetServiceConfig, IotEndpoints } from './fleet-service.js';
import { loadStackConfig } from './stack-config.js';

/**
 * The fleet service's configuration file: where AWS IoT is (the control plane, the IoT data endpoint for MQTT with
 * the service's certificate) and where bundles live. The same file shape serves AWS and the local core — the local
 * stack fills it with the core's endpoints (local-stack-config.ts) — so the service has no code path of its own
 * for "local". Credentials are never in the file: the AWS SDK's standard chain finds them (environment, shared
 * config and credentials files, SSO, container or instance role).
 */
export const ServiceConfigFileSchema = Type.Object(
  {
    /** Where the service keeps its SQLite files and token (relative: to the file's directory). */
    dataDir: Type.String({ minLength: 1 }),
    api: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(Type.String({ minLength: 1 })),
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** The bundle trust set (JSON) uploads are verified against; absent: every upload is refused. */
    trust: Type.Optional(Type.String({ minLength: 1 })),
    /** The AWS region of AWS IoT (and the SigV4 signing region). */
    region: Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d$' }),
    iot: Type.Object(
      {
        /** The control-plane endpoint; absent: AWS's regional endpoint. */
        controlPlaneEndpoint: Type.Optional(Type.String({ pattern: '^https?://' })),
        /** The account's IoT data endpoint as an MQTT URL (`mqtts://<prefix>-ats.iot.<region>.amazonaws.com:8883`). */
        dataEndpoint: Type.String({ pattern: '^mqtts://' }),
        /** The service's X.509 certificate and key, registered with AWS IoT with a policy for its topics. */
        certFile: Type.String({ minLength: 1 }),
        keyFile: Type.String({ minLength: 1 }),
        /** The CA the data endpoint's certificate chains to; absent: the system's roots (right for AWS). */
        caFile: Type.Optional(Type.String({ minLength: 1 })),
        clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
      },
      { additionalProperties: false },
    ),
    bundles: Type.Optional(
      Type.Object(
        {
          s3: Type.Optional(
            Type.Object(
              {
                bucket: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }),
                /** The bucket's region; absent: `region`. */
                region: Type.Optional(Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d$' })),
                /** An S3-compatible server instead of AWS's. */
                endpoint: Type.Optional(Type.String({ pattern: '^https?://' })),
                forcePathStyle: Type.Optional(Type.Boolean()),
                prefix: Type.Optional(Type.String({ pattern: '^([a-zA-Z0-9!_.*()-]+/)*$' })),
                /** The jobs' presignedUrlConfig (CreateJob): the role AWS IoT assumes to presign bundle URLs. */
                presignedUrl: Type.Object(
                  {
                    roleArn: Type.String({ pattern: '^arn:aws[a-z-]*:iam::\\d{12}:role/.+$', maxLength: 2048 }),
                    expiresInSec: Type.Optional(Type.Integer({ minimum: 60, maximum: 3600 })),
                  },
                  { additionalProperties: false },
                ),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    /** The MQTT filter health reports arrive on (AWS IoT supports `$share/<group>/...`). */
    healthFilter: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type ServiceConfigFile = Static<typeof ServiceConfigFileSchema>;

export class ServiceConfigError extends Error {
  override readonly name = 'ServiceConfigError';
  readonly code = 'FLEET_CONFIG_INVALID';
}

const validator = compileValidator(ServiceConfigFileSchema);

/** Checks a parsed configuration; throws ServiceConfigError naming the field. */
export function parseServiceConfig(value: unknown, source: string): ServiceConfigFile {
  const checked = validator.validate(value);
  if (!checked.ok) throw new ServiceConfigError(`${source}: ${describeIssues(checked.error)}`);
  return checked.value;
}

/** Reads and checks a configuration file; its relative paths are taken from the file's directory. */
export async function readServiceConfigFile(path: string): Promise<{ file: ServiceConfigFile; baseDir: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ServiceConfigError(`cannot read the configuration file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ServiceConfigError(`${path} is not JSON: ${(e as Error).message}`);
  }
  return { file: parseServiceConfig(json, path), baseDir: dirname(resolve(path)) };
}

/**
 * The service's settings and endpoints from a configuration: the file's values over `base` (the defaults and the
 * fleet flags of loadStackConfig). `credentials` is for a caller that holds them itself (the local stack holds
 * its core's); otherwise the AWS SDK's standard chain is used.
 */
export async function serviceConfigFrom(
  file: ServiceConfigFile,
  baseDir: string,
  base: FleetServiceConfig,
  credentials?: IotEndpoints['credentials'],
): Promise<{ readonly fleet: FleetServiceConfig; readonly endpoints: IotEndpoints }> {
  const path = (p: string): string => resolve(baseDir, p);
  const readPem = async (what: string, p: string): Promise<Buffer> => {
    try {
      return await readFile(path(p));
    } catch (e) {
      throw new ServiceConfigError(`cannot read ${what} ${path(p)}: ${(e as Error).message}`);
    }
  };
  const s3 = file.bundles?.s3;
  const s3Bundles: S3BundleConfig | undefined =
    s3 === undefined
      ? undefined
      : {
          bucket: s3.bucket,
          region: s3.region ?? file.region,
          ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
          ...(s3.forcePathStyle === undefined ? {} : { forcePathStyle: s3.forcePathStyle }),
          ...(s3.prefix === undefined ? {} : { prefix: s3.prefix }),
          presignedUrl: { roleArn: s3.presignedUrl.roleArn, expiresInSec: s3.presignedUrl.expiresInSec ?? 3600 },
        };
  const fleet: FleetServiceConfig = {
    ...base,
    dataDir: path(file.dataDir),
    ...(file.api?.host === undefined ? {} : { host: file.api.host }),
    ...(file.api?.port === undefined ? {} : { apiPort: file.api.port }),
    ...(file.trust === undefined ? {} : { trustPath: path(file.trust) }),
    ...(file.healthFilter === undefined ? {} : { healthFilter: file.healthFilter }),
    ...(s3Bundles === undefined ? {} : { s3Bundles }),
  };
  const ca = file.iot.caFile === undefined ? undefined : await readPem('the IoT CA', file.iot.caFile);
  const endpoints: IotEndpoints = {
    controlPlane: { endpoint: file.iot.controlPlaneEndpoint, region: file.region },
    ...(credentials === undefined ? {} : { credentials }),
    mqtt: {
      url: file.iot.dataEndpoint,
      ...(ca === undefined ? {} : { ca }),
      cert: await readPem('the service certificate', file.iot.certFile),
      key: await readPem('the service key', file.iot.keyFile),
      clientId: file.iot.clientId ?? 'fleet-service',
    },
  };
  return { fleet, endpoints };
}

export const SERVICE_USAGE = `Usage: fleet-service --config FILE   (env OTA_FLEET_CONFIG)
  runs the fleet service alone against the AWS IoT endpoints and bundle store FILE names (docs/fleet-service.md,
  "Running against AWS"); credentials come from the AWS SDK's standard chain. --api-port and --trust (and their
  OTA_FLEET_* variables) apply as for pnpm start; the file wins.`;

/**
 * The standalone service's settings and endpoints from `--config FILE` (or OTA_FLEET_CONFIG) over the fleet flags;
 * throws ServiceConfigError or StackConfigError saying what to fix, before anything is created.
 */
export async function loadServiceConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ readonly fleet: FleetServiceConfig; readonly endpoints: IotEndpoints }> {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  const at = args.indexOf('--config');
  const configPath = at >= 0 ? args[at + 1] : env['OTA_FLEET_CONFIG'];
  const rest = at >= 0 ? [...args.slice(0, at), ...args.slice(at + 2)] : args;
  if (configPath === undefined || configPath.startsWith('--')) throw new ServiceConfigError(SERVICE_USAGE);
  const { file, baseDir } = await readServiceConfigFile(configPath);
  return serviceConfigFrom(file, baseDir, loadStackConfig(rest, env).fleet);
}
