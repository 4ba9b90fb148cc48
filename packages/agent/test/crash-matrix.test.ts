/**
 * The crash matrix: every journaled step of the update flow (enumerated from the transition table) × a fault —
 * SIGKILL of the agent at that step (OTA_AGENT_CRASH_AT, then a restart without it), or the broker connection cut
 * when the flow enters that state — plus a download cut midway. After the fault the device must end on a good
 * release, the job's final status must be the true one, nothing is installed twice, and no loop is left. Cells run
 * in parallel against one local IoT core; the matrix is printed at the end.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CancelJobCommand, type JobExecution } from '@aws-sdk/client-iot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateStep, UPDATE_STATE_NAMES, UPDATE_TRANSITIONS, type UpdateStateName } from '@otafleet/agent';
import { isTerminal, startE2eCore, type E2eCore } from './e2e-core.js';
import {
  buildCustomBundle,
  buildSampleBundles,
  createE2eDevice,
  installDocument,
  type AgentProcess,
  type Samples,
} from './e2e-device.js';
import { eventually, freePort, serve } from './e2e-helpers.js';
import { startBundleServer, startTcpProxy, type BundleServer } from './e2e-net.js';

type JobKind = 'install' | 'unhealthy' | 'download-only' | 'cancel' | 'window';
type Fault =
  | { readonly kind: 'crash'; readonly step: string }
  | { readonly kind: 'broker-drop'; readonly at: UpdateStateName }
  | { readonly kind: 'download-cut' };

interface Cell {
  readonly row: string;
  readonly column: string;
  readonly job: JobKind;
  readonly fault: Fault;
}

/** The job that passes through a state. */
function jobThrough(state: UpdateStateName): JobKind {
  switch (state) {
    case 'RollingBack':
    case 'ReportingFailure':
      return 'unhealthy';
    case 'ReportingDownloaded':
      return 'download-only';
    case 'Canceling':
      return 'cancel';
    case 'WaitingForWindow':
      return 'window';
    case 'Accepted':
    case 'Downloading':
    case 'Verified':
    case 'Installing':
    case 'Arming':
    case 'Activating':
    case 'HealthChecking':
    case 'ReportingSuccess':
    case 'Committing':
    case 'Done':
      return 'install';
  }
}

const JOURNALED = UPDATE_STATE_NAMES.filter((s) => s !== 'Done' && UPDATE_TRANSITIONS.some(([from]) => from === s));
/** States where a broker cut is worth a cell: those that talk to the Jobs service or run long. */
const BROKER_STATES: readonly UpdateStateName[] = [
  'Downloading',
  'Installing',
  'Activating',
  'HealthChecking',
  'ReportingSuccess',
  'Committing',
  'RollingBack',
  'ReportingFailure',
];

const ALL_CELLS: readonly Cell[] = [
  ...JOURNALED.map((s): Cell => ({
    row: s,
    column: 'SIGKILL',
    job: jobThrough(s),
    fault: { kind: 'crash', step: stateStep(s) },
  })),
  ...BROKER_STATES.map((s): Cell => ({
    row: s,
    column: 'broker cut',
    job: jobThrough(s),
    fault: { kind: 'broker-drop', at: s },
  })),
  { row: 'Downloading', column: 'socket cut', job: 'install', fault: { kind: 'download-cut' } },
];

// Debugging aid: CRASH_MATRIX_ONLY=<row> runs that row's cells only.
const only = process.env['CRASH_MATRIX_ONLY'];
const CELLS = only === undefined ? ALL_CELLS : ALL_CELLS.filter((c) => c.row === only);

interface Outcome {
  readonly cell: Cell;
  readonly ok: boolean;
  readonly detail: string;
}

let core: E2eCore;
let samples: Samples;
let server: BundleServer;
let bigBundle: { path: string; version: string; securityVersion: number };
const agents: AgentProcess[] = [];
const outcomes: Outcome[] = [];

