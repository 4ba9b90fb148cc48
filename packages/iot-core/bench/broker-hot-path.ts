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
import { createTestPki } from '../test/helpers/broker-pki.js';
import { connectLoadClients } from './lib/load.js';
import { benchThingName } from './lib/names.js';
import { alternate, benchSettings, cpuFields, loadAverage, ratio, settingsFields } from './lib/schedule.js';
import { startBenchServer } from './lib/server.js';

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
      await heavy.prepare(['loopback', 'job-update']);
      await light.prepare(['job-update']);
      await heavy.subscribeMore(
        0,
        Array.from({ length: extra }, (_v, i) => `$aws/things/${loaded}/shadow/name/s${i}/update/+`),
      );
      const s = await alternate(
        [
          { name: 'loopback', load: heavy, kind: 'loopback' },
          { name: 'updates', load: heavy, kind: 'job-update' },
          { name: 'leanUpdates', load: light, kind: 'job-update' },
        ],
        settings,
      );
      console.log(
        JSON.stringify({
          bench: 'broker-hot-path',
          extraSubscriptions: extra,
          updatesPerSec: s.updates.median,
          loopbackPerSec: s.loopback.median,
          leanUpdatesPerSec: s.leanUpdates.median,
          ratioToLoopback: ratio(s.updates.median, s.loopback.median),
          ratioToLeanUpdates: ratio(s.updates.median, s.leanUpdates.median),
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
