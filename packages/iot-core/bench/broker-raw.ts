/**
 * The broker's own cost of security: raw QoS 1 throughput of the embedded broker over plain TCP (no auth)
 * against mutual TLS with per-thing authorization, both listeners of ONE server child process, measured
 * alternating in the same run (see lib/schedule.ts). Kinds: `loopback` (publish to a topic the client
 * subscribes to, done when delivered back) and `puback` (one-way, done at PUBACK). Devices use only their
 * own `dt/<thingName>/...` topics, which the thing policy grants.
 *
 *   pnpm --filter @otafleet/iot-core bench      (or: npx tsx packages/iot-core/bench/broker-raw.ts)
 *   env: BENCH_CLIENTS BENCH_WINDOW BENCH_PHASE_MS BENCH_WARMUP_MS BENCH_ROUNDS BENCH_SERVER_NODE_ARGS
 */
import { createTestPki } from '../src/testing/test-pki.js';
import { connectLoadClients, type LoadClients } from './lib/load.js';
import { benchThingName } from './lib/names.js';
import { alternate, benchSettings, cpuFields, loadAverage, ratio, settingsFields } from './lib/schedule.js';
import { startBenchServer } from './lib/server.js';

const loadAvgAtStart = loadAverage();
const settings = benchSettings();
const things = Array.from({ length: settings.clients }, (_v, i) => benchThingName(i));
const pki = await createTestPki(things);
try {
  const server = await startBenchServer({ services: [], things: settings.clients, tls: pki.server.paths });
  const loads: LoadClients[] = [];
  try {
    const tcp = await connectLoadClients({
      url: `mqtt://127.0.0.1:${server.tcpPort}`,
      clientIds: things.map((t) => `tcp-${t}`),
      serverPid: server.pid,
    });
    loads.push(tcp);
    const tls = await connectLoadClients({
      url: `mqtts://127.0.0.1:${server.tlsPort ?? 0}`,
      clientIds: things,
      tlsFor: (id) => ({ ca: pki.caPem, ...pki.device(id) }),
      serverPid: server.pid,
    });
    loads.push(tls);
    await Promise.all(loads.map((l) => l.prepare(['loopback'])));
    const s = await alternate(
      [
        { name: 'tcpLoopback', load: tcp, kind: 'loopback' },
        { name: 'tlsLoopback', load: tls, kind: 'loopback' },
        { name: 'tcpPuback', load: tcp, kind: 'puback' },
        { name: 'tlsPuback', load: tls, kind: 'puback' },
      ],
      settings,
    );
    console.log(
      JSON.stringify({
        bench: 'broker-raw',
        // Here the "updates" are mutual-TLS + authorization loopbacks, the baseline plain-TCP ones.
        updatesPerSec: s.tlsLoopback.median,
        loopbackPerSec: s.tcpLoopback.median,
        pubackPerSec: s.tcpPuback.median,
        ratioToLoopback: ratio(s.tlsLoopback.median, s.tcpLoopback.median),
        ratioToPuback: ratio(s.tlsLoopback.median, s.tcpPuback.median),
        mtlsAuthzLoopbackPerSec: s.tlsLoopback.median,
        mtlsAuthzPubackPerSec: s.tlsPuback.median,
        tlsToTcpPubackRatio: ratio(s.tlsPuback.median, s.tcpPuback.median),
        ...settingsFields(settings, loadAvgAtStart),
        loadAvgAtEnd: loadAverage(),
        lost: s.tcpLoopback.lost + s.tlsLoopback.lost + s.tcpPuback.lost + s.tlsPuback.lost,
        runs: {
          tcpLoopback: s.tcpLoopback.runs,
          tlsLoopback: s.tlsLoopback.runs,
          tcpPuback: s.tcpPuback.runs,
          tlsPuback: s.tlsPuback.runs,
        },
        cpu: cpuFields(s),
      }),
    );
  } finally {
    await Promise.all(loads.map((l) => l.close()));
    await server.stop();
  }
} finally {
  await pki.cleanup();
}