beforeAll(async () => {
  [core, samples, server] = await Promise.all([startE2eCore(), buildSampleBundles(), startBundleServer()]);
  // A bundle that takes a few seconds to download (throttled), for the cancel cell.
  bigBundle = {
    ...(await buildCustomBundle(samples.dir, { version: '1.1.0', securityVersion: 2, padBytes: 512 * 1024 })),
    version: '1.1.0',
    securityVersion: 2,
  };
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await server?.close();
  await core?.close();
  if (outcomes.length > 0) printMatrix(outcomes);
});

function printMatrix(results: readonly Outcome[]): void {
  const columns = [...new Set(CELLS.map((c) => c.column))];
  const rows = [...new Set(CELLS.map((c) => c.row))];
  const width = Math.max(...rows.map((r) => r.length)) + 2;
  const cellOf = (row: string, col: string): string => {
    const o = results.find((r) => r.cell.row === row && r.cell.column === col);
    if (CELLS.every((c) => c.row !== row || c.column !== col)) return '—';
    return o === undefined ? 'not run' : `${o.ok ? 'ok' : 'FAIL'} ${o.detail}`;
  };
  const lines = [`${'step'.padEnd(width)}${columns.map((c) => c.padEnd(34)).join('')}`];
  for (const row of rows)
    lines.push(`${row.padEnd(width)}${columns.map((c) => cellOf(row, c).slice(0, 33).padEnd(34)).join('')}`);
  console.log(`\nCrash matrix (steps × faults; outcome per cell)\n${lines.join('\n')}\n`);
}

/** The minute after the next one, as an install window that opens soon and stays open. */
function windowSoon(): { start: string; durationMinutes: number } {
  const t = new Date(Date.now() + 60_000);
  return {
    start: `${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}`,
    durationMinutes: 30,
  };
}

