/**
 * Fleet indexing query speed: 50,000 generated things matched against 10 typical queries, with the compiled
 * predicate (compileFleetQuery), and — as the baseline measured in the same run — a hand-written JavaScript
 * predicate for the same question (the least any implementation must spend walking the same objects).
 * Prints one JSON line: per query, the median of BENCH_ROUNDS (7) full passes over the fleet.
 *
 *   npx tsx packages/iot-core/bench/fleet-query.ts
 */
import { cpus, loadavg } from 'node:os';
import { compileFleetQuery, parseFleetQuery, type IndexedThing } from '../src/registry/search/index.js';

const FLEET = Number(process.env.BENCH_FLEET ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = prng(7);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
const VERSIONS = ['1.0.0', '1.1.0', '1.1.1', '2.0.0'];
const GROUPS = ['canary', 'prod', 'beta', 'eu-west', 'us-east'];

const fleet: IndexedThing[] = Array.from({ length: FLEET }, (_, i) => ({
  thingName: `${pick(['pi', 'gw', 'cam'])}-${String(i).padStart(5, '0')}`,
  thingTypeName: pick(['rpi4', 'rpi5']),
  attributes: {
    hw: pick(['rpi4', 'rpi5', 'cm4']),
    site: pick(['ber', 'muc', 'ham']),
    temperature: String(Math.floor(rand() * 100)),
  },
  thingGroupNames: GROUPS.filter(() => rand() < 0.3),
  shadow: {
    reported: { firmware: { version: pick(VERSIONS) }, battery: Math.floor(rand() * 100), tags: ['a', 'b'] },
    ...(rand() < 0.5 ? { desired: { firmware: { version: pick(VERSIONS) } } } : {}),
  },
  connectivity: { connected: rand() < 0.6, timestamp: 1_700_000_000_000 + Math.floor(rand() * 1e6) },
}));

const version = (t: IndexedThing): unknown =>
  (t.shadow?.reported as { firmware?: { version?: unknown } } | undefined)?.firmware?.version;
const battery = (t: IndexedThing): unknown => (t.shadow?.reported as { battery?: unknown } | undefined)?.battery;

/** Ten typical queries, each with a hand-written predicate answering the same question. */
const QUERIES: readonly (readonly [string, (t: IndexedThing) => boolean])[] = [
  ['thingName:pi-*', (t) => t.thingName.toLowerCase().startsWith('pi-')],
  ['attributes.hw:rpi4', (t) => t.attributes.hw?.toLowerCase() === 'rpi4'],
  ['thingGroupNames:canary', (t) => t.thingGroupNames.some((g) => g.toLowerCase() === 'canary')],
  ['shadow.reported.firmware.version:1.1.0', (t) => String(version(t)).toLowerCase() === '1.1.0'],
  ['connectivity.connected:true', (t) => t.connectivity?.connected === true],
  ['attributes.temperature>60', (t) => Number(t.attributes.temperature) > 60],
  [
    'shadow.reported.battery:[20 TO 80}',
    (t) => typeof battery(t) === 'number' && (battery(t) as number) >= 20 && (battery(t) as number) < 80,
  ],
  [
    'thingName:pi-* AND attributes.hw:rpi4 AND connectivity.connected:true',
    (t) =>
      t.thingName.toLowerCase().startsWith('pi-') &&
      t.attributes.hw?.toLowerCase() === 'rpi4' &&
      t.connectivity?.connected === true,
  ],
  [
    '(thingGroupNames:canary OR thingGroupNames:beta) NOT shadow.reported.firmware.version:2.0.0',
    (t) => t.thingGroupNames.some((g) => g === 'canary' || g === 'beta') && String(version(t)) !== '2.0.0',
  ],
  ['thingName:*-0001?', (t) => /-0001.$/.test(t.thingName.toLowerCase())],
];

function time(predicate: (t: IndexedThing) => boolean): { ms: number; matched: number } {
  const runs: number[] = [];
  let matched = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    matched = 0;
    for (const thing of fleet) if (predicate(thing)) matched++;
    runs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  runs.sort((a, b) => a - b);
  return { ms: runs[Math.floor(runs.length / 2)] as number, matched };
}

const results = QUERIES.map(([text, handWritten]) => {
  const parsed = parseFleetQuery(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.error.message}`);
  const compiled = time(compileFleetQuery(parsed.value));
  const baseline = time(handWritten);
  if (compiled.matched !== baseline.matched) {
    throw new Error(`${text}: the query matched ${compiled.matched}, the hand-written predicate ${baseline.matched}`);
  }
  return {
    query: text,
    matched: compiled.matched,
    compiledMs: Number(compiled.ms.toFixed(2)),
    handWrittenMs: Number(baseline.ms.toFixed(2)),
    ratio: Number((compiled.ms / baseline.ms).toFixed(2)),
  };
});

console.log(
  JSON.stringify({
    bench: 'fleet-query',
    things: FLEET,
    rounds: ROUNDS,
    maxCompiledMsPerQuery: Math.max(...results.map((r) => r.compiledMs)),
    totalCompiledMs: Number(results.reduce((s, r) => s + r.compiledMs, 0).toFixed(2)),
    totalHandWrittenMs: Number(results.reduce((s, r) => s + r.handWrittenMs, 0).toFixed(2)),
    cpu: cpus()[0]?.model,
    loadAvg: loadavg().map((l) => Number(l.toFixed(2))),
    results,
  }),
);
