/**
 * Bulk registration over the control plane: BENCH_THINGS (50,000) things each created (CreateThing) and put
 * into one of 10 thing groups (AddThingToThingGroup) through @aws-sdk/client-iot with BENCH_IN_FLIGHT (64)
 * calls in flight, spread over BENCH_CLIENT_PROCESSES (2) client processes, against the registry server in its
 * own process. Every answer means the change is on disk.
 * Baseline, measured in the same run: the same load against a registry that fsyncs once per call
 * (`sync-per-call`, synchronous=FULL), over BENCH_BASELINE_THINGS (5,000) things, as fsync-bound rates do not
 * depend on the total. Also the registry alone in this process (no HTTP, SigV4, SDK), to tell the layers apart.
 * Prints one JSON line; things/s counts a thing once both its calls are answered. CPU per thing (server and SDK
 * clients, from /proc and the clients' own accounting) gives what a quiet machine with this many cores could do.
 *
 *   pnpm --filter @otafleet/iot-core bench      (or: npx tsx packages/iot-core/bench/registry-bulk.ts)
 */
import { CreateThingGroupCommand, paginateListThings } from '@aws-sdk/client-iot';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createThingRegistry, openDatabase } from '../src/index.js';
import type { RegistryDurability } from '../src/registry/registry-commit.js';
import { runClientProcesses } from './lib/registry-clients.js';
import { BatchCounter } from './lib/registry-load.js';
import { startRegistryProcess } from './lib/registry-process.js';

const THINGS = Number(process.env['BENCH_THINGS'] ?? 50_000);
const BASELINE_THINGS = Number(process.env['BENCH_BASELINE_THINGS'] ?? 5_000);
const IN_FLIGHT = Number(process.env['BENCH_IN_FLIGHT'] ?? 64);
const CLIENT_PROCESSES = Number(process.env['BENCH_CLIENT_PROCESSES'] ?? 2);
const TARGET_PER_SEC = 5_000;
const GROUPS = Array.from({ length: 10 }, (_, i) => `bulk-${i}`);
const CORES = cpus().length;

/** CPU time (user + system) of another process so far, in ms, from /proc (Linux). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
}

const load1 = (): number => Math.round((loadavg()[0] ?? 0) * 10) / 10;

interface Measured {
  readonly perSec: number;
  readonly ms: number;
  /** CPU per thing (two HTTP calls), server and SDK clients, in µs: what bounds the rate once fsyncs are shared. */
  readonly serverCpuMicrosPerThing: number;
  readonly clientCpuMicrosPerThing: number;
  /** Registry writes per committed batch (transaction + WAL sync). */
  readonly writesPerBatch: number | undefined;
}

