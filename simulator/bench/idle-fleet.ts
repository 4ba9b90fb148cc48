/**
 * Idle fleet: BENCH_DEVICES virtual devices running the real agent, connected to the local core's embedded broker
 * through in-memory identity streams, subscribed, shadow synced and each having published a health report, on
 * BENCH_WORKERS worker threads (0: the main thread). Default 2,000 on the main thread: the target is 50,000
 * (BENCHMARKS.md says why it is not reached yet). Baseline in the same run: bare mqtt.js clients that only connect
 * and subscribe (jobs notify-next + shadow delta) through the same in-memory path to the same core.
 * Each side runs in a fresh child process (`--side bare|virtual`), so one's heap does not carry into the other.
 * Reports wall time to ready, CPU (all threads) and RSS per device, and CPU per device over an idle window.
 *
 *   pnpm --filter @otafleet/simulator bench     (or: npx tsx --conditions=source simulator/bench/idle-fleet.ts)
 *   env: BENCH_DEVICES (2000) BENCH_WORKERS (0) BENCH_IDLE_MS (20000) BENCH_CONCURRENCY (500)
 *   BENCH_ROUNDS (1): bare and virtual side that many times each, alternating which goes first; the figures are the
 *   round with the median CPU ratio, every round's CPU and heap ratios listed beside them
 *   BENCH_BOOT_CPU_PROFILE=PREFIX writes PREFIX.<side>.cpuprofile of the way to ready (main thread only: use workers 0)
 *   BENCH_BOOT_ALLOCATION_PROFILE=PREFIX writes PREFIX.<side>.heapprofile: every allocation on the way to ready,
 *   sampled, collected ones included (the same: main thread only)
 *   BENCH_NODE_FLAGS replaces the children's GC flags (default --max-semi-space-size=32), both sides alike
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import mqtt from 'mqtt';
import { deriveTestPrivateKey, publicKeyPemOf } from '@otafleet/bundle';
import { startTestCore, silentLogger } from '@otafleet/iot-core/testing';
import { jobsNotifyNextTopic, shadowTopic } from '@otafleet/protocol';
import { inMemoryAttachment, startVirtualFleet, type VirtualDeviceSpec } from '../src/index.js';

type Side = 'bare' | 'virtual';
interface SideResult {
  readonly side: Side;
  readonly devices: number;
  /** Until every device was ready (bare: subscribed; virtual: online, shadow synced, a health report sent). */
  readonly seconds: number;
  /** CPU time of the whole process (all threads, user + system) until ready. */
  readonly cpuSeconds: number;
  /** CPU time over the idle window after ready. */
  readonly idleCpuSeconds: number;
  readonly idleSeconds: number;
  /** After a compacting GC. */
  readonly rssBytesPerDevice: number;
  /** After a plain full GC. */
  readonly uncompactedRssBytesPerDevice: number;
  /** JS heap used after GC, per device. */
  readonly heapBytesPerDevice: number;
  readonly peakRssBytes: number;
}

const { values } = parseArgs({ options: { side: { type: 'string' } } });
const devices = Number(process.env['BENCH_DEVICES'] ?? 2_000);
const workers = Number(process.env['BENCH_WORKERS'] ?? 0);
const idleMs = Number(process.env['BENCH_IDLE_MS'] ?? 20_000);
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 500);
const benchRounds = Number(process.env['BENCH_ROUNDS'] ?? 1);
if (!Number.isInteger(benchRounds) || benchRounds < 1)
  throw new Error(`BENCH_ROUNDS must be a whole number from 1, not ${JSON.stringify(process.env['BENCH_ROUNDS'])}`);
