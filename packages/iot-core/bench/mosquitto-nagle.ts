/**
 * Request/response through Mosquitto with 10 requests in flight, Nagle's algorithm on against off: the
 * device publishes `$aws/things/<thing>/shadow/get`, a privileged service answers on `.../get/accepted`, as the
 * core does. "before": the generated config without `set_tcp_nodelay true` and both mqtt.js sockets with Nagle
 * (noDelay false); "after": the config as generated and the transport's default (noDelay true). Two Mosquitto
 * processes, one per variant, measured alternating in the same run; the figure is requests/s and the ratio.
 * "brokerOnly" and "clientsOnly" apply one of the two fixes, to show that each side needs its own.
 *
 *   npx tsx packages/iot-core/bench/mosquitto-nagle.ts     env: BENCH_PHASE_MS (3000) BENCH_ROUNDS (3)
 */
import { connectMqtt, mqttJsTransport, type MqttConnection } from '@otafleet/mqtt-client';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { createTestPki } from '../src/testing/test-pki.js';
import { freePort, requireMosquitto, startMosquitto, type MosquittoProcess } from '../src/testing/mosquitto.js';
import { writeMosquittoConfig } from '../src/mosquitto/mosquitto-config.js';

const THING = 'nagle-bench-1';
const IN_FLIGHT = 10;
const PHASE_MS = Number(process.env['BENCH_PHASE_MS'] ?? 3000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const logger = pino({ level: 'silent' });

const pki = await createTestPki([THING]);
const binary = requireMosquitto();

type VariantName = 'before' | 'brokerOnly' | 'clientsOnly' | 'after';

interface Variant {
  readonly name: VariantName;
  readonly mosquitto: MosquittoProcess;
  readonly device: MqttConnection;
  readonly service: MqttConnection;
  readonly results: number[];
}

async function variant(name: VariantName): Promise<Variant> {
  const port = await freePort();
  const { configPath } = await writeMosquittoConfig(join(pki.dir, `mosquitto-${name}`), {
    port,
    cafile: join(pki.dir, 'ca.pem'),
    certfile: pki.server.paths.certPath,
    keyfile: pki.server.paths.keyPath,
    privilegedServices: [pki.serviceName],
    things: [THING],
    ...(process.getuid?.() === 0 ? { runAsUser: 'root' } : {}),
  });
  if (name === 'before' || name === 'clientsOnly') {
    const text = await readFile(configPath, 'utf8');
    await writeFile(configPath, text.replace('set_tcp_nodelay true\n', ''));
  }
  const mosquitto = await startMosquitto(binary, configPath, port);
  const url = `mqtts://127.0.0.1:${port}`;
  const noDelay = name === 'after' || name === 'clientsOnly';
  const service = await connectMqtt({
    transport: mqttJsTransport({ url, noDelay, tls: { ca: pki.caPem, ...pki.service } }),
    clientId: `svc.${pki.serviceName}`,
    logger,
  });
  // Not awaited in the handler: the PUBACK of the answer arrives behind the next inbound message, which waits for
  // this handler (the core answers the same way, after its group commit).
  await service.subscribe(`$aws/things/+/shadow/get`, (m) => {
    void service.publish(`${m.topic}/accepted`, m.payload, { qos: 1 });
  });
  const device = await connectMqtt({
    transport: mqttJsTransport({ url, noDelay, tls: { ca: pki.caPem, ...pki.device(THING) } }),
    clientId: THING,
    logger,
  });
  return { name, mosquitto, device, service, results: [] };
}

/** Requests answered in one phase, with IN_FLIGHT outstanding at all times. */
async function phase(v: Variant): Promise<number> {
  const waiting = new Map<string, () => void>();
  let seq = 0;
  let done = 0;
  const unsubscribe = `$aws/things/${THING}/shadow/get/accepted`;
  await v.device.subscribe(unsubscribe, (m) => {
    const id = m.payload.toString();
    waiting.get(id)?.();
    waiting.delete(id);
  });
  const end = Date.now() + PHASE_MS;
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      const id = `${seq++}`;
      const answered = new Promise<void>((resolve) => waiting.set(id, resolve));
      await v.device.publish(`$aws/things/${THING}/shadow/get`, id, { qos: 1 });
      await answered;
      done++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await v.device.unsubscribe(unsubscribe);
  return (done * 1000) / PHASE_MS;
}

const variants = [
  await variant('before'),
  await variant('brokerOnly'),
  await variant('clientsOnly'),
  await variant('after'),
];
try {
  for (const v of variants) await phase(v); // warm-up
  for (let round = 0; round < ROUNDS; round++) for (const v of variants) v.results.push(await phase(v));
  const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const [before, brokerOnly, clientsOnly, after] = variants.map((v) => median(v.results));
  console.log(
    JSON.stringify({
      bench: 'mosquitto-nagle',
      inFlight: IN_FLIGHT,
      phaseMs: PHASE_MS,
      rounds: ROUNDS,
      beforeRequestsPerSecond: Math.round(before ?? 0),
      brokerOnlyRequestsPerSecond: Math.round(brokerOnly ?? 0),
      clientsOnlyRequestsPerSecond: Math.round(clientsOnly ?? 0),
      afterRequestsPerSecond: Math.round(after ?? 0),
      beforeMeanLatencyMs: Number(((IN_FLIGHT * 1000) / (before ?? 1)).toFixed(2)),
      afterMeanLatencyMs: Number(((IN_FLIGHT * 1000) / (after ?? 1)).toFixed(2)),
      ratio: Number(((after ?? 0) / (before ?? 1)).toFixed(2)),
      perRound: Object.fromEntries(variants.map((v) => [v.name, v.results.map(Math.round)])),
    }),
  );
} finally {
  for (const v of variants) {
    await v.device.close();
    await v.service.close();
    await v.mosquitto.stop();
  }
  await pki.cleanup();
}
