/**
 * Idle RSS of a connected agent process (mutual TLS to the local IoT core, directory slots, journal open), with the
 * mqtt.js transport (the real `dist/main.js --config`, and the device build the unit runs) and with the
 * aws-iot-device-sdk-v2 transport (the same createAgent with that transport), against bare node and a bare
 * connected mqtt.js client in the same run. Each child is measured from /proc/PID/status (VmRSS; the supervised
 * application is its own process and not counted) after IDLE_MS connected and idle. Median of ROUNDS,
 * alternating. Prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  bareMqttJsScript,
  buildAgent,
  buildDeviceInstallation,
  DEVICE_ENV,
  packageDir,
  startBenchDevice,
} from './lib/bench-device.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 5_000);
const TARGET_MB = 60;
/** The node flags the systemd unit runs the agent with, read from the unit so they are written once. */
const unitText = readFileSync(fileURLToPath(new URL('../systemd/otaagent.service', import.meta.url)), 'utf8');
const UNIT_NODE_FLAGS = (
  process.env.BENCH_AGENT_NODE_FLAGS ??
  /^ExecStart=\S*node((?: --\S+)*) /m.exec(unitText)?.[1] ??
  ''
)
  .split(' ')
  .filter((f) => f.length > 0);

const agentBuild = await buildAgent();
const deviceCli = buildDeviceInstallation();

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kb / 1024;
}

/** Spawns, waits for the "ready" stdout line, idles IDLE_MS, reads the child's RSS, stops it. */
const idleRss = (args: readonly string[], isReady: (line: string) => boolean): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], {
      cwd: packageDir,
      env: { ...process.env, ...DEVICE_ENV },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let measured: number | undefined;
    let seen = false;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (seen || !isReady(line)) return;
      seen = true;
      setTimeout(() => {
        rssMb(child.pid!).then(
          (mb) => {
            measured = mb;
            child.kill('SIGTERM');
          },
          (e: unknown) => {
            child.kill('SIGKILL');
            reject(e instanceof Error ? e : new Error(String(e)));
          },
        );
      }, IDLE_MS);
    });
    void exited.then((code) => {
      if (measured === undefined) reject(new Error(`child exited ${code} before it was measured`));
      else resolve(measured);
    });
  });

const loadAtStart = Number((loadavg()[0] ?? 0).toFixed(2));
const device = await startBenchDevice('bench-rss-pi', agentBuild);
try {
  const { configPath, cred, port } = device;
  const index = pathToFileURL(join(packageDir, 'dist', 'index.js')).href;
  const sdkAgent = `
    import { readFileSync } from 'node:fs';
    import { createAgent, loadAgentConfig } from ${JSON.stringify(index)};
    import { awsIotSdkTransport } from '@otafleet/mqtt-client';
    import { createProcessLogger } from '@otafleet/runtime';
    const loaded = await loadAgentConfig(${JSON.stringify(configPath)});
    if (!loaded.ok) throw new Error(loaded.error.message);
    const logger = createProcessLogger({ name: 'otaagent', level: 'info' });
    const read = (p) => readFileSync(p, 'utf8');
    const transport = awsIotSdkTransport({ host: '127.0.0.1', port: ${port}, ca: read(${JSON.stringify(cred.caPath)}),
      cert: read(${JSON.stringify(cred.certPath)}), key: read(${JSON.stringify(cred.keyPath)}) });
    const agent = await createAgent(loaded.value, { logger, transport });
    await agent.start();
    process.on('SIGTERM', () => agent.close().then(() => process.exit(0)));`;
  const bareMqtt = bareMqttJsScript(device, '');
  const bareNode = `console.log('ready'); setInterval(() => {}, 1e9); process.on('SIGTERM', () => process.exit(0));`;

  const connected = (l: string): boolean => l.includes('"connected to the broker"');
  const samples = {
    bareNode: [] as number[],
    bareMqttJs: [] as number[],
    bareMqttJsUnitFlags: [] as number[],
    agentMqttJs: [] as number[],
    agentMqttJsUnitFlags: [] as number[],
    agentDeviceBuildUnitFlags: [] as number[],
    agentAwsSdk: [] as number[],
  };
  for (let i = 0; i < ROUNDS; i++) {
    samples.bareNode.push(await idleRss(['-e', bareNode], (l) => l === 'ready'));
    samples.bareMqttJs.push(await idleRss(['--input-type=module', '-e', bareMqtt], (l) => l === 'connected'));
    samples.bareMqttJsUnitFlags.push(
      await idleRss([...UNIT_NODE_FLAGS, '--input-type=module', '-e', bareMqtt], (l) => l === 'connected'),
    );
    const main = [join(packageDir, 'dist', 'main.js'), '--config', configPath];
    samples.agentMqttJs.push(await idleRss(main, connected));
    samples.agentMqttJsUnitFlags.push(await idleRss([...UNIT_NODE_FLAGS, ...main], connected));
    samples.agentDeviceBuildUnitFlags.push(
      await idleRss([...UNIT_NODE_FLAGS, deviceCli, 'run', '--config', configPath], connected),
    );
    samples.agentAwsSdk.push(await idleRss(['--input-type=module', '-e', sdkAgent], connected));
  }
  const median = (xs: readonly number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const mb = (x: number): number => Number(x.toFixed(1));
  const m = {
    bareNode: median(samples.bareNode),
    bareMqttJs: median(samples.bareMqttJs),
    bareMqttJsUnitFlags: median(samples.bareMqttJsUnitFlags),
    agentMqttJs: median(samples.agentMqttJs),
    agentMqttJsUnitFlags: median(samples.agentMqttJsUnitFlags),
    agentDeviceBuildUnitFlags: median(samples.agentDeviceBuildUnitFlags),
    agentAwsSdk: median(samples.agentAwsSdk),
  };
  console.log(
    JSON.stringify({
      bench: 'agent-idle-rss',
      rounds: ROUNDS,
      idleMs: IDLE_MS,
      targetMb: TARGET_MB,
      unitNodeFlags: UNIT_NODE_FLAGS,
      medianMb: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, mb(v)])),
      ratioToBareNode: Object.fromEntries(
        Object.entries(m)
          .filter(([k]) => k.startsWith('agent'))
          .map(([k, v]) => [k, Number((v / m.bareNode).toFixed(2))]),
      ),
      ratioToBareMqttJs: {
        agentMqttJs: Number((m.agentMqttJs / m.bareMqttJs).toFixed(2)),
        agentMqttJsUnitFlags: Number((m.agentMqttJsUnitFlags / m.bareMqttJs).toFixed(2)),
      },
      /** Both under the unit's flags: what the agent adds to a connected mqtt.js client. */
      ratioUnitFlagsToBareMqttJsUnitFlags: Number((m.agentMqttJsUnitFlags / m.bareMqttJsUnitFlags).toFixed(2)),
      /** The shipped form under the unit's flags against the bare client under the same flags. */
      ratioDeviceBuildToBareMqttJsUnitFlags: Number((m.agentDeviceBuildUnitFlags / m.bareMqttJsUnitFlags).toFixed(2)),
      underTargetMb: {
        agentMqttJs: m.agentMqttJs < TARGET_MB,
        agentMqttJsUnitFlags: m.agentMqttJsUnitFlags < TARGET_MB,
        agentDeviceBuildUnitFlags: m.agentDeviceBuildUnitFlags < TARGET_MB,
      },
      samplesMb: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map(mb)])),
      cpus: cpus().length,
      loadAtStart,
      loadAtEnd: Number((loadavg()[0] ?? 0).toFixed(2)),
    }),
  );
} finally {
  await device.close();
}
