/**
 * End-to-end durable job-execution updates per second over real sockets, against the raw QoS 1 publish
 * rate of the same broker measured in the same run.
 *
 * The broker + Jobs service run in a child process (test/fixtures/jobs-server.ts, SQLite WAL with
 * synchronous=FULL); this process drives MQTT.js clients, one per thing, each keeping WINDOW QoS 1 requests
 * in flight and counting only answers that arrived:
 *  - jobs: UpdateJobExecution (IN_PROGRESS + statusDetails) and wait for /accepted (committed first);
 *  - raw: a QoS 1 publish to a plain topic and wait for its PUBACK.
 *  - echo: the same request/response pattern through a bus handler that only echoes (no Jobs, no SQLite),
 *    which isolates what the Jobs logic and the durable commit cost.
 * Usage: npx tsx packages/iot-core/bench/jobs-throughput.ts   (prints one JSON line)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';

const THINGS = Number(process.env['BENCH_THINGS'] ?? 50);
const WINDOW = Number(process.env['BENCH_WINDOW'] ?? 40);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const FIXTURE = fileURLToPath(new URL('../test/fixtures/jobs-server.ts', import.meta.url));

async function startServer(dbPath: string): Promise<{ port: number; stop: () => Promise<void> }> {
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the server process.
  const extra = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(
    process.execPath,
    [...extra, '--conditions=source', '--import', 'tsx', FIXTURE, dbPath, String(THINGS)],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 30_000);
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function connect(port: number, id: string): Promise<MqttClient> {
  const c = mqtt.connect({ host: '127.0.0.1', port, clientId: id, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/** Runs `start(i, done)` loops on every client for SECONDS; returns completions per second. */
async function measure(count: () => number, run: () => void, stop: () => void): Promise<number> {
  run();
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  const c0 = count();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const rate = ((count() - c0) * 1000) / (performance.now() - t0);
  stop();
  await new Promise((r) => setTimeout(r, 300)); // drain
  return rate;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jobs-bench-'));
  const server = await startServer(join(dir, 'core.db'));
  const things = Array.from({ length: THINGS }, (_, i) => `crash-${i}`);
  const clients = await Promise.all(things.map((t) => connect(server.port, `bench-${t}`)));
  try {
    // Baseline: raw QoS 1 publishes (PUBACK) through the same broker.
    let raw = 0;
    let rawRunning = true;
    const rawRate = await measure(
      () => raw,
      () => {
        clients.forEach((c, i) => {
          const send = (): void => {
            if (!rawRunning) return;
            c.publish(`bench/raw/${i}`, '{"status":"IN_PROGRESS","statusDetails":{"seq":"1"}}', { qos: 1 }, (e) => {
              if (e) return;
              raw += 1;
              send();
            });
          };
          for (let w = 0; w < WINDOW; w++) send();
        });
      },
      () => (rawRunning = false),
    );

    // Second baseline: request/response through an in-process bus handler that only echoes (no Jobs, no SQLite).
    let echoed = 0;
    let echoRunning = true;
    await Promise.all(clients.map((c, i) => c.subscribeAsync(`bench/echo/${i}/reply`, { qos: 1 })));
    const echoRate = await measure(
      () => echoed,
      () => {
        clients.forEach((c, i) => {
          const send = (): void => {
            if (echoRunning)
              c.publish(`bench/echo/${i}`, '{"status":"IN_PROGRESS","statusDetails":{"seq":"1"}}', { qos: 1 });
          };
          const onEcho = (t: string): void => {
            if (t !== `bench/echo/${i}/reply`) return;
            echoed += 1;
            send();
          };
          c.on('message', onEcho);
          for (let w = 0; w < WINDOW; w++) send();
        });
      },
      () => (echoRunning = false),
    );
    for (const c of clients) c.removeAllListeners('message');

    // Jobs: durable UpdateJobExecution, counted on /accepted.
    let accepted = 0;
    let rejected = 0;
    let jobsRunning = true;
    await Promise.all(
      clients.map((c, i) => c.subscribeAsync(`$aws/things/${things[i] ?? ''}/jobs/burst/update/+`, { qos: 1 })),
    );
    const jobsRate = await measure(
      () => accepted,
      () => {
        clients.forEach((c, i) => {
          const topic = `$aws/things/${things[i] ?? ''}/jobs/burst/update`;
          let seq = 0;
          const send = (): void => {
            if (!jobsRunning) return;
            seq += 1;
            c.publish(
              topic,
              JSON.stringify({ status: 'IN_PROGRESS', statusDetails: { seq: String(seq) }, clientToken: String(seq) }),
              { qos: 1 },
            );
          };
          c.on('message', (t) => {
            if (t.endsWith('/accepted')) accepted += 1;
            else rejected += 1;
            send();
          });
          for (let w = 0; w < WINDOW; w++) send();
        });
      },
      () => (jobsRunning = false),
    );
    process.stdout.write(
      `${JSON.stringify({
        bench: 'jobs-throughput',
        things: THINGS,
        window: WINDOW,
        seconds: SECONDS,
        jobsDurableUpdatesPerSec: Math.round(jobsRate),
        rawQos1PublishesPerSec: Math.round(rawRate),
        ratio: Number((jobsRate / rawRate).toFixed(3)),
        echoRoundTripsPerSec: Math.round(echoRate),
        ratioToEcho: Number((jobsRate / echoRate).toFixed(3)),
        rejected,
      })}\n`,
    );
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
