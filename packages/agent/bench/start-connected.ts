/**
 * Start-to-connected time of the agent process against the local IoT core (mutual TLS), against a bare mqtt.js
 * connect from a fresh process in the same run as the baseline. Both are timed from spawn to "connected" on the
 * child's stdout, so both include Node's own start; the agent runs its compiled package with plain node, as on a
 * device (boot step, journal open, trust store, application spawn, MQTT connect). Median of ROUNDS, alternating.
 * Prints one JSON line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { deriveTestPrivateKey, publicKeyPemOf } from '@otafleet/bundle';
import type * as AgentModule from '../src/index.js';
import { issueDeviceToDirectory, loadConfig, startLocalCore } from '@otafleet/iot-core';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const silent = pino({ level: 'silent' });

spawnSync(process.execPath, [join(packageDir, '../../node_modules/typescript/bin/tsc'), '-b', packageDir], {
  stdio: 'inherit',
});
if (!existsSync(join(packageDir, 'dist', 'main.js')))
  throw new Error('build of @otafleet/agent failed: no dist/main.js');
// The compiled agent is imported only for provisioning (same code the process runs).
const { provisionDirectorySlots } = (await import(join(packageDir, 'dist', 'index.js'))) as Pick<
  typeof AgentModule,
  'provisionDirectorySlots'
>;

const loadAtStart = Number((loadavg()[0] ?? 0).toFixed(2));
const dir = await mkdtemp(join(tmpdir(), 'agent-start-bench-'));
const core = await startLocalCore(
  loadConfig(
    ['--data-dir', join(dir, 'core'), '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'silent'],
    {},
  ),
  silent,
);
try {
  const thing = 'bench-pi';
  const cred = await issueDeviceToDirectory(core.pki.dir, thing);
  const root = join(dir, 'app');
  await provisionDirectorySlots({ root, logger: silent });
  const key = deriveTestPrivateKey('ed25519', 'bench');
  const trustPath = join(dir, 'trust.json');
  await writeFile(
    trustPath,
    JSON.stringify({ keys: [{ id: 'bench', algorithm: 'ed25519', publicKey: publicKeyPemOf(key), status: 'active' }] }),
  );
  const url = `mqtts://127.0.0.1:${core.mqttTlsPort ?? 0}`;
  const configPath = join(dir, 'agent.json');
  await writeFile(
    configPath,
    JSON.stringify({
      thingName: thing,
      hardwareType: 'generic-linux',
      dataDir: join(dir, 'data'),
      broker: { kind: 'mqtt', url, caFile: cred.caPath, certFile: cred.certPath, keyFile: cred.keyPath },
      slots: { kind: 'directory', root },
      trustStore: trustPath,
      application: { command: [process.execPath, '-e', 'setInterval(() => {}, 1e9)'] },
      logLevel: 'info',
    }),
  );
  const bare = `
    import { readFileSync } from 'node:fs';
    import mqtt from 'mqtt';
    const c = mqtt.connect(${JSON.stringify(url)}, { clientId: ${JSON.stringify(thing)}, ca: readFileSync(${JSON.stringify(cred.caPath)}), cert: readFileSync(${JSON.stringify(cred.certPath)}), key: readFileSync(${JSON.stringify(cred.keyPath)}), reconnectPeriod: 0 });
    c.on('connect', () => { console.log('connected'); c.end(true, () => process.exit(0)); });
    c.on('error', (e) => { console.error(e.message); process.exit(1); });`;

  /** Milliseconds from spawn to the first stdout line that `isConnected`; then stops the child. */
  const timeToConnected = (args: string[], isConnected: (line: string) => boolean, stop: boolean): Promise<number> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, args, {
        cwd: packageDir,
        env: { ...process.env, LOG_FORMAT: 'json' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let connectedAt: number | undefined;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const drained = new Promise((r) => child.stdout.once('close', r));
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (connectedAt !== undefined || !isConnected(line)) return;
        connectedAt = performance.now() - t0;
        if (stop) child.kill('SIGTERM');
      });
      // 'exit' may come before the last stdout line is read: wait for both.
      void Promise.all([exited, drained]).then(([code]) => {
        if (connectedAt === undefined) reject(new Error(`child exited ${code} before connecting`));
        else resolve(connectedAt);
      });
    });

  const agent: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    baseline.push(await timeToConnected(['--input-type=module', '-e', bare], (l) => l === 'connected', false));
    agent.push(
      await timeToConnected(
        [join(packageDir, 'dist', 'main.js'), '--config', configPath],
        (l) => l.includes('"connected to the broker"'),
        true,
      ),
    );
  }
  const median = (xs: readonly number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const agentMs = median(agent);
  const bareMs = median(baseline);
  console.log(
    JSON.stringify({
      bench: 'agent-start-to-connected',
      rounds: ROUNDS,
      agentMedianMs: Math.round(agentMs),
      bareMqttJsMedianMs: Math.round(bareMs),
      ratio: Number((agentMs / bareMs).toFixed(2)),
      agentMs: agent.map(Math.round),
      bareMs: baseline.map(Math.round),
      cpus: cpus().length,
      loadAtStart,
      loadAtEnd: Number((loadavg()[0] ?? 0).toFixed(2)),
    }),
  );
} finally {
  await core.close();
  await rm(dir, { recursive: true, force: true });
}