async function measure(durability: RegistryDurability, count: number): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'registry-bench-'));
  const server = await startRegistryProcess(join(dir, 'core.db'), durability);
  const client = server.client(4);
  let stopped = false;
  try {
    for (const thingGroupName of GROUPS) await client.send(new CreateThingGroupCommand({ thingGroupName }));
    const pid = server.child.pid ?? 0;
    const serverCpu = processCpuMs(pid);
    const run = await runClientProcesses({
      endpoint: server.endpoint,
      count,
      inFlight: IN_FLIGHT,
      groups: GROUPS,
      processes: CLIENT_PROCESSES,
    });
    const serverMs = processCpuMs(pid) - serverCpu;
    let listed = 0;
    for await (const page of paginateListThings({ client, pageSize: 250 }, {})) listed += page.things?.length ?? 0;
    if (listed !== count) throw new Error(`registry-bulk: ${listed} of ${count} things listed after the run`);
    client.destroy();
    stopped = true;
    const batches = await server.stop();
    return {
      perSec: (count / run.ms) * 1000,
      ms: run.ms,
      serverCpuMicrosPerThing: Math.round((serverMs * 1000) / count),
      clientCpuMicrosPerThing: Math.round(run.cpuMicros / count),
      writesPerBatch:
        batches === undefined || batches.batches === 0
          ? undefined
          : Math.round((batches.writes / batches.batches) * 10) / 10,
    };
  } finally {
    if (!stopped) {
      client.destroy();
      await server.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const perCall = (perThing: number): number => Math.round(perThing / 2);

/**
 * The same registrations straight into the registry in this process (no HTTP, SigV4 or SDK): what the registry and
 * SQLite themselves cost, to tell the layers apart.
 */
async function measureInProcess(
  count: number,
): Promise<{ perSec: number; cpuMicrosPerCall: number; writesPerBatch: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'registry-bench-direct-'));
  const db = openDatabase(join(dir, 'core.db'));
  const batches = new BatchCounter();
  const registry = createThingRegistry(
    db,
    { region: 'us-east-1', accountId: '123456789012' },
    { onWriteBatch: batches.observe },
  );
  try {
    for (const thingGroupName of GROUPS) await registry.createThingGroup({ thingGroupName });
    batches.reset();
    const cpu = process.cpuUsage();
    const started = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < count; i = next++) {
        const thingName = `reg-${i}`;
        await registry.createThing({ thingName, attributePayload: { attributes: { n: String(i) } } });
        await registry.addThingToThingGroup({ thingName, thingGroupName: GROUPS[i % GROUPS.length] ?? '' });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return {
      perSec: (count / ms) * 1000,
      cpuMicrosPerCall: Math.round((used.user + used.system) / (count * 2)),
      writesPerBatch: batches.mean(),
    };
  } finally {
    await registry.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const loadAtStart = load1();
const inProcess = await measureInProcess(Math.min(THINGS, 20_000));
const baseline = await measure('sync-per-call', BASELINE_THINGS);
const grouped = await measure('shared-sync', THINGS);
const cpuPerThing = grouped.serverCpuMicrosPerThing + grouped.clientCpuMicrosPerThing;
// Every core busy with this work alone and nothing waiting: what the CPU per thing allows on a quiet machine.
const quietProjection = Math.round((CORES * 1_000_000) / cpuPerThing);
const result = {
  bench: 'registry-bulk',
  things: THINGS,
  inFlight: IN_FLIGHT,
  clientProcesses: CLIENT_PROCESSES,
  sdkCacheMiddleware: process.env['BENCH_SDK_CACHE_MIDDLEWARE'] === '1',
  thingsPerSec: Math.round(grouped.perSec),
  seconds: Math.round(grouped.ms) / 1000,
  cpuMicrosPerThing: {
    server: grouped.serverCpuMicrosPerThing,
    sdkClients: grouped.clientCpuMicrosPerThing,
    total: cpuPerThing,
  },
  cpuMicrosPerCall: {
    server: perCall(grouped.serverCpuMicrosPerThing),
    sdkClients: perCall(grouped.clientCpuMicrosPerThing),
  },
  writesPerBatch: grouped.writesPerBatch,
  baseline: {
    durability: 'sync-per-call',
    things: BASELINE_THINGS,
    thingsPerSec: Math.round(baseline.perSec),
    cpuMicrosPerThing: { server: baseline.serverCpuMicrosPerThing, sdkClients: baseline.clientCpuMicrosPerThing },
  },
  ratioToBaseline: Math.round((grouped.perSec / baseline.perSec) * 100) / 100,
  target: {
    thingsPerSec: TARGET_PER_SEC,
    met: grouped.perSec >= TARGET_PER_SEC,
    quietMachineProjection: { cores: CORES, thingsPerSec: quietProjection, met: quietProjection >= TARGET_PER_SEC },
    // The SDK clients alone, with every core to themselves, could issue no more than this.
    sdkClientCeilingThingsPerSec: Math.round((CORES * 1_000_000) / grouped.clientCpuMicrosPerThing),
  },
  registryInProcess: {
    things: Math.min(THINGS, 20_000),
    thingsPerSec: Math.round(inProcess.perSec),
    cpuMicrosPerCall: inProcess.cpuMicrosPerCall,
    writesPerBatch: inProcess.writesPerBatch,
  },
  cpus: CORES,
  loadavg1: { start: loadAtStart, end: load1() },
};
console.log(JSON.stringify(result));
