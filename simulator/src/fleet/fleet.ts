import { mkdir } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type {
  DeviceObservation,
  FleetTally,
  VirtualDeviceSpec,
  VirtualFleet,
  VirtualFleetOptions,
} from './contracts.js';
import { DeviceHost, type HostSettings } from './host.js';
import { emptyTally, sumTallies } from './tally.js';
import { isFrameBatch, MainStreams } from './mux.js';
import { tlsOpener } from './tls-opener.js';
import type { FromWorker, ToWorker, WorkerBroker } from './worker-protocol.js';

export class VirtualFleetError extends Error {
  override readonly name = 'VirtualFleetError';
}

/** How often progress listeners may hear of a change. */
const PROGRESS_INTERVAL_MS = 1_000;
/** The embedded broker's default health-report interval would be 5 min; a simulation wants to see them. */
const DEFAULT_HEALTH_REPORT_SECONDS = 60;

/** One place devices live: the main thread's host, or a worker. */
interface Placement {
  add(specs: readonly VirtualDeviceSpec[]): Promise<void>;
  observe(): Promise<readonly DeviceObservation[]>;
  /** Devices per phase (and offline), counted where the devices live: no observations cross threads. */
  count(): Promise<Readonly<Record<string, number>>>;
  tally(): Promise<FleetTally>;
  close(): Promise<void>;
}

function checkSpecs(specs: readonly VirtualDeviceSpec[], known: Set<string>): void {
  for (const s of specs) {
    if (known.has(s.thingName)) throw new VirtualFleetError(`device ${s.thingName} is in the fleet twice`);
    known.add(s.thingName);
  }
}

function mainThreadPlacement(o: VirtualFleetOptions, settings: HostSettings): Placement {
  const b = o.broker;
  const open =
    b.kind === 'in-memory'
      ? (thing: string) => b.connect(thing)
      : tlsOpener(b.url, b.ca, (thing) => b.credentialsOf(thing));
  const host = new DeviceHost(settings, open, o.logger);
  return {
    add: (specs) => Promise.resolve(host.add(specs)),
    observe: () => Promise.resolve(host.observe()),
    count: () => Promise.resolve(host.countPhases()),
    tally: () => Promise.resolve(host.tally()),
    close: () => host.close(),
  };
}

async function workerPlacement(o: VirtualFleetOptions, settings: HostSettings, index: number): Promise<Placement> {
  const b = o.broker;
  const broker: WorkerBroker =
    b.kind === 'in-memory'
      ? { kind: 'in-memory' }
      : { kind: 'mqtt-url', url: b.url, ...(b.ca === undefined ? {} : { ca: b.ca }) };
  const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), {
    workerData: { ...settings, broker, logLevel: o.logger.level },
    execArgv: ['--conditions=source'],
  });
  const pending = new Map<number, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>();
  let next = 1;
  let failure: Error | undefined;
  const streams =
    b.kind === 'in-memory'
      ? new MainStreams(
          (batch, transfer) => worker.postMessage(batch, transfer),
          (thing) => b.connect(thing),
        )
      : undefined;
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: unknown) => {
      if (isFrameBatch(m)) return streams?.receive(m);
      const msg = m as FromWorker;
      if (msg.kind === 'ready') return resolve();
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.kind === 'failed') p?.reject(new VirtualFleetError(`worker ${index}: ${msg.message}`));
      else p?.resolve(msg);
    });
    worker.on('error', (e) => {
      failure = e;
      o.logger.error({ err: e, worker: index }, 'fleet worker failed');
      reject(e);
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
  });
  const ask = (m: Omit<ToWorker, 'id'>): Promise<FromWorker> => {
    if (failure !== undefined) return Promise.reject(failure);
    const id = next++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...m, id });
    });
  };
  await ready;
  return {
    async add(specs) {
      const devices = specs.map((spec) => ({
        spec,
        ...(b.kind === 'mqtt-url' ? { credentials: b.credentialsOf(spec.thingName) } : {}),
      }));
      await ask({ kind: 'add', devices } as Omit<ToWorker, 'id'>);
    },
    async observe() {
      const m = await ask({ kind: 'observe' });
      return m.kind === 'observed' ? m.observations : [];
    },
    async count() {
      const m = await ask({ kind: 'count' });
      return m.kind === 'counted' ? m.counts : {};
    },
    async tally() {
      const m = await ask({ kind: 'tally' });
      return m.kind === 'tallied' ? m.tally : emptyTally();
    },
    async close() {
      if (failure === undefined) await ask({ kind: 'close' });
      streams?.closeAll();
      await worker.terminate();
    },
  };
}

