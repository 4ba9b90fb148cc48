import { parseArgs } from 'node:util';
import { LOCAL_STACK_TOKEN_FILE } from '@otafleet/fleet-service';

/** Where `pnpm start` writes its operator token (as the fleet CLI's --token-file default). */
export const DEFAULT_TOKEN_FILE = LOCAL_STACK_TOKEN_FILE;

export const SIM_HELP = `Usage: pnpm sim -- run SCENARIO [options]
  SCENARIO           a scenario file (YAML) or a preset name: ${'{presets}'}
  --devices N        fleet size (groups scaled in proportion; late joiners by the same factor)
  --seed S           seed instead of the scenario's (fault placement, canary choice)
  --report FILE      write the JSON report (docs/simulator.md) to FILE
  --workers N        worker threads for the devices (default: 2 from 500 devices, else 0)
  --enrol HOW        sdk (AWS's IoT client over SigV4 HTTP) or registry (the core's registry directly; default)
  --verify HOW       per-content-hash (default: signature and digests once per bundle per thread; each device
                     checks the key at its clock and its own policy) or per-device (each verifies it in full)
  --keep-data        keep the scratch data directory (its path is printed)
  --log-level L      stack and fleet logs on stderr (default warn)
A stack already running (pnpm start, or the fleet service on AWS IoT Core) instead of the run's own:
  --fleet-api URL    its fleet service's operator API; token: env OTA_FLEET_TOKEN or --token-file FILE
                     (default ${DEFAULT_TOKEN_FILE}, where pnpm start writes it)
  --mqtt URL         where devices connect, mqtts://host:port (pnpm start's mqttTls)
  --ca FILE          the broker's CA certificate (pnpm start's ca); absent: Node's root CAs (AWS IoT Core)
  --iot URL          the IoT control plane (pnpm start's http); absent: AWS IoT's for --region; credentials from
                     the AWS SDK chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...)
  --region R         default AWS_REGION, else us-east-1
  --signing-key FILE a release key that fleet service trusts (otabundle keygen's ID.key.pem)
  --key-id ID        its id in the trust set (default: the file name before .key.pem)
  --namespace NS     prefix of the run's thing names, thing groups and rollout id (default: sim + the time)
Exit: 0 the expected outcome held, 1 it did not, 2 a bad scenario or setup.`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface RunCommand {
  readonly scenario: string;
  readonly devices: number | undefined;
  readonly seed: number | undefined;
  readonly report: string | undefined;
  readonly workers: number | undefined;
  readonly enrolment: 'sdk' | 'registry';
  readonly bundleVerification: 'per-device' | 'per-content-hash';
  readonly keepData: boolean;
  readonly logLevel: string;
  /** Set with --fleet-api: run on that stack (files named here, read by the command). */
  readonly running?: RunningStackArgs;
}

export interface RunningStackArgs {
  readonly fleetApi: string;
  readonly tokenFile: string;
  readonly mqttUrl: string;
  readonly caFile?: string;
  readonly iotEndpoint?: string;
  readonly region?: string;
  readonly signingKeyFile: string;
  readonly keyId?: string;
  readonly namespace?: string;
}

/** Only with --fleet-api. */
const RUNNING_STACK_FLAGS = [
  'token-file',
  'mqtt',
  'ca',
  'iot',
  'region',
  'signing-key',
  'key-id',
  'namespace',
] as const;

/** A thing-name prefix short enough to leave room for the scenario's names and a rollout id of at most 40. */
export const NAMESPACE = /^[a-z0-9]{1,12}$/;

function httpUrl(flag: string, text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`--${flag} must be a URL, got ${text}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(`--${flag} must be an http:// or https:// URL, got ${text}`);
  return text.replace(/\/$/, '');
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function wholeNumber(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got ${text}`);
  }
  return n;
}

/** `run SCENARIO [--devices N] [--seed S] [--report FILE] ...`; a leading `--` (from `pnpm sim --`) is skipped. */
export function parseCommand(argv: readonly string[]): RunCommand {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        devices: { type: 'string' },
        seed: { type: 'string' },
        report: { type: 'string' },
        workers: { type: 'string' },
        'keep-data': { type: 'boolean' },
        enrol: { type: 'string' },
        verify: { type: 'string' },
        'log-level': { type: 'string' },
        'fleet-api': { type: 'string' },
        ...Object.fromEntries(RUNNING_STACK_FLAGS.map((f) => [f, { type: 'string' as const }])),
      },
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const [command, scenario, ...extra] = parsed.positionals;
  if (command !== 'run') throw new UsageError(command === undefined ? 'no command' : `unknown command ${command}`);
  if (scenario === undefined) throw new UsageError('run needs a SCENARIO (a file or a preset name)');
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const v = parsed.values;
  const logLevel = v['log-level'] ?? 'warn';
  if (!LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
  const enrolment = v.enrol ?? 'registry';
  if (enrolment !== 'sdk' && enrolment !== 'registry') throw new UsageError('--enrol must be sdk or registry');
  const bundleVerification = v.verify ?? 'per-content-hash';
  if (bundleVerification !== 'per-device' && bundleVerification !== 'per-content-hash')
    throw new UsageError('--verify must be per-device or per-content-hash');
  return {
    ...runningStackArgs(v),
    scenario,
    enrolment,
    bundleVerification,
    devices: wholeNumber('devices', v.devices, 1, 1_000_000),
    seed: wholeNumber('seed', v.seed, 0, 2 ** 31 - 1),
    report: v.report,
    workers: wholeNumber('workers', v.workers, 0, 64),
    keepData: v['keep-data'] === true,
    logLevel,
  };
}

type Values = Readonly<Record<string, string | boolean | undefined>>;

function runningStackArgs(v: Values): { running?: RunningStackArgs } {
  const text = (flag: string): string | undefined => {
    const x = v[flag];
    return typeof x === 'string' ? x : undefined;
  };
  const fleetApi = text('fleet-api');
  if (fleetApi === undefined) {
    const stray = RUNNING_STACK_FLAGS.filter((f) => text(f) !== undefined);
    if (stray.length > 0)
      throw new UsageError(`${stray.map((f) => `--${f}`).join(', ')}: only with --fleet-api (a running stack)`);
    return {};
  }
  if (text('enrol') !== undefined)
    throw new UsageError('--enrol: not with --fleet-api (devices are enrolled through that fleet service)');
  const mqttUrl = text('mqtt');
  if (mqttUrl === undefined) throw new UsageError('--fleet-api needs --mqtt mqtts://host:port (where devices connect)');
  if (!mqttUrl.startsWith('mqtts://')) throw new UsageError(`--mqtt must be an mqtts:// URL, got ${mqttUrl}`);
  const signingKeyFile = text('signing-key');
  if (signingKeyFile === undefined)
    throw new UsageError('--fleet-api needs --signing-key FILE (a release key that fleet service trusts)');
  const namespace = text('namespace');
  if (namespace !== undefined && !NAMESPACE.test(namespace))
    throw new UsageError(`--namespace must be 1 to 12 of a-z and 0-9, got ${namespace}`);
  const iot = text('iot');
  const optional = {
    caFile: text('ca'),
    iotEndpoint: iot === undefined ? undefined : httpUrl('iot', iot),
    region: text('region'),
    keyId: text('key-id'),
    namespace,
  };
  return {
    running: {
      fleetApi: httpUrl('fleet-api', fleetApi),
      tokenFile: text('token-file') ?? DEFAULT_TOKEN_FILE,
      mqttUrl,
      signingKeyFile,
      ...Object.fromEntries(Object.entries(optional).filter(([, x]) => x !== undefined)),
    },
  };
}
