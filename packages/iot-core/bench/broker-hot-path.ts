/**
 * The hot path of answers meant for one connection (Jobs accepted/rejected go only to the requester): job updates
 * from ONE mutual-TLS device connection that holds 800 more subscriptions (as a device with many named shadows
 * would), as a ratio to the raw QoS 1 loopback of that very connection, in the same run against the same server
 * child (broker + Jobs service on SQLite, see lib/server-fixture.ts). A second connection, holding only the
 * answer topics, drives the same updates for comparison.
 *
 *   npx tsx packages/iot-core/bench/broker-hot-path.ts        (run by `pnpm --filter @otafleet/iot-core bench`)
 *   env: BENCH_EXTRA_SUBSCRIPTIONS (800) BENCH_WINDOW BENCH_PHASE_MS BENCH_WARMUP_MS BENCH_ROUNDS
 */
import { topicMatches } from '@otafleet/protocol';
import { FilterSet } from '../src/bus/filter-set.js';
import { createTestPki } from '../src/testing/test-pki.js';
import { connectLoadClients } from './lib/load.js';
import { benchThingName } from './lib/names.js';
import { alternate, benchSettings, cpuFields, loadAverage, ratio, settingsFields } from './lib/schedule.js';
import { startBenchServer } from './lib/server.js';

/**
 * The decision itself, in this process, on the same filters: nanoseconds to tell whether a connection holding them
 * matches an answer topic — by scanning every filter (what the bus did before the index) and by the index.
 */
function matchCost(filters: readonly string[], topic: string): { scanNs: number; indexNs: number } {
  const set = new FilterSet();
  for (const f of filters) set.add(f);
  const time = (matches: () => boolean): number => {
    let hits = 0;
    const n = 20_000;
    for (let i = 0; i < 2_000; i++) if (matches()) hits++; // warm-up
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) if (matches()) hits++;
    const t = process.cpuUsage(t0);
    if (hits !== n + 2_000) throw new Error('matchCost: the topic must match');
    return Math.round(((t.user + t.system) * 1000) / n);
  };
  return {
    scanNs: time(() => filters.some((f) => topicMatches(f, topic))),
    indexNs: time(() => set.matches(topic)),
  };
}

const loadAvgAtStart = loadAverage();
const settings = benchSettings({ clients: 1, window: 32 });
const extra = Number(process.env['BENCH_EXTRA_SUBSCRIPTIONS'] ?? 800);
const loaded = benchThingName(0);
const lean = benchThingName(1);
const pki = await createTestPki([loaded, lean]);
try {
  const server = await startBenchServer({ services: ['jobs'], things: 2, tls: pki.server.paths });
  try {
    const connect = (id: string) =>
      connectLoadClients({
        url: `mqtts://127.0.0.1:${server.tlsPort ?? 0}`,
        clientIds: [id],
        tlsFor: (clientId) => ({ ca: pki.caPem, ...pki.device(clientId) }),
        serverPid: server.pid,
      });
    const heavy = await connect(loaded);
    const light = await connect(lean);
    try {
      // The 800 first, as a device subscribing its named shadows at start-up: a scan meets them before the answers.
      await heavy.subscribeMore(
        0,
        Array.from({ length: extra }, (_v, i) => `$aws/things/${loaded}/shadow/name/s${i}/update/+`),
      );
      await heavy.prepare(['loopback', 'job-update']);
      await light.prepare(['job-update']);
      const s = await alternate(
        [
          { name: 'loopback', load: heavy, kind: 'loopback' },
          { name: 'updates', load: heavy, kind: 'job-update' },
          { name: 'leanUpdates', load: light, kind: 'job-update' },
        ],
        settings,
      );
      // Server CPU per completed request: under a busy machine a steadier figure than requests/s.
      const micros = (k: { serverCpu: number | undefined; median: number }): number | undefined =>
        k.serverCpu === undefined || k.median === 0 ? undefined : (k.serverCpu / k.median) * 1e6;
      const [heavyMicros, leanMicros] = [micros(s.updates), micros(s.leanUpdates)];
      const answer = `$aws/things/${loaded}/jobs/bench/update/accepted`;
      const held = [
        ...Array.from({ length: extra }, (_v, i) => `$aws/things/${loaded}/shadow/name/s${i}/update/+`),
        `$aws/things/${loaded}/jobs/bench/update/accepted`,
        `$aws/things/${loaded}/jobs/bench/update/rejected`,
      ];
      const cost = matchCost(held, answer);
      console.log(
        JSON.stringify({
          bench: 'broker-hot-path',
          extraSubscriptions: extra,
          updatesPerSec: s.updates.median,
          loopbackPerSec: s.loopback.median,
          leanUpdatesPerSec: s.leanUpdates.median,
          ratioToLoopback: ratio(s.updates.median, s.loopback.median),
          ratioToLeanUpdates: ratio(s.updates.median, s.leanUpdates.median),
          serverCpuPerUpdateRatioToLean:
            heavyMicros === undefined || leanMicros === undefined ? undefined : ratio(heavyMicros, leanMicros),
          matchScanNs: cost.scanNs,
          matchIndexNs: cost.indexNs,
          matchIndexRatioToScan: ratio(cost.indexNs, cost.scanNs),
          ...settingsFields(settings, loadAvgAtStart),
          loadAvgAtEnd: loadAverage(),
          rejected: s.updates.rejected + s.leanUpdates.rejected,
          lost: s.updates.lost + s.loopback.lost + s.leanUpdates.lost,
          runs: { updates: s.updates.runs, loopback: s.loopback.runs, leanUpdates: s.leanUpdates.runs },
          cpu: cpuFields(s),
        }),
      );
    } finally {
      await heavy.close();
      await light.close();
    }
  } finally {
    await server.stop();
  }
} finally {
  await pki.cleanup();
}
