import { startEmbeddedBroker, writeMosquittoConfig, type EmbeddedBroker } from '@otafleet/iot-core';
import { createStreamPair } from '@otafleet/mqtt-client';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { createWebSocketStream, WebSocketServer } from 'ws';
import {
  freePort,
  requireMosquitto,
  startMosquitto,
  type MosquittoProcess,
  type TestPki,
} from './iot-core-test-helpers.js';

export const logger = pino({ level: 'silent' });

/** Who a test client is: the device under test (thing name = client id) or the privileged service. */
export type Identity = 'device' | 'service';
export const THING = 'thing-a';
export const OTHER_THING = 'thing-b';

/** A real broker the contract suite runs against, which it can kill and bring back on the same port. */
export interface BrokerFixture {
  readonly name: string;
  /** Kill it abruptly (aedes closed / mosquitto SIGKILLed): clients see their connections drop. */
  kill(): Promise<void>;
  /** Start it again on the same port(s). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** A plain MQTT.js client for the other side of a test, connected (no reconnect). */
  rawClient(options: {
    readonly identity: Identity;
    readonly clientId: string;
    readonly clean?: boolean;
  }): Promise<MqttClient>;
}

const connectRaw = (url: string, options: IClientOptions): Promise<MqttClient> =>
  new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    client.once('connect', () => resolve(client));
    client.once('error', (e) => {
      client.end(true);
      reject(e);
    });
  });

const credentials = (pki: TestPki, identity: Identity): { cert: string; key: string } =>
  identity === 'device' ? pki.device(THING) : pki.service;

/** aedes with mutual TLS and per-thing authorization (the local core's broker). */
export async function aedesTls(
  pki: TestPki,
): Promise<BrokerFixture & { readonly port: number; current(): EmbeddedBroker }> {
  const start = (port: number): Promise<EmbeddedBroker> =>
    startEmbeddedBroker({ logger, tls: { port, ca: pki.caPem, cert: pki.server.cert, key: pki.server.key } });
  let broker = await start(0);
  const port = broker.tlsPort ?? 0;
  return {
    name: 'aedes (mTLS)',
    port,
    current: () => broker,
    kill: () => broker.close(),
    restart: async () => {
      broker = await start(port);
    },
    stop: () => broker.close(),
    rawClient: ({ identity, clientId, clean = true }) =>
      connectRaw(`mqtts://127.0.0.1:${port}`, { clientId, clean, ca: pki.caPem, ...credentials(pki, identity) }),
  };
}

/** aedes without authentication on plain TCP; `handle` feeds it any other stream (WebSocket, in-memory). */
async function aedesPlain(name: string): Promise<
  BrokerFixture & {
    readonly port: number;
    current(): EmbeddedBroker | undefined;
    onRestart(fn: () => Promise<void>): void;
  }
> {
  let broker: EmbeddedBroker | undefined = await startEmbeddedBroker({ logger });
  const port = broker.port;
  let restarted: (() => Promise<void>) | undefined;
  return {
    name,
    port,
    current: () => broker,
    onRestart: (fn) => {
      restarted = fn;
    },
    kill: async () => {
      const b = broker;
      broker = undefined;
      await b?.close();
    },
    restart: async () => {
      broker = await startEmbeddedBroker({ logger, port });
      await restarted?.();
    },
    stop: async () => {
      const b = broker;
      broker = undefined;
      await b?.close();
    },
    rawClient: ({ clientId, clean = true }) => connectRaw(`mqtt://127.0.0.1:${port}`, { clientId, clean }),
  };
}

export const aedesTcp = (): ReturnType<typeof aedesPlain> => aedesPlain('aedes (TCP)');

/** aedes behind a `ws` WebSocket server: each WebSocket becomes a stream for `aedes.handle`. */
export async function aedesWebSocket(): Promise<BrokerFixture & { readonly wsPort: number }> {
  const plain = await aedesPlain('aedes (WebSocket)');
  const wsPort = await freePort();
  let wss: WebSocketServer | undefined;
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const server = new WebSocketServer({ host: '127.0.0.1', port: wsPort });
      server.once('listening', () => resolve());
      server.once('error', reject);
      server.on('connection', (socket) => {
        const broker = plain.current();
        if (broker === undefined) socket.terminate();
        else broker.aedes.handle(createWebSocketStream(socket));
      });
      wss = server;
    });
  const closeWss = (): Promise<void> =>
    new Promise((resolve) => {
      const server = wss;
      wss = undefined;
      if (server === undefined) {
        resolve();
        return;
      }
      for (const client of server.clients) client.terminate();
      server.close(() => resolve());
    });
  await listen();
  plain.onRestart(listen);
  return {
    ...plain,
    wsPort,
    kill: async () => {
      await closeWss();
      await plain.kill();
    },
    stop: async () => {
      await closeWss();
      await plain.stop();
    },
  };
}

/** aedes reached through in-memory stream pairs (what the simulator does); the factory throws while it is down. */
export async function aedesMemory(): Promise<
  BrokerFixture & { readonly createStream: () => ReturnType<typeof createStreamPair>[0] }
> {
  const plain = await aedesPlain('aedes (in-memory streams)');
  return {
    ...plain,
    createStream: () => {
      const broker = plain.current();
      if (broker === undefined) throw new Error('the in-memory broker is down');
      const [clientEnd, serverEnd] = createStreamPair();
      broker.aedes.handle(serverEnd);
      return clientEnd;
    },
  };
}

/** Mosquitto 2 with the project's mutual-TLS config and ACL (MQTT 5 and 3.1.1), SIGKILLed to kill it. */
export async function mosquittoTls(pki: TestPki): Promise<BrokerFixture & { readonly port: number }> {
  const binary = requireMosquitto();
  const port = await freePort();
  const dir = join(pki.dir, `mosquitto-${port}`);
  await mkdir(dir, { recursive: true });
  const { configPath } = await writeMosquittoConfig(dir, {
    port,
    cafile: join(pki.dir, 'ca.pem'),
    certfile: pki.server.paths.certPath,
    keyfile: pki.server.paths.keyPath,
    privilegedServices: [pki.serviceName],
    things: [THING, OTHER_THING],
    ...(process.getuid?.() === 0 ? { runAsUser: 'root' } : {}),
  });
  let mosquitto: MosquittoProcess = await startMosquitto(binary, configPath, port);
  return {
    name: 'Mosquitto 2 (mTLS)',
    port,
    kill: async () => {
      const { child } = mosquitto;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    },
    restart: async () => {
      mosquitto = await startMosquitto(binary, configPath, port);
    },
    stop: () => mosquitto.stop(),
    rawClient: ({ identity, clientId, clean = true }) =>
      connectRaw(`mqtts://127.0.0.1:${port}`, {
        clientId,
        clean,
        protocolVersion: 5,
        ...(clean ? {} : { properties: { sessionExpiryInterval: 300 } }),
        ca: pki.caPem,
        ...credentials(pki, identity),
      }),
  };
}
