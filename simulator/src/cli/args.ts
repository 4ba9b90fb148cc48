import { parseArgs } from 'node:util';

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