async function runCell(cell: Cell, index: number): Promise<Outcome> {
  const thing = `crash-${index}-${cell.row.toLowerCase()}`.slice(0, 60);
  const credentials = await core.addDevice(thing);
  const proxy = await startTcpProxy(core.mqttPort);
  const appPort = await freePort();
  const dev = await createE2eDevice({ thing, samples, mqttPort: proxy.port, credentials, appPort });
  const jobId = `cm-${index}`;
  const crashEnv = cell.fault.kind === 'crash' ? { OTA_AGENT_CRASH_AT: cell.fault.step } : {};
  const first = dev.start(crashEnv);
  agents.push(first);
  const all: AgentProcess[] = [first];
  try {
    await first.waitForLog((l) => l['msg'] === 'agent started');
    const name = `${jobId}.otab`;
    const sample =
      cell.job === 'unhealthy'
        ? samples.byVersion('1.2.0')
        : cell.job === 'cancel'
          ? bigBundle
          : samples.byVersion('1.1.0');
    const b = await serve(server, name, sample);
    if (cell.job === 'cancel') server.throttle(name, 64 * 1024);
    if (cell.fault.kind === 'download-cut') server.dropOnceAfter(name, Math.floor(b.size / 2));
    const install =
      cell.job === 'download-only'
        ? { mode: 'download-only' }
        : cell.job === 'window'
          ? { mode: 'window', window: windowSoon() }
          : undefined;
    await core.createJob(jobId, thing, installDocument(b, appPort, install === undefined ? {} : { install }));

    const fault = cell.fault;
    if (fault.kind === 'broker-drop') {
      void first
        .waitForLog((l) => l['msg'] === 'update transition' && l['to'] === fault.at, 120_000)
        .then(async () => {
          proxy.down();
          await new Promise((r) => setTimeout(r, 1_500));
          proxy.up();
        })
        .catch(() => undefined);
    }
    if (cell.job === 'cancel') {
      await first.waitForLog((l) => l['msg'] === 'update transition' && l['to'] === 'Downloading', 60_000);
      await core.iot.send(new CancelJobCommand({ jobId, force: true }));
    }
    if (fault.kind === 'crash') {
      const exit = await first.exited;
      if (exit.signal !== 'SIGKILL')
        return { cell, ok: false, detail: `agent exited ${exit.code ?? exit.signal} before the step` };
      const second = dev.start();
      agents.push(second);
      all.push(second);
    }
    const expected = cell.job === 'unhealthy' ? 'FAILED' : cell.job === 'cancel' ? 'CANCELED' : 'SUCCEEDED';
    const e: JobExecution = await core.waitForExecution(jobId, thing, isTerminal, 150_000);
    // The agent has finished with the job (journal cleared) before the device is judged.
    const last = all[all.length - 1]!;
    await last.waitForLog((l) => l['msg'] === 'update finished' && l['jobId'] === jobId, 60_000);
    const problems: string[] = [];
    if (e.status !== expected) problems.push(`status ${e.status} (want ${expected})`);
    const details = e.statusDetails?.detailsMap ?? {};
    if (cell.job === 'unhealthy' && details['reasonCode'] !== 'HEALTH_CHECK_FAILED')
      problems.push(`reason ${details['reasonCode']}`);
    if (cell.job === 'download-only' && details['phase'] !== 'downloaded') problems.push(`phase ${details['phase']}`);
    const installs = all.flatMap((a) => a.logs).filter((l) => l['event'] === 'install' && l['jobId'] === jobId).length;
    if (installs > 1) problems.push(`installed ${installs} times`);
    if (all.flatMap((a) => a.logs).some((l) => JSON.stringify(l).includes('STATE_LOOP'))) problems.push('state loop');
    const slots = await dev.slots();
    const wantVersion = expected === 'SUCCEEDED' && cell.job !== 'download-only' ? '1.1.0' : '1.0.0';
    if (slots.trial !== undefined || slots.booted !== slots.committed)
      problems.push(`slots unsettled ${JSON.stringify(slots.trial)}`);
    if (slots.versions[slots.committed]?.version !== wantVersion)
      problems.push(`committed ${slots.versions[slots.committed]?.version}`);
    const serves = await eventually(
      async () => ((await dev.appServes()) === `http-service ${wantVersion}` ? 'yes' : undefined),
      `app ${wantVersion}`,
      20_000,
    ).catch(() => 'no');
    if (serves !== 'yes') problems.push(`app does not serve ${wantVersion}`);
    if (cell.job === 'cancel' && existsSync(join(dev.dataDir, 'downloads', `${jobId}.otab`)))
      problems.push('partial download left');
    if (fault.kind === 'download-cut') {
      const resumed = server.requests.filter((r) => r.name === name && r.range !== undefined);
      if (resumed.length === 0) problems.push('no Range request after the cut');
    }
    return {
      cell,
      ok: problems.length === 0,
      detail: problems.length === 0 ? `${e.status}${installs === 1 ? ', 1 install' : ''}` : problems.join('; '),
    };
  } finally {
    await Promise.all(all.map((a) => a.stop()));
    await proxy.close();
    // Debugging aid: CRASH_MATRIX_LOGS=<dir> keeps every cell's agent logs.
    const logDir = process.env['CRASH_MATRIX_LOGS'];
    if (logDir !== undefined) {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(
        join(logDir, `${thing}.log`),
        all.map((a, i) => a.logs.map((l) => `${i} ${JSON.stringify(l)}`).join('\n')).join('\n'),
      );
    }
  }
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
    }),
  );
  return out;
}

describe('crash matrix', () => {
  it('enumerates every journaled state of the table', () => {
    expect(JOURNALED.length).toBe(UPDATE_STATE_NAMES.length - 1);
    expect(ALL_CELLS.filter((c) => c.column === 'SIGKILL').map((c) => c.row)).toEqual(JOURNALED);
  });

  it('every cell ends on a good release with the true final status, one install at most, no loop', async () => {
    const results = await pool(CELLS, 4, (cell, i) =>
      runCell(cell, i).catch((e: unknown): Outcome => ({
        cell,
        ok: false,
        detail: e instanceof Error ? e.message.slice(0, 200) : String(e),
      })),
    );
    outcomes.push(...results);
    const failed = results.filter((r) => !r.ok).map((r) => `${r.cell.row} × ${r.cell.column}: ${r.detail}`);
    expect(failed).toEqual([]);
  }, 900_000);
});
