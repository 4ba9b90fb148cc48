/**
 * Profiles the benchmark server child under one request kind only (not run by run-all): starts it with
 * `--cpu-prof`, drives BENCH_CLIENTS x BENCH_WINDOW requests for BENCH_PHASE_MS (default 8 s), stops it,
 * and prints the top self-time functions and code owners of the server process.
 *
 *   npx tsx packages/iot-core/bench/profile-server.ts shadow-update|job-update|loopback|echo [profileDir]
 */
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summariseCpuProfile } from './lib/cpuprofile-summary.js';
import { connectLoadClients, type RequestKind } from './lib/load.js';
import { benchThingName } from './lib/names.js';
import { benchSettings } from './lib/schedule.js';
import { startBenchServer, type BenchService } from './lib/server.js';

const kinds: readonly RequestKind[] = ['puback', 'loopback', 'echo', 'shadow-update', 'job-update'];
const kind = kinds.find((k) => k === process.argv[2]);
if (kind === undefined) throw new Error(`usage: profile-server.ts <${kinds.join('|')}> [profileDir]`);
const dir = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'iot-core-prof-'));
const settings = benchSettings({ phaseMs: 8000, rounds: 1 });
const services: BenchService[] = kind === 'shadow-update' ? ['shadow'] : kind === 'job-update' ? ['jobs'] : ['echo'];
const server = await startBenchServer({
  services,
  things: settings.clients,
  nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
});
let perSec = 0;
try {
  const clientIds = Array.from({ length: settings.clients }, (_v, i) => benchThingName(i));
  const load = await connectLoadClients({ url: `mqtt://127.0.0.1:${server.tcpPort}`, clientIds });
  try {
    await load.prepare([kind]);
    perSec = (await load.run(kind, settings)).perSec;
  } finally {
    await load.close();
  }
} finally {
  await server.stop();
}
// The main thread's profile is the largest; tsx's loader thread writes a small one beside it.
const file = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
if (file === undefined) throw new Error(`no .cpuprofile written in ${dir}`);
const summary = summariseCpuProfile(join(dir, file));
console.log(JSON.stringify({ kind, perSec: Math.round(perSec), profile: join(dir, file), totalMs: summary.totalMs }));
console.log('-- self time by owner');
for (const o of summary.owners)
  console.log(`${String(o.percent).padStart(5)}% ${String(o.ms).padStart(6)} ms  ${o.name}`);
console.log('-- self time by function');
for (const f of summary.functions)
  console.log(`${String(f.percent).padStart(5)}% ${String(f.ms).padStart(6)} ms  ${f.name}`);
