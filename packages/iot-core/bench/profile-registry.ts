/**
 * Profiles bulk registration (not run by run-all): starts the registry server child with `--cpu-prof`, registers
 * BENCH_THINGS (10,000) things through @aws-sdk/client-iot with BENCH_IN_FLIGHT (64) calls in flight, stops it and
 * prints the server's top self-time functions and code owners. Run this script itself under `--cpu-prof` to
 * profile the SDK client side too.
 *
 *   node --conditions=source --import tsx packages/iot-core/bench/profile-registry.ts [profileDir]
 */
import { CreateThingGroupCommand } from '@aws-sdk/client-iot';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summariseCpuProfile } from './lib/cpuprofile-summary.js';
import { registerInBulk } from './lib/registry-load.js';
import { startRegistryProcess } from './lib/registry-process.js';

const THINGS = Number(process.env['BENCH_THINGS'] ?? 10_000);
const IN_FLIGHT = Number(process.env['BENCH_IN_FLIGHT'] ?? 64);
const GROUPS = Array.from({ length: 10 }, (_, i) => `bulk-${i}`);
const profileDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'registry-prof-'));
const dbDir = mkdtempSync(join(tmpdir(), 'registry-prof-db-'));

const server = await startRegistryProcess(join(dbDir, 'core.db'), 'shared-sync', [
  '--cpu-prof',
  `--cpu-prof-dir=${profileDir}`,
]);
const client = server.client(IN_FLIGHT);
let perSec = 0;
try {
  for (const thingGroupName of GROUPS) await client.send(new CreateThingGroupCommand({ thingGroupName }));
  const started = performance.now();
  await registerInBulk(client, { count: THINGS, inFlight: IN_FLIGHT, groups: GROUPS });
  perSec = (THINGS / (performance.now() - started)) * 1000;
} finally {
  client.destroy();
  await server.stop();
  rmSync(dbDir, { recursive: true, force: true });
}
// The main thread's profile is the largest; tsx's loader thread writes a small one beside it.
const file = readdirSync(profileDir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort((a, b) => statSync(join(profileDir, b)).size - statSync(join(profileDir, a)).size)[0];
if (file === undefined) throw new Error(`no .cpuprofile written in ${profileDir}`);
const summary = summariseCpuProfile(join(profileDir, file), 40);
console.log(JSON.stringify({ things: THINGS, thingsPerSec: Math.round(perSec), profile: join(profileDir, file) }));
console.log(`-- server self time by owner (${Math.round(summary.totalMs)} ms)`);
for (const o of summary.owners)
  console.log(`${String(o.percent).padStart(5)}% ${String(o.ms).padStart(6)} ms  ${o.name}`);
console.log('-- server self time by function');
for (const f of summary.functions)
  console.log(`${String(f.percent).padStart(5)}% ${String(f.ms).padStart(6)} ms  ${f.name}`);
