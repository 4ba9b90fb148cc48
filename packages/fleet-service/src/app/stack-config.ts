import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HEALTH_REPORT_SHARED_FILTER } from '@otafleet/protocol';
import type { RateLimitConfig } from '../api/rate-limit.js';
import { checkBackupSchedule, type BackupScheduleConfig } from '../backup/backup-schedule.js';
import type { FleetServiceConfig } from './fleet-service.js';

export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
}

const FLEET_FLAGS = {
  'fleet-data-dir': 'OTA_FLEET_DATA_DIR',
  'api-port': 'OTA_FLEET_API_PORT',
  trust: 'OTA_FLEET_TRUST',
} as const;

export const STACK_HELP = `Usage: pnpm start [-- options]   (the local stack: the local IoT core and the fleet service)
  --fleet-data-dir DIR   fleet service state             env OTA_FLEET_DATA_DIR  default <core --data-dir>/fleet-service
  --api-port N           operator API                    env OTA_FLEET_API_PORT  default 8080
  --trust FILE           bundle trust set (JSON)         env OTA_FLEET_TRUST     default none: uploads refused
  every other option is the local IoT core's (docs/local-iot-core.md), e.g. --data-dir, --mqtt-tls-port`;

/** Splits the command line: the fleet service's own flags, and the rest for the local core's loadConfig. */
export function loadStackConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { readonly fleet: FleetServiceConfig; readonly coreArgs: string[] } {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  const coreArgs: string[] = [];
  const fleetArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const name = arg.replace(/^--/, '').split('=')[0] ?? '';
    const target = name in FLEET_FLAGS ? fleetArgs : coreArgs;
    target.push(arg);
    if (
      !arg.includes('=') &&
      arg.startsWith('--') &&
      args[i + 1] !== undefined &&
      !(args[i + 1] ?? '').startsWith('--')
    ) {
      target.push(args[++i] ?? '');
    }
  }
  let values: Partial<Record<keyof typeof FLEET_FLAGS, string>>;
  try {
    const options = Object.fromEntries(Object.keys(FLEET_FLAGS).map((f) => [f, { type: 'string' as const }]));
    values = parseArgs({ args: fleetArgs, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new StackConfigError(`${e instanceof Error ? e.message : String(e)}\n${STACK_HELP}`);
  }
  const pick = (flag: keyof typeof FLEET_FLAGS): string | undefined => values[flag] ?? env[FLEET_FLAGS[flag]];
  const portText = pick('api-port') ?? '8080';
  const apiPort = Number(portText);
  if (!Number.isInteger(apiPort) || apiPort < 0 || apiPort > 65_535) {
    throw new StackConfigError(
      `--api-port (OTA_FLEET_API_PORT) must be a port number 0-65535, got ${portText}\n${STACK_HELP}`,
    );
  }
  const trust = pick('trust');
  const ops = operationsFromEnv(env);
  return {
    coreArgs,
    fleet: {
      dataDir: pick('fleet-data-dir') === undefined ? '' : resolve(pick('fleet-data-dir') ?? ''),
      host: '127.0.0.1',
      apiPort,
      trustPath: trust === undefined ? undefined : resolve(trust),
      maxBundleBytes: 8 * 1024 ** 3,
      // AWS's presigned-URL placeholder names https URLs only, and the local bundle store serves plain http on
      // loopback: the service signs the URL itself (the key is shared with the core all the same).
      bundleUrls: 'signed',
      bundleUrlKey: '', // set once the data directory is known (withFleetDataDir)
      bundleUrlTtlSeconds: 7 * 86_400,
      tickIntervalMs: 1_000,
      lateJoinerIntervalMs: 30_000,
      // A shared subscription: several instances split the reports (each handled once), and the local core, Mosquitto
      // and AWS IoT Core all deliver `$share/...`; one instance alone gets them all, as with the plain filter.
      healthFilter: env['OTA_FLEET_HEALTH_FILTER'] ?? HEALTH_REPORT_SHARED_FILTER,
      ...ops,
    },
  };
}

/**
 * The operations settings from the environment: OTA_FLEET_RATE_LIMIT (`BURST/PER_SECOND`, e.g. `100/20`, or
 * `off`), OTA_FLEET_BACKUP_CRON (node-cron, UTC; scheduled backups into `<fleet data dir>/backups`) and
 * OTA_FLEET_BACKUP_KEEP (backups kept, default 7).
 */
export function operationsFromEnv(env: NodeJS.ProcessEnv): Pick<FleetServiceConfig, 'rateLimit' | 'backup'> {
  const out: { rateLimit?: RateLimitConfig | false; backup?: BackupScheduleConfig } = {};
  const rate = env['OTA_FLEET_RATE_LIMIT'];
  if (rate !== undefined) {
    const m = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(rate);
    if (rate === 'off') out.rateLimit = false;
    else if (m !== null && Number(m[1]) >= 1 && Number(m[2]) > 0)
      out.rateLimit = { burst: Number(m[1]), perSecond: Number(m[2]) };
    else
      throw new StackConfigError(`OTA_FLEET_RATE_LIMIT must be BURST/PER_SECOND (e.g. 100/20) or off, got "${rate}"`);
  }
  const cron = env['OTA_FLEET_BACKUP_CRON'];
  if (cron !== undefined) {
    const keepText = env['OTA_FLEET_BACKUP_KEEP'] ?? '7';
    const backup = { cron, keep: /^\d+$/.test(keepText) ? Number(keepText) : NaN };
    try {
      checkBackupSchedule(backup);
    } catch (e) {
      throw new StackConfigError(
        `OTA_FLEET_BACKUP_CRON / OTA_FLEET_BACKUP_KEEP: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    out.backup = backup;
  }
  return out;
}

/**
 * Where `pnpm start` with its defaults keeps the operator token, relative to where it was started (the core's
 * `.data/iot-core`, the fleet service's `fleet-service` under it): the CLIs' `--token-file` default.
 */
export const LOCAL_STACK_TOKEN_FILE = '.data/iot-core/fleet-service/operator-token';

/** The fleet service's state lives under the stack's data directory unless it is given its own. */
export function withFleetDataDir<T extends { readonly fleet: FleetServiceConfig }>(stack: T, coreDataDir: string): T {
  return stack.fleet.dataDir === ''
    ? { ...stack, fleet: { ...stack.fleet, dataDir: join(coreDataDir, 'fleet-service') } }
    : stack;
}
