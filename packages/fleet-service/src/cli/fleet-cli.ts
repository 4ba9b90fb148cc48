import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parseArgs } from 'node:util';
import { DataDirLockedError } from '@otafleet/runtime';
import { BackupError, backupTarget, restoreBackup } from '../backup/fleet-backup.js';
import { createProgressRenderer, WATCH_ENDS_ON, type RolloutProgress } from './watch.js';
import { OPERATOR_ACTIONS } from '../rollout/states.js';
import { LOCAL_STACK_TOKEN_FILE } from '../app/stack-config.js';
import type { WaveSpec } from '../rollout/wave-plan.js';
import { DEVICE_CLI_HELP, DEVICE_OPTIONS, EXIT_PARTIAL, runDeviceCommand } from './device-commands.js';

/** Exit codes: what happened, for scripts (also in FLEET_CLI_HELP and docs/fleet-service.md). */
export const EXIT = {
  ok: 0,
  /** The service refused the request as invalid (400, 413, 415, 422) or failed (5xx). */
  refused: 1,
  usage: 2,
  unreachable: 3,
  /** No valid token (401) or a role too small (403). */
  denied: 4,
  notFound: 5,
  /** The request conflicts with the current state (409: an illegal transition, an id taken). */
  conflict: 6,
  /** Over the API's rate limit (429); retry after the time printed. */
  rateLimited: 7,
  /** `rollouts watch`: the rollout stopped without completing (paused, aborted, canceled, rolled back). */
  rolloutStopped: 8,
  /** `restore`: the data directory belongs to a running service. */
  dataDirInUse: 9,
  /** A bulk enrolment in which some devices failed (the table says which and why). */
  partial: EXIT_PARTIAL,
} as const;

/** The exit code of a refused call, by HTTP status. */
export function exitOfStatus(status: number): number {
  if (status === 401 || status === 403) return EXIT.denied;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status === 429) return EXIT.rateLimited;
  return EXIT.refused;
}

export const FLEET_CLI_HELP = `Usage: pnpm fleet -- [--api URL] [--token T] [--json] COMMAND
  bundles upload FILE                          upload a signed bundle (verified by the service)
  bundles list
  rollouts create --bundle SHA256 --group G [--waves 5,10%,50%,100%] [--on-breach pause|abort|rollback]
                  [--soak SECONDS] [--timeout SECONDS] [--name NAME] [--id ID]
                  [--window MINUTES:CRON ...] [--time-zone TZ] [--max-per-minute N] [--start-at ISO-TIME]
  rollouts list [--status S] | show ID | audit ID
  rollouts pause|resume|cancel|abort|rollback|promote ID [--reason TEXT]
  rollouts watch ID [--interval MS]            live progress per wave until the rollout completes or stops
  devices health THING
${DEVICE_CLI_HELP}
  dead-letters
  backup [--out FILE|DIR]                      take a backup through the API (admin) and download it
  restore FILE [--fleet-data-dir DIR]          restore a backup into a STOPPED service's data directory
Options: --api (env OTA_FLEET_API, default http://127.0.0.1:8080), --token (env OTA_FLEET_TOKEN, or the
  operator-token file the local stack wrote: --token-file, default .data/iot-core/fleet-service/operator-token);
  --json prints the service's JSON (also for refusals: {status, code, message}) instead of text.
Exit codes: 0 done, 1 refused as invalid (the code and message are printed), 2 usage, 3 service unreachable,
  4 not authenticated or not allowed, 5 not found, 6 conflict with the current state, 7 over the rate limit,
  8 watched rollout stopped without completing, 9 restore onto a running service's data directory,
  10 partly done (a bulk enrolment in which some devices failed; the table says which and why).`;

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly readToken: (path: string) => Promise<string | undefined>;
  /** Whether stdout is a terminal (`watch` redraws in place there). */
  readonly isTTY?: boolean;
  /** How `watch` waits between polls (tests pass a faster one). */
  readonly sleep?: (ms: number) => Promise<void>;
}

class UsageError extends Error {}

