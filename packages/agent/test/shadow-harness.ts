/** A device's MQTT connection, a privileged watcher and AWS's data-plane client against one local IoT core. */
import { readFile } from 'node:fs/promises';
import { GetThingShadowCommand, IoTDataPlaneClient, UpdateThingShadowCommand } from '@aws-sdk/client-iot-data-plane';
import { createMqttConnection, mqttJsTransport, type MqttConnection, type MqttTransport } from '@otafleet/mqtt-client';
import {
  DEV_ACCESS_KEY_ID,
  DEV_SECRET_ACCESS_KEY,
  issueServiceToDirectory,
  serviceCommonName,
} from '@otafleet/iot-core';
import { systemAgentClock } from '@otafleet/agent';
import type { E2eCore } from './e2e-core.js';
import { silent } from './e2e-device.js';

export function dataPlane(core: E2eCore): IoTDataPlaneClient {
  return new IoTDataPlaneClient({
    endpoint: core.core.httpEndpoint,
    region: core.region,
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
}

/** GetThingShadow through AWS's client; undefined when the shadow does not exist. */
export async function getShadow(
  data: IoTDataPlaneClient,
  thingName: string,
  shadowName?: string,
): Promise<{ state: Record<string, Record<string, unknown> | undefined>; version: number } | undefined> {
  try {
    const out = await data.send(new GetThingShadowCommand({ thingName, ...(shadowName ? { shadowName } : {}) }));
    return JSON.parse(Buffer.from(out.payload ?? new Uint8Array()).toString('utf8')) as {
      state: Record<string, Record<string, unknown> | undefined>;
      version: number;
    };
  } catch (e) {
    if ((e as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw e;
  }
}

export async function updateShadow(
  data: IoTDataPlaneClient,
  thingName: string,
  document: unknown,
  shadowName?: string,
): Promise<void> {
  await data.send(
    new UpdateThingShadowCommand({
      thingName,
      ...(shadowName ? { shadowName } : {}),
      payload: Buffer.from(JSON.stringify(document)),
    }),
  );
}

const connections: MqttConnection[] = [];

export async function closeConnections(): Promise<void> {
  await Promise.all(connections.splice(0).map((c) => c.close()));
}

/** What a spied connection sees of each PUBLISH the broker delivers. */
export interface SeenInbound {
  readonly topic: string;
  readonly qos: number;
}

/** The transport, calling `onInbound` with every PUBLISH the broker delivers. */
const spied = (transport: MqttTransport, onInbound: (p: SeenInbound) => void): MqttTransport => ({
  kind: transport.kind,
  endpoint: transport.endpoint,
  open: (request, events, signal) =>
    transport.open(
      request,
      {
        message: (p) => {
          onInbound({ topic: p.topic, qos: p.qos });
          return events.message(p);
        },
        lost: (reason) => events.lost(reason),
      },
      signal,
    ),
});

async function connectTls(
  port: number,
  clientId: string,
  paths: { readonly caPath: string; readonly certPath: string; readonly keyPath: string },
  onInbound?: (p: SeenInbound) => void,
): Promise<MqttConnection> {
  const [ca, cert, key] = await Promise.all(
    [paths.caPath, paths.certPath, paths.keyPath].map((p) => readFile(p, 'utf8')),
  );
  const transport = mqttJsTransport({ url: `mqtts://127.0.0.1:${port}`, tls: { ca: ca!, cert: cert!, key: key! } });
  const c = createMqttConnection({
    transport: onInbound === undefined ? transport : spied(transport, onInbound),
    clientId,
    clock: systemAgentClock,
    logger: silent,
    backoff: { baseMs: 50, capMs: 300 },
  });
  connections.push(c);
  return c;
}

/**
 * A device's connection (idle: the caller starts it, so it can set things up while offline first); `onInbound`
 * sees every message the broker delivers to it.
 */
export async function deviceConnection(
  core: E2eCore,
  thing: string,
  onInbound?: (p: SeenInbound) => void,
): Promise<MqttConnection> {
  return connectTls(core.mqttPort, thing, await core.addDevice(thing), onInbound);
}

/** A privileged client (a service certificate): may publish and subscribe anywhere. Started. */
export async function serviceConnection(core: E2eCore, name: string, port = core.mqttPort): Promise<MqttConnection> {
  return serviceConnectionOf(core.core.pki.dir, name, port);
}

/** The same, for a core known only by its PKI directory and port. */
export async function serviceConnectionOf(pkiDir: string, name: string, port: number): Promise<MqttConnection> {
  const paths = await issueServiceToDirectory(pkiDir, name);
  const c = await connectTls(port, serviceCommonName(name), paths);
  c.start();
  await c.waitFor('connected');
  return c;
}
