import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs the local core's benchmarks one after another, each in its own process so one's sockets and heap do
 * not disturb the next. Each prints one JSON line with its own baseline measured in the same run.
 */
const benches = ['broker-raw.ts', 'shadow-throughput.ts', 'jobs-throughput.ts'];
let failed = 0;
for (const bench of benches) {
  const path = fileURLToPath(new URL(bench, import.meta.url));
  console.log(`# ${bench}`);
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', path], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`# ${bench} failed with exit code ${String(r.status)}`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
