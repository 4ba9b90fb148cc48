/**
 * One load client of the bulk-registration benchmark, in its own process so that the SDK's CPU is spread over the
 * machine's cores: registers things `reg-first …` through @aws-sdk/client-iot (lib/registry-load.ts).
 *
 *   node --conditions=source --import tsx registry-client-process.ts --endpoint <url> --first <n> --count <n>
 *        --in-flight <n> --groups a,b,c
 *
 * Prints `READY` once loaded, starts on a `GO` line on stdin, then prints `DONE {"cpuMicros":…,"ms":…}` (CPU time
 * of this process and wall time, from GO to the last answer) and exits 0; exits 1 on the first failed call.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { registerInBulk } from './registry-load.js';
import { registryClient } from './registry-process.js';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    first: { type: 'string' },
    count: { type: 'string' },
    'in-flight': { type: 'string' },
    groups: { type: 'string' },
  },
});
const number = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 0)
    throw new Error(`registry-client: --${name} <integer> is required`);
  return n;
};
if (values.endpoint === undefined || values.groups === undefined) {
  throw new Error('registry-client: --endpoint and --groups are required');
}
const endpoint = values.endpoint;
const groups = values.groups.split(',');
const first = number('first', values.first);
const count = number('count', values.count);
const inFlight = number('in-flight', values['in-flight']);
const client = registryClient(endpoint, inFlight);

const lines = createInterface({ input: process.stdin });
process.stdout.write('READY\n');
for await (const line of lines) {
  if (line.trim() !== 'GO') continue;
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    await registerInBulk(client, { first, count, inFlight, groups });
  } catch (e) {
    process.stderr.write(`registry-client: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
  const used = process.cpuUsage(cpu);
  const ms = performance.now() - started;
  process.stdout.write(`DONE ${JSON.stringify({ cpuMicros: used.user + used.system, ms })}\n`);
  break;
}
lines.close();
client.destroy();