/** `5,10%,50%,100%` → cumulative waves (counts first, then percents; the service checks the rest). */
export function parseWaves(text: string): WaveSpec[] {
  return text.split(',').map((part) => {
    const p = part.trim();
    if (/^\d+(\.\d+)?%$/.test(p)) return { percent: Number(p.slice(0, -1)) };
    if (/^\d+$/.test(p)) return { count: Number(p) };
    throw new UsageError(`--waves: "${p}" is neither a count (5) nor a percent (10%)`);
  });
}

const OPTIONS = {
  api: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
  bundle: { type: 'string' },
  group: { type: 'string' },
  waves: { type: 'string' },
  'on-breach': { type: 'string' },
  soak: { type: 'string' },
  timeout: { type: 'string' },
  name: { type: 'string' },
  id: { type: 'string' },
  status: { type: 'string' },
  reason: { type: 'string' },
  ...DEVICE_OPTIONS,
  interval: { type: 'string' },
  out: { type: 'string' },
  'fleet-data-dir': { type: 'string' },
  window: { type: 'string', multiple: true },
  'time-zone': { type: 'string' },
  'max-per-minute': { type: 'string' },
  'start-at': { type: 'string' },
} as const;

/** `--window "60:0 2 * * 1-5"`: a maintenance window of 60 minutes starting at each match of the node-cron expression. */
export function parseWindow(text: string): { cron: string; durationMinutes: number } {
  const m = /^(\d+):(.+)$/.exec(text.trim());
  if (m === null) throw new UsageError(`--window: "${text}" is not MINUTES:CRON (e.g. "60:0 2 * * 1-5")`);
  return { durationMinutes: Number(m[1]), cron: (m[2] ?? '').trim() };
}

