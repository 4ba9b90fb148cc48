/**
 * Wave hand-off: the time from a wave's gate passing (the wave's decidedAt, journaled by the engine) to the first
 * device of the next wave — 2,500 devices — receiving its job notification (notify-next on a subscribed MQTT
 * connection), with the rollout engine against a real local IoT core (mutual-TLS MQTT, Jobs, registry, AWS's IoT
 * client). Three measures per round, on the same core and the same 2,500 things:
 *   baseline  the core's own CreateJob → first notify-next, for a group already holding the 2,500
 *   unstaged  the engine with stageNextWave off: the next wave's group is filled after the gate
 *   staged    the engine as shipped: the group was filled while the canary soaked
 * Knobs: BENCH_WAVE_DEVICES (2500), BENCH_ROUNDS (3), BENCH_SOAK_SECONDS (20: long enough for staging to finish).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelJobCommand, CreateJobCommand, IoTClient } from '@aws-sdk/client-iot';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import {
  DEV_ACCESS_KEY_ID,
  DEV_SECRET_ACCESS_KEY,
  issueDeviceToDirectory,
  issueServiceToDirectory,
  loadConfig,
  startLocalCore,
} from '@otafleet/iot-core';
import { jobsNotifyNextTopic } from '@otafleet/protocol';
import {
  DEFAULT_GATE,
  createRolloutEngine,
  openBundleStore,
  openSqliteHealthStore,
  openSqliteRolloutStore,
  waveJobId,
  type RolloutDefinition,
  type RolloutEngine,
} from '../src/index.js';
import { addToWaveGroup, ensureWaveGroup } from '../src/engine/wave-jobs.js';
import { bundleBytes, chunks, testSigner, trustOf } from '../test/fleet-bundles.js';
import { startFleetDevice, type FleetDevice } from '../test/fleet-devices.js';
import { envNumber, loadAverage, median, ratio, report } from './lib.js';

const WAVE = envNumber('BENCH_WAVE_DEVICES', 2500);
const ROUNDS = envNumber('BENCH_ROUNDS', 3);
const SOAK_SECONDS = envNumber('BENCH_SOAK_SECONDS', 20);
const CANARY = 5;
const GROUP = 'handoff-fleet';
const silent = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'bench-handoff-'));
const config = loadConfig(
  ['--data-dir', join(dir, 'core'), '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'silent'],
  {},
);
const core = await startLocalCore(config, silent);
const port = core.mqttTlsPort ?? 0;
const iot = new IoTClient({
  endpoint: core.httpEndpoint,
  region: config.region,
  credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
  maxAttempts: 3,
});
const things = Array.from({ length: CANARY + WAVE }, (_, i) => `handoff-${String(i).padStart(5, '0')}`);
await core.registry.createThingGroup({ thingGroupName: GROUP });
for (const thingName of things) {
  await core.registry.createThing({ thingName });
  await core.registry.addThingToThingGroup({ thingGroupName: GROUP, thingName });
}

// Every notify-next, seen by the service identity on the wildcard (the first device of a wave notified), stamped
// on arrival: jobId → first arrival.
const firstNotify = new Map<string, number>();
const serviceCred = await issueServiceToDirectory(core.pki.dir, 'handoff-watch');
const watcher: MqttClient = await mqtt.connectAsync({
  protocol: 'mqtts',
  host: '127.0.0.1',
  port,
  clientId: 'handoff-watch',
  ca: await readFile(serviceCred.caPath),
  cert: await readFile(serviceCred.certPath),
  key: await readFile(serviceCred.keyPath),
  rejectUnauthorized: true,
});
const notifyAll = jobsNotifyNextTopic('+');
watcher.on('message', (_topic, payload) => {
  const at = Date.now();
  const jobId = (JSON.parse(payload.toString()) as { execution?: { jobId?: string } }).execution?.jobId;
  if (jobId !== undefined && !firstNotify.has(jobId)) firstNotify.set(jobId, at);
});
await watcher.subscribeAsync(notifyAll, { qos: 1 });

const signer = testSigner('handoff');
const bundles = openBundleStore({ dir: join(dir, 'bundles'), trust: trustOf(signer) });
const put = await bundles.put(chunks(await bundleBytes(signer, '2.0.0')), {
  uploadedBy: 'bench',
  at: Date.now(),
  maxBytes: 10_000_000,
});
if (!put.ok) throw new Error(put.error.message);
const bundle = put.value.bundle;
const store = openSqliteRolloutStore(join(dir, 'fleet.db'));
const health = openSqliteHealthStore(join(dir, 'health.db'));
const engineWith = (stageNextWave: boolean): RolloutEngine =>
  createRolloutEngine({
    iot,
    store,
    health,
    bundles,
    bundleUrl: (b) => `https://bundles.invalid/${b.sha256}.otab`,
    now: Date.now,
    logger: silent,
    stageNextWave,
  });

const definition: RolloutDefinition = {
  name: 'hand-off',
  bundle: { bundleId: bundle.sha256, version: bundle.manifest.version },
  target: { kind: 'group', groupName: GROUP },
  waves: [{ count: CANARY }, { percent: 100 }],
  // One seed: every rollout picks the same canary, the devices answering jobs below.
  seed: 'handoff',
  gate: { ...DEFAULT_GATE, minReportingFraction: 0 },
  onBreach: 'pause',
  soakSeconds: SOAK_SECONDS,
  waveTimeoutSeconds: 3600,
};

const canary: FleetDevice[] = [];
let n = 0;

/** One rollout: ticks as the service does (tickAll, then a short pause) until the next wave's first notification. */
async function handoff(stageNextWave: boolean): Promise<number> {
  const engine = engineWith(stageNextWave);
  const id = `h${n++}-${stageNextWave ? 'staged' : 'unstaged'}`;
  await engine.create(id, definition, 'bench');
  if (canary.length === 0) {
    for (const d of await store.devices(id, 0)) {
      const credentials = await issueDeviceToDirectory(core.pki.dir, d.thingName);
      canary.push(
        await startFleetDevice({
          thingName: d.thingName,
          port,
          credentials,
          version: '1.0.0',
          behaviourOf: () => 'good',
        }),
      );
    }
  }
  const next = waveJobId(id, 1);
  const until = Date.now() + (SOAK_SECONDS + 120) * 1000;
  while (!firstNotify.has(next)) {
    if (Date.now() > until) throw new Error(`rollout ${id}: the next wave was not notified in time`);
    await engine.tickAll(100);
    await sleep(25);
  }
  const decidedAt = (await store.waves(id))[0]?.decidedAt;
  if (decidedAt === undefined) throw new Error(`rollout ${id}: the canary has no decision`);
  // Stop this rollout: its queued executions are canceled, the next round's job becomes the devices' next.
  const stopped = await engine.act(id, 'cancel', 'bench');
  if (!stopped.ok) throw new Error(stopped.error.message);
  await engine.tickAll(100);
  return (firstNotify.get(next) ?? 0) - decidedAt;
}

