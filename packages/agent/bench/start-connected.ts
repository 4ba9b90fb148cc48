/**
 * Start-to-connected time of the agent process against the local IoT core (mutual TLS), against a bare mqtt.js
 * connect from a fresh process in the same run as the baseline. Both are timed from spawn to "connected" on the
 * child's stdout, so both include Node's own start; the agent runs its compiled package with plain node, as on a
 * device (boot step, journal open, trust store, application spawn, MQTT connect). Median of ROUNDS, alternating.
 * Prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  bareMqttJsScript,
  buildAgent,
  buildDeviceInstallation,
  DEVICE_ENV,
  packageDir,
  startBenchDevice,
} from './lib/bench-device.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);

const loadAtStart = Number((loadavg()[0] ?? 0).toFixed(2));
const device = await startBenchDevice('bench-pi', await buildAgent());
const deviceCli = buildDeviceInstallation();
try {
  const { configPath } = device;
  const bare = bareMqttJsScript(device, 'c.end(true, () => process.exit(0));');

  /** Milliseconds from spawn to the first stdout line that `isConnected`; then stops the child. */
  const timeToConnected = (args: string[], isConnected: (line: string) => boolean, stop: boolean): Promise<number> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, args, {
        cwd: packageDir,
        env: { ...process.env, ...DEVICE_ENV },
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
  const deviceBuild: number[] = [];
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
    deviceBuild.push(
      await timeToConnected(
        [deviceCli, 'run', '--config', configPath],
        (l) => l.includes('"connected to the broker"'),
        true,
      ),
    );
  }
  const median = (xs: readonly number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const agentMs = median(agent);
  const bareMs = median(baseline);
  const deviceMs = median(deviceBuild);
  console.log(
    JSON.stringify({
      bench: 'agent-start-to-connected',
      rounds: ROUNDS,
      agentMedianMs: Math.round(agentMs),
      bareMqttJsMedianMs: Math.round(bareMs),
      ratio: Number((agentMs / bareMs).toFixed(2)),
      deviceBuildMedianMs: Math.round(deviceMs),
      deviceBuildRatio: Number((deviceMs / bareMs).toFixed(2)),
      deviceBuildMs: deviceBuild.map(Math.round),
      agentMs: agent.map(Math.round),
      bareMs: baseline.map(Math.round),
      cpus: cpus().length,
      loadAtStart,
      loadAtEnd: Number((loadavg()[0] ?? 0).toFixed(2)),
    }),
  );
} finally {
  await device.close();
}