const integer = (flag: string, text: string | undefined, fallback: number, unit = 'seconds'): number => {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${flag} must be a whole number of ${unit}, got "${text}"`);
  return Number(text);
};

type Row = Record<string, unknown>;

/** A JSON value as one table cell or phrase. */
const text = (v: unknown): string =>
  v === undefined || v === null
    ? ''
    : typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'boolean'
        ? `${v}`
        : JSON.stringify(v);

function table(rows: readonly Row[], columns: readonly string[]): string {
  const cell = text;
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

/** Runs one command against the operator API; returns the exit code. */
export async function runFleetCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    io.err(`${e instanceof Error ? e.message : String(e)}\n${FLEET_CLI_HELP}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals.length === 0) {
    (values.help === true ? io.out : io.err)(`${FLEET_CLI_HELP}\n`);
    return values.help === true ? EXIT.ok : EXIT.usage;
  }
  const api = (values.api ?? io.env['OTA_FLEET_API'] ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  const tokenFile = values['token-file'] ?? LOCAL_STACK_TOKEN_FILE;
  const token = values.token ?? io.env['OTA_FLEET_TOKEN'] ?? (await io.readToken(tokenFile));

  const request = async (method: string, path: string, body?: unknown, raw?: { stream: Readable; size: number }) => {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    let payload: RequestInit['body'];
    if (raw !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = String(raw.size);
      payload = Readable.toWeb(raw.stream);
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const response = await fetch(`${api}${path}`, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
      ...(raw === undefined ? {} : { duplex: 'half' }),
    });
    if (response.headers.get('content-type')?.startsWith('application/json') !== true) {
      return { status: response.status, body: { code: 'UNEXPECTED_RESPONSE', message: await response.text() } as Row };
    }
    return { status: response.status, body: (await response.json()) as Row };
  };
  const download = async (path: string, file: string): Promise<{ status: number; body: Row }> => {
    const response = await fetch(`${api}${path}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    if (!response.ok || response.body === null) {
      return { status: response.status, body: (await response.json()) as Row };
    }
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      createWriteStream(file, { mode: 0o600 }),
    );
    return { status: response.status, body: {} };
  };
  const refusal = (r: { status: number; body: Row }): number => {
    if (values.json === true) {
      io.out(`${JSON.stringify({ status: r.status, code: r.body.code, message: r.body.message }, null, 2)}\n`);
    } else {
      io.err(`${String(r.body.code)}: ${String(r.body.message)}\n`);
    }
    return exitOfStatus(r.status);
  };

  const [group, command, arg] = positionals;
  try {
    let result: { status: number; body: Row };
    let show: (body: Row) => string = (b) => JSON.stringify(b, null, 2);
    let okCode: number = EXIT.ok;
    const need = (what: string, v: string | undefined): string => {
      if (v === undefined) throw new UsageError(`${group ?? ''} ${command ?? ''}: missing ${what}`);
      return v;
    };
    if (group === 'bundles' && command === 'upload') {
      const file = need('FILE', arg);
      const info = await stat(file).catch(() => undefined);
      if (info === undefined) throw new UsageError(`no such file: ${file}`);
      result = await request('POST', '/v1/bundles', undefined, { stream: createReadStream(file), size: info.size });
      show = (b) =>
        `${result.status === 201 ? 'stored' : 'already stored'} ${String(b.sha256)} (${JSON.stringify((b.manifest as Row | undefined)?.name)} ${String((b.manifest as Row | undefined)?.version)})`;
    } else if (group === 'bundles' && command === 'list') {
      result = await request('GET', '/v1/bundles');
      show = (b) =>
        table(
          (b.bundles as Row[]).map((x) => ({
            sha256: x.sha256,
            name: (x.manifest as Row).name,
            version: (x.manifest as Row).version,
            size: x.size,
          })),
          ['sha256', 'name', 'version', 'size'],
        );
    } else if (group === 'rollouts' && command === 'create') {
      result = await request('POST', '/v1/rollouts', {
        ...(values.id === undefined ? {} : { id: values.id }),
        name: values.name ?? `rollout of ${need('--bundle', values.bundle).slice(0, 12)}`,
        bundleId: need('--bundle', values.bundle),
        target: { kind: 'group', groupName: need('--group', values.group) },
        waves: parseWaves(values.waves ?? '5,10%,50%,100%'),
        onBreach: values['on-breach'] ?? 'pause',
        soakSeconds: integer('soak', values.soak, 600),
        waveTimeoutSeconds: integer('timeout', values.timeout, 3600),
        ...(values.window === undefined
          ? {}
          : {
              maintenance: {
                windows: values.window.map(parseWindow),
                ...(values['time-zone'] === undefined ? {} : { timeZone: values['time-zone'] }),
              },
            }),
        ...(values['max-per-minute'] === undefined
          ? {}
          : { rate: { maximumPerMinute: integer('max-per-minute', values['max-per-minute'], 0, 'devices') } }),
        ...(values['start-at'] === undefined ? {} : { startAt: values['start-at'] }),
      });
      show = (b) => `created rollout ${String(b.id)} (${String(b.status)}), ${(b.waves as unknown[]).length} waves`;
    } else if (group === 'rollouts' && command === 'list') {
      result = await request(
        'GET',
        `/v1/rollouts${values.status === undefined ? '' : `?status=${encodeURIComponent(values.status)}`}`,
      );
      show = (b) =>
        table(
          (b.rollouts as Row[]).map((r) => ({ ...r, name: (r.definition as Row).name })),
          ['id', 'name', 'status', 'currentWave', 'statusReason'],
        );
    } else if (group === 'rollouts' && command === 'show') {
      result = await request('GET', `/v1/rollouts/${encodeURIComponent(need('ID', arg))}`);
      show = (b) =>
        `${String(b.id)}  ${String(b.status)}${b.statusReason === undefined ? '' : ` — ${text(b.statusReason)}`}\n` +
        table(
          (b.waves as Row[]).map((w) => ({ ...w, decision: (w.verdict as Row | undefined)?.decision })),
          ['index', 'name', 'status', 'jobId', 'decision'],
        );
    } else if (group === 'rollouts' && command === 'audit') {
      result = await request('GET', `/v1/rollouts/${encodeURIComponent(need('ID', arg))}/audit`);
      show = (b) =>
        table(
          (b.entries as Row[]).map((e) => ({ ...e, at: new Date(e.at as number).toISOString() })),
          ['at', 'actor', 'action', 'from', 'to', 'detail'],
        );
    } else if (group === 'rollouts' && (OPERATOR_ACTIONS as readonly string[]).includes(command ?? '')) {
      result = await request(
        'POST',
        `/v1/rollouts/${encodeURIComponent(need('ID', arg))}/${command ?? ''}`,
        values.reason === undefined ? {} : { reason: values.reason },
      );
      show = (b) => `rollout ${String(b.id)} is ${String(b.status)}`;
    } else if (group === 'rollouts' && command === 'watch') {
      const id = encodeURIComponent(need('ID', arg));
      const interval = integer('interval', values.interval, 2000, 'milliseconds');
      const sleep = io.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
      const render = createProgressRenderer({
        tty: io.isTTY === true && values.json !== true,
        write: io.out,
        now: Date.now,
      });
      for (;;) {
        const polled = await request('GET', `/v1/rollouts/${id}/progress`);
        if (polled.status >= 400) return refusal(polled);
        const progress = polled.body as unknown as RolloutProgress;
        if (values.json === true) io.out(`${JSON.stringify(progress)}\n`);
        else render(progress);
        if (WATCH_ENDS_ON.includes(progress.status)) {
          return progress.status === 'completed' ? EXIT.ok : EXIT.rolloutStopped;
        }
        await sleep(interval);
      }
    } else if (group === 'backup') {
      const taken = await request('POST', '/v1/backups');
      if (taken.status >= 400) return refusal(taken);
      const name = String(taken.body.name);
      const file = backupTarget(values.out ?? '.', Date.parse(String(taken.body.createdAt)));
      const fetched = await download(`/v1/backups/${encodeURIComponent(name)}`, file);
      if (fetched.status >= 400) return refusal(fetched);
      result = { status: 200, body: { ...taken.body, file } };
      show = (b) => `backup ${String(b.name)} (${String(b.bytes)} bytes) written to ${String(b.file)}`;
    } else if (group === 'restore') {
      const file = need('FILE', command);
      const dataDir = values['fleet-data-dir'] ?? '.data/iot-core/fleet-service';
      try {
        result = { status: 200, body: { ...restoreBackup(file, dataDir) } };
      } catch (e) {
        if (e instanceof DataDirLockedError) {
          io.err(`${e.message}\n`);
          return EXIT.dataDirInUse;
        }
        if (e instanceof BackupError) return refusal({ status: 422, body: { code: e.code, message: e.message } });
        throw e;
      }
      show = (b) =>
        `restored the backup of ${String(b.createdAt)} into ${String(b.dataDir)}: ${(b.databases as string[]).join(', ')}; ${String(b.bundleFilesAdded)} bundle files added`;
    } else if (group === 'devices' && command === 'health') {
      result = await request('GET', `/v1/devices/${encodeURIComponent(need('THING', arg))}/health`);
    } else if (group === 'dead-letters') {
      result = await request('GET', '/v1/dead-letters');
      show = (b) => table(b.deadLetters as Row[], ['id', 'receivedAt', 'topic', 'code', 'reason', 'payloadBytes']);
    } else {
      const outcome =
        group === 'devices' || group === 'groups'
          ? await runDeviceCommand(group, {
              command,
              arg,
              values,
              request,
              fail: (message) => {
                throw new UsageError(message);
              },
            })
          : undefined;
      if (outcome === undefined) throw new UsageError(`unknown command: ${positionals.join(' ')}`);
      ({ result, show } = outcome);
      okCode = outcome.code ?? EXIT.ok;
    }
    if (result.status >= 400) return refusal(result);
    io.out(`${values.json === true ? JSON.stringify(result.body, null, 2) : show(result.body)}\n`);
    return okCode;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n${FLEET_CLI_HELP}\n`);
      return EXIT.usage;
    }
    // fetch reports every network failure as a TypeError whose cause says what happened.
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    if (e instanceof TypeError && cause !== undefined) {
      const why = cause.code ?? cause.message ?? 'network error';
      io.err(`cannot reach the fleet service at ${api} (${why}); is it running? (--api / OTA_FLEET_API)\n`);
      return EXIT.unreachable;
    }
    throw e;
  }
}
