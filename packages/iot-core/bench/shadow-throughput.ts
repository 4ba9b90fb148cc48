/**
 * End-to-end Device Shadow updates/s over real sockets, as a ratio to the raw QoS 1 request/response rate
 * (`loopback`) of the same broker in the same server process, measured in the same run (see lib/schedule.ts
 * for the method). The broker and the Shadow service (SQLite, synchronous=FULL) run in a child process;
 * this process only drives the MQTT.js clients. An update counts when its `/update/accepted` arrives.
 *
 *   pnpm --filter @otafleet/iot-core bench      (or: npx tsx packages/iot-core/bench/shadow-throughput.ts)
 *   env: BENCH_CLIENTS BENCH_WINDOW BENCH_PHASE_MS BENCH_WARMUP_MS BENCH_ROUNDS BENCH_SERVER_NODE_ARGS
 */
import { runServiceBench } from './lib/service-bench.js';

await runServiceBench({
  bench: 'shadow-throughput',
  service: 'shadow',
  kind: 'shadow-update',
  minRatioToLoopback: 0.5,
});
