/**
 * End-to-end durable job-execution updates/s over real sockets, as a ratio to the raw QoS 1
 * request/response rate (`loopback`) of the same broker in the same server process, measured in the same
 * run (see lib/schedule.ts for the method). The broker and the Jobs service (SQLite, synchronous=FULL) run
 * in a child process; each client is a thing whose execution of job `bench` it moves IN_PROGRESS again and
 * again (UpdateJobExecution with statusDetails); an update counts when its `/update/accepted` arrives.
 *
 *   pnpm --filter @otafleet/iot-core bench      (or: npx tsx packages/iot-core/bench/jobs-throughput.ts)
 *   env: BENCH_CLIENTS BENCH_WINDOW BENCH_PHASE_MS BENCH_WARMUP_MS BENCH_ROUNDS BENCH_SERVER_NODE_ARGS
 */
import { runServiceBench } from './lib/service-bench.js';

await runServiceBench({
  bench: 'jobs-throughput',
  service: 'jobs',
  kind: 'job-update',
  minRatioToLoopback: 0.5,
  minUpdatesPerSec: 10_000,
});
