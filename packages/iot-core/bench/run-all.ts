import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs the local core's benchmarks one after another, each in its own process (which starts its own server
 * child), so one's sockets and heap do not disturb the next. Each prints one JSON line; the method they share
 * is in lib/schedule.ts and BENCHMARKS.part.md.
 */
const benches = [
  'broker-raw.ts',
  'shadow-throughput.ts',
  'jobs-throughput.ts',
  'jobs-document-reads.ts',
  'mosquitto-nagle.ts',
  'fleet-query.ts',
  'registry-bulk.ts',
  'broker-hot-path.ts',
  'broker-in-memory-fleet.ts',
];
/** Minutes on a loaded machine: 50,000 things over HTTP (and its baseline), 50,000 in-memory devices twice. */
const LONG = new Set(['registry-bulk.ts', 'broker-in-memory-fleet.ts']);
const timeoutMs = (bench: string): number => (LONG.has(bench) ? 900_000 : 120_000);
let failed = 0;
for (const bench of benches) {
  const path = fileURLToPath(new URL(bench, import.meta.url));
  console.log(`# ${bench}`);
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', path], {
    stdio: 'inherit',
    timeout: timeoutMs(bench),
  });
  if (r.status !== 0) {
    failed++;
    console.log(`# ${bench} failed with exit code ${String(r.status)}${r.signal === null ? '' : ` (${r.signal})`}`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