/** The core alone: CreateJob on a group already holding the wave → first notify-next. */
async function baseline(): Promise<number> {
  const id = `base-${n++}`;
  const arn = await ensureWaveGroup(iot, id, 1);
  await addToWaveGroup(iot, id, 1, things.slice(CANARY));
  const jobId = waveJobId(id, 1);
  const started = Date.now();
  await iot.send(
    new CreateJobCommand({
      jobId,
      targets: [arn],
      document: JSON.stringify({ operation: 'noop' }),
      targetSelection: 'CONTINUOUS',
    }),
  );
  while (!firstNotify.has(jobId)) await sleep(1);
  const ms = (firstNotify.get(jobId) ?? 0) - started;
  await iot.send(new CancelJobCommand({ jobId, force: false }));
  return ms;
}

const results = { baseline: [] as number[], unstaged: [] as number[], staged: [] as number[] };
for (let round = 0; round < ROUNDS; round++) {
  results.baseline.push(await baseline());
  results.unstaged.push(await handoff(false));
  results.staged.push(await handoff(true));
  process.stderr.write(
    `round ${round + 1}: baseline ${results.baseline.at(-1)} ms, unstaged ${results.unstaged.at(-1)} ms, staged ${results.staged.at(-1)} ms\n`,
  );
}

report({
  bench: 'wave-handoff',
  waveDevices: WAVE,
  canaryDevices: CANARY,
  soakSeconds: SOAK_SECONDS,
  rounds: ROUNDS,
  stagedMedianMs: median(results.staged),
  unstagedMedianMs: median(results.unstaged),
  baselineCreateJobToNotifyMedianMs: median(results.baseline),
  stagedToBaseline: ratio(median(results.staged), median(results.baseline)),
  target: 'stagedMedianMs < 1000',
  stagedMs: results.staged,
  unstagedMs: results.unstaged,
  baselineMs: results.baseline,
  ...loadAverage(),
});

await Promise.all(canary.map((d) => d.close()));
await watcher.endAsync();
await store.close();
await health.close();
await bundles.close();
iot.destroy();
await core.close();
rmSync(dir, { recursive: true, force: true });