/**
 * Starts the virtual fleet: devices spread round-robin over `workers` worker threads (0: all on this thread), each
 * running the real agent, connected to the broker through `options.broker`. Devices with `joinAfterMs` join later.
 */
export async function startVirtualFleet(options: VirtualFleetOptions): Promise<VirtualFleet> {
  if (!Number.isInteger(options.workers) || options.workers < 0) {
    throw new VirtualFleetError(`workers must be a whole number ≥ 0 (got ${String(options.workers)})`);
  }
  const known = new Set<string>();
  checkSpecs(options.devices, known);
  await mkdir(options.dataDir, { recursive: true });
  const settings: HostSettings = {
    dataDir: options.dataDir,
    trustSetJson: options.trustSetJson,
    downloadCache: options.downloadCache ?? 'shared-by-hash',
    bundleVerification: options.bundleVerification ?? 'per-content-hash',
    seed: options.seed,
    healthReportIntervalSeconds: options.healthReportIntervalSeconds ?? DEFAULT_HEALTH_REPORT_SECONDS,
    fleetStartedAt: Date.now(),
    protocolVersion: options.broker.kind === 'in-memory' ? 4 : 'auto',
  };
  const placements: Placement[] =
    options.workers === 0
      ? [mainThreadPlacement(options, settings)]
      : await Promise.all(Array.from({ length: options.workers }, (_v, i) => workerPlacement(options, settings, i)));
  let placed = 0;
  const order = new Map<string, number>();
  const addAll = async (specs: readonly VirtualDeviceSpec[]): Promise<void> => {
    const groups: VirtualDeviceSpec[][] = placements.map(() => []);
    for (const s of specs) {
      order.set(s.thingName, order.size);
      groups[placed++ % placements.length]!.push(s);
    }
    await Promise.all(
      placements.filter((_p, i) => groups[i]!.length > 0).map((p) => p.add(groups[placements.indexOf(p)]!)),
    );
  };
  await addAll(options.devices);

  const observe = async (): Promise<readonly DeviceObservation[]> => {
    const all = (await Promise.all(placements.map((p) => p.observe()))).flat();
    return all.sort((a, b) => order.get(a.thingName)! - order.get(b.thingName)!);
  };
  const listeners = new Set<(counts: Readonly<Record<string, number>>) => void>();
  let last = '';
  let ticking = false;
  const timer = setInterval(() => {
    if (listeners.size === 0 || ticking) return;
    ticking = true;
    Promise.all(placements.map((p) => p.count()))
      .then((parts) => {
        const counts: Record<string, number> = {};
        for (const part of parts) for (const [k, n] of Object.entries(part)) counts[k] = (counts[k] ?? 0) + n;
        const key = JSON.stringify(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
        if (key === last) return;
        last = key;
        for (const l of listeners) l(counts);
      })
      .catch((e: unknown) => options.logger.warn({ err: e }, 'progress snapshot failed'))
      .finally(() => (ticking = false));
  }, PROGRESS_INTERVAL_MS);
  timer.unref();

  let closing: Promise<void> | undefined;
  return {
    observe,
    tally: async () => sumTallies(await Promise.all(placements.map((p) => p.tally()))),
    async addDevices(specs) {
      checkSpecs(specs, known);
      await addAll(specs);
    },
    onProgress(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        listeners.clear();
        await Promise.all(placements.map((p) => p.close()));
      })();
      return closing;
    },
  };
}
