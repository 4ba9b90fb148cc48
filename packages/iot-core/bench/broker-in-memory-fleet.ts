/**
 * 50,000 in-memory devices on the embedded broker: each an mqtt.js client over an in-memory stream pair, connected
 * with its thing identity (`connectStream`, the simulator's path) and subscribed to its jobs notify-next and shadow
 * delta topics. Wall time and RSS per device, against a baseline in the same run: bare aedes (no hooks, no index,
 * no presence) with the same bare mqtt.js clients over the same in-memory path. Each side runs in a fresh child
 * process (`--side bare|embedded`), so one's heap does not carry into the other; sides alternate for the rounds.
 *
 *   npx tsx packages/iot-core/bench/broker-in-memory-fleet.ts      (run by `pnpm --filter @otafleet/iot-core bench`)
 *   env: BENCH_DEVICES (50000) BENCH_FLEET_ROUNDS (1) BENCH_CONCURRENCY (500)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { createStreamPair } from '@otafleet/mqtt-client';
import { jobsNotifyNextTopic, shadowTopic } from '@otafleet/protocol';
import { startEmbeddedBroker } from '../src/index.js';
import { loadAverage, median, ratio } from './lib/schedule.js';

type Side = 'bare' | 'embedded';
interface SideResult {
  readonly side: Side;
  readonly devices: number;
  readonly seconds: number;
  /** CPU time of the process (user + system): less disturbed by other work on the machine than wall time. */
  readonly cpuSeconds: number;
  readonly rssBytesPerDevice: number;
  readonly heapBytesPerDevice: number;
}

const { values } = parseArgs({ options: { side: { type: 'string' } } });
const devices = Number(process.env['BENCH_DEVICES'] ?? 50_000);
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 500);
const thing = (i: number): string => `sim-${String(i).padStart(6, '0')}`;

const settle = (): number => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
};

async function runSide(side: Side): Promise<SideResult> {
  const logger = pino({ level: 'error' });
  let handle: (thingName: string) => ReturnType<typeof createStreamPair>[0];
  let close: () => Promise<void>;
  if (side === 'bare') {
    const aedes = await Aedes.createBroker();
    handle = () => {
      const [clientEnd, serverEnd] = createStreamPair();
      aedes.handle(serverEnd);
      return clientEnd;
    };
    close = () => new Promise<void>((resolve) => aedes.close(() => resolve()));
  } else {
    const broker = await startEmbeddedBroker({ logger, insecureTcp: true });
    handle = (thingName) => {
      const [clientEnd, serverEnd] = createStreamPair();
      broker.connectStream(serverEnd, { principal: { kind: 'thing', thingName } });
      return clientEnd;
    };
    close = () => broker.close();
  }
  const rss0 = settle();
  const heap0 = process.memoryUsage().heapUsed;
  const clients: mqtt.MqttClient[] = [];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const one = async (i: number): Promise<void> => {
    const thingName = thing(i);
    const stream = handle(thingName);
    const client = new mqtt.MqttClient(() => stream, { clientId: thingName, reconnectPeriod: 0, protocolVersion: 4 });
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const granted = await client.subscribeAsync(
      [jobsNotifyNextTopic(thingName), shadowTopic({ thingName, operation: 'update', responseType: 'delta' })],
      { qos: 1 },
    );
    if (granted.some((g) => g.qos !== 1)) throw new Error(`${thingName}: subscription refused`);
  };
  for (let start = 0; start < devices; start += concurrency)
    await Promise.all(Array.from({ length: Math.min(concurrency, devices - start) }, (_v, k) => one(start + k)));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const rss1 = settle();
  const heap1 = process.memoryUsage().heapUsed;
  const result: SideResult = {
    side,
    devices,
    seconds: Number(seconds.toFixed(2)),
    cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
    rssBytesPerDevice: Math.round((rss1 - rss0) / devices),
    heapBytesPerDevice: Math.round((heap1 - heap0) / devices),
  };
  for (const c of clients) c.end(true);
  await close();
  return result;
}

if (values.side === 'bare' || values.side === 'embedded') {
  process.stdout.write(`${JSON.stringify(await runSide(values.side))}\n`);
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const rounds = Number(process.env['BENCH_FLEET_ROUNDS'] ?? 1);
const loadAvgAtStart = loadAverage();
const results: Record<Side, SideResult[]> = { bare: [], embedded: [] };
for (let r = 0; r < rounds; r++) {
  for (const side of ['bare', 'embedded'] as const) {
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=8192', '--conditions=source', '--import', 'tsx', self, '--side', side],
      { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (child.status !== 0) throw new Error(`${side} side failed with exit code ${String(child.status)}`);
    results[side].push(JSON.parse(child.stdout.trim().split('\n').pop() ?? '') as SideResult);
  }
}
const med = (side: Side, key: 'seconds' | 'cpuSeconds' | 'rssBytesPerDevice' | 'heapBytesPerDevice'): number =>
  median(results[side].map((x) => x[key]));
console.log(
  JSON.stringify({
    bench: 'broker-in-memory-fleet',
    devices,
    subscriptionsPerDevice: 2,
    embeddedSeconds: med('embedded', 'seconds'),
    bareSeconds: med('bare', 'seconds'),
    embeddedDevicesPerSec: Math.round(devices / med('embedded', 'seconds')),
    bareDevicesPerSec: Math.round(devices / med('bare', 'seconds')),
    timeRatioToBare: ratio(med('embedded', 'seconds'), med('bare', 'seconds')),
    embeddedCpuMicrosPerDevice: Math.round((med('embedded', 'cpuSeconds') * 1e6) / devices),
    bareCpuMicrosPerDevice: Math.round((med('bare', 'cpuSeconds') * 1e6) / devices),
    cpuRatioToBare: ratio(med('embedded', 'cpuSeconds'), med('bare', 'cpuSeconds')),
    embeddedRssBytesPerDevice: med('embedded', 'rssBytesPerDevice'),
    bareRssBytesPerDevice: med('bare', 'rssBytesPerDevice'),
    rssRatioToBare: ratio(med('embedded', 'rssBytesPerDevice'), med('bare', 'rssBytesPerDevice')),
    embeddedHeapBytesPerDevice: med('embedded', 'heapBytesPerDevice'),
    bareHeapBytesPerDevice: med('bare', 'heapBytesPerDevice'),
    rounds,
    loadAvgAtStart,
    loadAvgAtEnd: loadAverage(),
    runs: results,
  }),
);