const thing = (i: number): string => `sim-${String(i).padStart(6, '0')}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
/** RSS after a full GC, and after a compacting one (below). */
const settle = async (): Promise<{ rss: number; compactedRss: number }> => {
  gc();
  await sleep(200);
  const rss = process.memoryUsage().rss;
  // Compacting, as V8's memory reducer does once a process is idle: what the devices retain, not the old-space
  // pages that boot's garbage left half empty (those went from 87 to 235 kB per virtual device at 2,000).
  setFlagsFromString('--compact-on-every-full-gc');
  gc();
  setFlagsFromString('--no-compact-on-every-full-gc');
  await sleep(200);
  return { rss, compactedRss: process.memoryUsage().rss };
};
const cpuSeconds = (since: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
};

/** Starts one of the inspector's profilers; the function it resolves to stops it and writes what it took to PATH. */
async function startInspectorProfile(
  path: string | undefined,
  start: (inspector: Session) => Promise<unknown>,
  stop: (inspector: Session) => Promise<{ readonly profile: unknown }>,
): Promise<() => Promise<void>> {
  if (!path) return () => Promise.resolve();
  const inspector = new Session();
  inspector.connect();
  await start(inspector);
  return async () => {
    const { profile } = await stop(inspector);
    await writeFile(path, JSON.stringify(profile));
    inspector.disconnect();
  };
}

/** Samples this thread's CPU into `path` (a .cpuprofile) until the returned stop is called; no path, no profile. */
const startCpuProfile = (path: string | undefined): Promise<() => Promise<void>> =>
  startInspectorProfile(
    path,
    async (i) => {
      await i.post('Profiler.enable');
      await i.post('Profiler.start');
    },
    (i) => i.post('Profiler.stop'),
  );

/**
 * Samples every allocation on the way to ready, also what the GC has collected since (what the scavenges cost),
 * into PATH as a .heapprofile (DevTools' Memory tab, "allocation sampling"), one sample per 16 kB on average.
 */
const startAllocationProfile = (path: string | undefined): Promise<() => Promise<void>> =>
  startInspectorProfile(
    path,
    async (i) => {
      await i.post('HeapProfiler.enable');
      await i.post('HeapProfiler.startSampling', {
        samplingInterval: 16_384,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    },
    (i) => i.post('HeapProfiler.stopSampling'),
  );

async function runSide(side: Side): Promise<SideResult> {
  const core = await startTestCore({ logger: silentLogger });
  const broker = core.core.broker;
  if (broker === undefined) throw new Error('no embedded broker');
  const attachment = inMemoryAttachment(broker);
  const connect = (thingName: string): ReturnType<typeof attachment.connect> => attachment.connect(thingName);
  const dir = await mkdtemp(join(tmpdir(), 'sim-idle-bench-'));
  let peak = 0;
  const peakTimer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 500);
  const rss0 = await settle();
  const heap0 = process.memoryUsage().heapUsed;
  process.stderr.write(`  ${side} before: ${JSON.stringify(process.memoryUsage())}\n`);
  const bootProfile = process.env['BENCH_BOOT_CPU_PROFILE'];
  const stopBootProfile = await startCpuProfile(bootProfile && `${bootProfile}.${side}.cpuprofile`);
  const allocationProfile = process.env['BENCH_BOOT_ALLOCATION_PROFILE'];
  const stopAllocationProfile = await startAllocationProfile(
    allocationProfile && `${allocationProfile}.${side}.heapprofile`,
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let close: () => Promise<void>;
  if (side === 'bare') {
    const clients: mqtt.MqttClient[] = [];
    const one = async (i: number): Promise<void> => {
      const thingName = thing(i);
      const client = new mqtt.MqttClient(() => connect(thingName), {
        clientId: thingName,
        reconnectPeriod: 0,
        protocolVersion: 4,
      });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      await client.subscribeAsync(
        [jobsNotifyNextTopic(thingName), shadowTopic({ thingName, operation: 'update', responseType: 'delta' })],
        { qos: 1 },
      );
    };
    for (let start = 0; start < devices; start += concurrency)
      await Promise.all(Array.from({ length: Math.min(concurrency, devices - start) }, (_v, k) => one(start + k)));
    close = () => {
      for (const c of clients) c.end(true);
      return Promise.resolve();
    };
  } else {
    const keyId = 'bench';
    const privateKey = deriveTestPrivateKey('ed25519', keyId);
    const specs: VirtualDeviceSpec[] = Array.from({ length: devices }, (_v, i) => ({
      thingName: thing(i),
      hardwareType: 'bench-board',
      startVersion: '1.0.0',
      faults: {},
    }));
    // Joined in batches of BENCH_CONCURRENCY, the next once all but one batch are online, as the bare side
    // connects 500 at a time: 50,000 agents joining at once time out their CONNECTs behind one another and retry.
    let added = Math.min(concurrency, devices);
    const fleet = await startVirtualFleet({
      devices: specs.slice(0, added),
      seed: 1,
      workers,
      broker: { kind: 'in-memory', connect },
      trustSetJson: JSON.stringify({
        keys: [{ id: keyId, algorithm: 'ed25519', publicKey: publicKeyPemOf(privateKey), status: 'active' }],
      }),
      dataDir: join(dir, 'fleet'),
      healthReportIntervalSeconds: 300,
      logger: silentLogger,
    });
    let lastReport = 0;
    for (;;) {
      // A tally, not observe(): observing reads every device's journal and slots, and polled every 200 ms while
      // 50,000 join that would be the bench's own cost, growing with the square of the fleet.
      const { ready, online } = await fleet.tally();
      const now = performance.now();
      if (now - lastReport > 5_000 || ready === devices) {
        lastReport = now;
        process.stderr.write(
          `  ${online} online, ${ready}/${devices} ready after ${((now - t0) / 1000).toFixed(0)} s\n`,
        );
      }
      if (ready === devices) break;
      if (added < devices && online >= added - concurrency) {
        const next = specs.slice(added, added + concurrency);
        added += next.length;
        await fleet.addDevices(next);
      }
      await sleep(added < devices ? 200 : 1_000);
    }
    close = () => fleet.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(cpu0);
  await stopBootProfile();
  await stopAllocationProfile();
  const rss1 = await settle();
  const heap1 = process.memoryUsage().heapUsed;
  process.stderr.write(`  ${side} after GC: ${JSON.stringify(process.memoryUsage())}\n`);
  const snapshotDir = process.env['BENCH_HEAP_SNAPSHOT_DIR'];
  if (snapshotDir !== undefined) writeHeapSnapshot(join(snapshotDir, `${side}-${devices}.heapsnapshot`));
  const idle0 = process.cpuUsage();
  const i0 = performance.now();
  const stopIdleProfile = await startCpuProfile(process.env['BENCH_IDLE_CPU_PROFILE']);
  // In slices, so a tail of boot work (decaying) shows apart from steady timers.
  for (let left = idleMs; left > 0; left -= 5_000) {
    const slice0 = process.cpuUsage();
    await sleep(Math.min(5_000, left));
    process.stderr.write(
      `  ${side} idle slice: ${((cpuSeconds(slice0) * 1e6) / devices / 5).toFixed(1)} µs/device/s\n`,
    );
  }
  const idleCpu = cpuSeconds(idle0);
  await stopIdleProfile();
  const idleSeconds = (performance.now() - i0) / 1000;
  clearInterval(peakTimer);
  const result: SideResult = {
    side,
    devices,
    seconds: Number(seconds.toFixed(2)),
    cpuSeconds: Number(cpu.toFixed(2)),
    idleCpuSeconds: Number(idleCpu.toFixed(2)),
    idleSeconds: Number(idleSeconds.toFixed(2)),
    rssBytesPerDevice: Math.round((rss1.compactedRss - rss0.compactedRss) / devices),
    uncompactedRssBytesPerDevice: Math.round((rss1.rss - rss0.rss) / devices),
    heapBytesPerDevice: Math.round((heap1 - heap0) / devices),
    peakRssBytes: Math.max(peak, rss1.rss),
  };
  await close();
  await core.stop();
  await rm(dir, { recursive: true, force: true });
  return result;
}

if (values.side === 'bare' || values.side === 'virtual') {
  process.stdout.write(`${JSON.stringify(await runSide(values.side))}\n`);
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const plainNames = fileURLToPath(new URL('../src/fleet/plain-names.mjs', import.meta.url));
const loadAvgAtStart = loadavg()[0];
const runChild = (side: Side): SideResult => {
  const child = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      '--max-old-space-size=20480',
      // As `pnpm sim` and bench:rollout run (a larger young generation: boot's short-lived garbage dies there);
      // BENCH_NODE_FLAGS replaces them, for both sides alike.
      ...(process.env['BENCH_NODE_FLAGS'] ?? '--max-semi-space-size=32').split(' ').filter(Boolean),
      '--conditions=source',
      '--import',
      'tsx',
      // The sources as tsc emits them (tsx's keepNames costs each closure instance a property array).
      '--import',
      plainNames,
      self,
      '--side',
      side,
    ],
    { encoding: 'utf8', timeout: 3_600_000, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
  );
  if (child.status !== 0) throw new Error(`${side} side failed with exit code ${String(child.status)}`);
  return JSON.parse(child.stdout.trim().split('\n').pop() ?? '') as SideResult;
};
const ratio = (a: number, b: number): number => Number((a / Math.max(b, 1e-9)).toFixed(2));
// Rounds alternate which side goes first, so a machine that slows down or speeds up during the run weighs on both
// sides alike; the figures reported are the round with the median CPU ratio.
const rounds: Record<Side, SideResult>[] = [];
for (let r = 0; r < benchRounds; r++) {
  const order: readonly Side[] = r % 2 === 0 ? ['bare', 'virtual'] : ['virtual', 'bare'];
  const round: Partial<Record<Side, SideResult>> = {};
  for (const side of order) round[side] = runChild(side);
  rounds.push(round as Record<Side, SideResult>);
}
const cpuRatioOf = (r: Record<Side, SideResult>): number => ratio(r.virtual.cpuSeconds, r.bare.cpuSeconds);
const heapRatioOf = (r: Record<Side, SideResult>): number =>
  ratio(r.virtual.heapBytesPerDevice, r.bare.heapBytesPerDevice);
const byCpuRatio = [...rounds].sort((a, b) => cpuRatioOf(a) - cpuRatioOf(b));
const results = byCpuRatio[Math.floor(byCpuRatio.length / 2)]!; // of an even count, the higher
const bare = results.bare;
const virt = results.virtual;
const micros = (s: number): number => Math.round((s * 1e6) / devices);
console.log(
  JSON.stringify({
    bench: 'sim-idle-fleet',
    devices,
    workers,
    virtualSeconds: virt.seconds,
    bareSeconds: bare.seconds,
    timeRatioToBare: ratio(virt.seconds, bare.seconds),
    virtualCpuMicrosPerDevice: micros(virt.cpuSeconds),
    bareCpuMicrosPerDevice: micros(bare.cpuSeconds),
    cpuRatioToBare: cpuRatioOf(results),
    cpuRatiosToBareByRound: rounds.map(cpuRatioOf),
    virtualRssBytesPerDevice: virt.rssBytesPerDevice,
    bareRssBytesPerDevice: bare.rssBytesPerDevice,
    rssRatioToBare: ratio(virt.rssBytesPerDevice, bare.rssBytesPerDevice),
    virtualUncompactedRssBytesPerDevice: virt.uncompactedRssBytesPerDevice,
    bareUncompactedRssBytesPerDevice: bare.uncompactedRssBytesPerDevice,
    virtualHeapBytesPerDevice: virt.heapBytesPerDevice,
    bareHeapBytesPerDevice: bare.heapBytesPerDevice,
    heapRatioToBare: heapRatioOf(results),
    heapRatiosToBareByRound: rounds.map(heapRatioOf),
    virtualIdleCpuMicrosPerDevicePerSecond: Number(
      ((virt.idleCpuSeconds * 1e6) / devices / virt.idleSeconds).toFixed(2),
    ),
    bareIdleCpuMicrosPerDevicePerSecond: Number(((bare.idleCpuSeconds * 1e6) / devices / bare.idleSeconds).toFixed(2)),
    virtualPeakRssMB: Math.round(virt.peakRssBytes / 2 ** 20),
    barePeakRssMB: Math.round(bare.peakRssBytes / 2 ** 20),
    loadAvgAtStart,
    loadAvgAtEnd: loadavg()[0],
    runs: results,
  }),
);
