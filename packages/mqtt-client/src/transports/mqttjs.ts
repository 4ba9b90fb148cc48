import type * as MqttJs from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Duplex } from 'node:stream';
import { abortReasonOf, MqttClientError, subscribeOutcomeOf } from '../errors.js';
import type { MqttTransport, SessionEvents, SessionRequest, TransportSession } from '../transport.js';
import { InOrderAcks } from '../in-order-acks.js';
import { connectErrorOf, numericCodeOf } from './mqttjs-errors.js';

/** Passed to MQTT.js's handleMessage callback so that it sends no PUBACK itself (we send it in order). */
const HELD_BACK = new Error('PUBACK held back until the message is handled');
/** Pipelined messages whose PUBACK may wait at once before reading stops (mqtt.js reads no further packet). */
const MAX_HELD_ACKS = 1_000;
const noop = (): void => undefined;
/** MQTT.js's own packet writer (private, untyped): what its handlers send a PUBACK with. The contract suite tests it. */
interface PacketWriter {
  _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode: number }, cb: () => void): void;
}

export interface MqttJsTlsOptions {
  /** PEM of the CA that signed the broker's certificate. Absent: Node's default trust store. */
  readonly ca?: string | Buffer;
  /** PEM client certificate and key (mutual TLS). */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** ALPN protocols to offer; AWS IoT Core on port 443 needs ['x-amzn-mqtt-ca']. */
  readonly alpnProtocols?: readonly string[];
  /** SNI / certificate host name, when it differs from the URL's host. */
  readonly servername?: string;
}

export interface MqttJsTransportOptions {
  /** mqtt://, mqtts://, ws:// or wss://host:port[/path]. */
  readonly url: string;
  /** Used with mqtts:// and wss://. */
  readonly tls?: MqttJsTlsOptions;
  /**
   * Default true: TCP_NODELAY on the socket. MQTT here is small request/response packets; with Nagle's algorithm
   * a packet waits for the ACK of the previous one (delayed ACK, ~40 ms on Linux) when several are in flight.
   */
  readonly noDelay?: boolean;
  /** MQTT 5 only: subscribe with No Local, so the broker never sends this client its own publishes back. */
  readonly noLocal?: boolean;
}

// Loaded on the first attempt: importing mqtt.js costs about 20 MiB of RSS, which a process using only the SDK
// transport need not pay.
let loading: Promise<typeof MqttJs> | undefined;
const loadMqttJs = (): Promise<typeof MqttJs> => (loading ??= import('mqtt'));

/** What mqtt.js's connectors (lib/connect/tcp, lib/connect/tls) are: a socket for the client, from its options. */
type StreamBuilder = (client: MqttClient, options: IClientOptions) => Duplex;
interface MqttJsCore {
  readonly MqttClient: typeof MqttJs.MqttClient;
  readonly tcp: StreamBuilder;
  readonly tls: StreamBuilder;
}

/** A CommonJS module's `exports.default`, as Node's ESM loader presents it (`default` is `module.exports`). */
function cjsDefault<T>(module: { readonly default: unknown }, what: string): T {
  const exported = module.default as { readonly default?: unknown } | undefined;
  const value = typeof exported === 'function' ? exported : exported?.default;
  if (typeof value !== 'function') throw new MqttClientError('InvalidOptions', `mqtt.js has no ${what} export`);
  return value as T;
}

// For mqtt:// and mqtts:// only the client and its TCP and TLS connectors: mqtt.js's index also loads the
// WebSocket, browser and socks-proxy connectors, several MiB of RSS an agent on a 512 MiB device does not use.
let loadingCore: Promise<MqttJsCore> | undefined;
const loadMqttJsCore = (): Promise<MqttJsCore> =>
  (loadingCore ??= Promise.all([
    import('mqtt/lib/client'),
    import('mqtt/lib/connect/tcp'),
    import('mqtt/lib/connect/tls'),
  ]).then(([client, tcp, tls]) => ({
    MqttClient: cjsDefault<typeof MqttJs.MqttClient>(client, 'lib/client'),
    tcp: cjsDefault<StreamBuilder>(tcp, 'lib/connect/tcp'),
    tls: cjsDefault<StreamBuilder>(tls, 'lib/connect/tls'),
  })));

const MQTTJS_TRACE = process.env['DEBUG']?.includes('mqttjs') ?? false;

const sessionOptions = (request: SessionRequest): IClientOptions => ({
  clientId: request.clientId,
  protocolVersion: request.protocolVersion,
  clean: request.clean,
  keepalive: request.keepaliveSeconds,
  connectTimeout: request.connectTimeoutMs,
  reconnectPeriod: 0, // reconnection is the connection's, with backoff
  resubscribe: false, // so is resubscription
  queueQoSZero: false,
  // Otherwise mqtt-packet builds a table of 65,536 two-byte Buffers for packet ids at the first packet written:
  // 6.3 MB of heap in every process (measured in the agent's heap snapshot), to save one 2-byte allocation per
  // packet. The switch is mqtt-packet's, process-wide; a process of ours never wants the table.
  writeCache: false,
  // MQTT.js traces every packet through `debug`, which costs a call and an enabled-check even when off (1.6 % of a
  // simulated fleet's CPU): off unless DEBUG asks for it.
  ...(MQTTJS_TRACE ? {} : { log: noop }),
  ...(request.protocolVersion === 5 && !request.clean
    ? { properties: { sessionExpiryInterval: request.sessionExpirySeconds } }
    : {}),
  ...(request.will === undefined
    ? {}
    : {
        will: {
          topic: request.will.topic,
          payload: Buffer.from(request.will.payload),
          qos: request.will.qos ?? 1,
          retain: request.will.retain ?? false,
        },
      }),
});

/** mqtt.js over TCP, TLS or WebSocket, by URL. */
export function mqttJsTransport(options: MqttJsTransportOptions): MqttTransport {
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new MqttClientError(
      'InvalidOptions',
      `url must be mqtt://, mqtts://, ws:// or wss://host:port, got ${options.url}`,
    );
  }
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(parsed.protocol))
    throw new MqttClientError(
      'InvalidOptions',
      `url must be mqtt://, mqtts://, ws:// or wss://host:port, got ${options.url}`,
    );
  const tls = options.tls;
  const tlsOptions: IClientOptions =
    tls === undefined
      ? {}
      : {
          rejectUnauthorized: true,
          ...(tls.ca === undefined ? {} : { ca: tls.ca }),
          ...(tls.cert === undefined ? {} : { cert: tls.cert }),
          ...(tls.key === undefined ? {} : { key: tls.key }),
          ...(tls.alpnProtocols === undefined ? {} : { ALPNProtocols: [...tls.alpnProtocols] }),
          ...(tls.servername === undefined ? {} : { servername: tls.servername }),
        };
  const endpoint = `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  // As mqtt.connect does: a client certificate and key make mqtt:// a TLS connection.
  const secure = parsed.protocol === 'mqtts:' || (tls?.cert !== undefined && tls.key !== undefined);
  const direct: DirectEndpoint | undefined =
    parsed.protocol === 'mqtt:' || parsed.protocol === 'mqtts:'
      ? {
          secure,
          // WHATWG URLs keep IPv6 literals in brackets; sockets take them bare.
          host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: parsed.port === '' ? (secure ? 8883 : 1883) : Number(parsed.port),
        }
      : undefined;
  return {
    kind: 'mqtt.js',
    endpoint,
    open: async (request, events, signal) => {
      const connect = direct === undefined ? (await loadMqttJs()).connect : await directConnect(direct);
      const noDelay = options.noDelay ?? true;
      return openSession(
        () => {
          const client = connect(options.url, { ...sessionOptions(request), ...tlsOptions });
          // mqtt.js builds its socket synchronously in connect(); a TLS socket passes this on to its TCP socket.
          const socket = client.stream as { setNoDelay?: (on: boolean) => unknown } | undefined;
          socket?.setNoDelay?.(noDelay);
          return client;
        },
        endpoint,
        events,
        signal,
        options.noLocal === true,
      );
    },
  };
}

interface DirectEndpoint {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
}

/** mqtt.connect for a TCP or TLS endpoint, on the client and the one connector it needs. */
async function directConnect(endpoint: DirectEndpoint): Promise<(url: string, options: IClientOptions) => MqttClient> {
  const core = await loadMqttJsCore();
  const build = endpoint.secure ? core.tls : core.tcp;
  return (_url, options) => {
    const base: IClientOptions = {
      ...options,
      protocol: endpoint.secure ? 'mqtts' : 'mqtt',
      host: endpoint.host,
      hostname: endpoint.host,
      port: endpoint.port,
      // mqtt.connect reads the same variable; the connectors then go through the SOCKS proxy.
      ...(process.env['MQTTJS_SOCKS_PROXY'] === undefined ? {} : { socksProxy: process.env['MQTTJS_SOCKS_PROXY'] }),
    };
    // The connectors write defaults into the options they get: each attempt gets its own copy.
    const client = new core.MqttClient((c) => build(c, { ...base }), base);
    client.on('error', () => undefined); // as mqtt.connect does: errors reach the session's own listener
    return client;
  };
}

/**
 * mqtt.js over any duplex stream (the simulator's in-memory pairs, a socket made elsewhere): `createStream` is
 * called once per connection attempt; a throw or an error on the stream is a failed attempt.
 */
export function mqttJsStreamTransport(
  createStream: () => Duplex,
  options: { readonly endpoint?: string } = {},
): MqttTransport {
  const endpoint = options.endpoint ?? 'stream';
  return {
    kind: 'mqtt.js',
    endpoint,
    open: async (request, events, signal) => {
      const mqtt = await loadMqttJs();
      return openSession(
        () => new mqtt.MqttClient(() => createStream(), sessionOptions(request)),
        endpoint,
        events,
        signal,
      );
    },
  };
}

function openSession(
  createClient: () => MqttClient,
  endpoint: string,
  events: SessionEvents,
  signal: AbortSignal,
  noLocal = false,
): Promise<TransportSession> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReasonOf(signal));
      return;
    }
    let client: MqttClient;
    try {
      client = createClient();
    } catch (e) {
      reject(connectErrorOf(e, endpoint));
      return;
    }
    let phase: 'connecting' | 'connected' | 'over' = 'connecting';
    let lastError: unknown;
    const failConnect = (error: Error): void => {
      if (phase !== 'connecting') return;
      phase = 'over';
      signal.removeEventListener('abort', onAbort);
      client.end(true);
      reject(error);
    };
    const onAbort = (): void => failConnect(abortReasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });

    // MQTT.js sends the PUBACK when the callback runs without an error, and reads no further packet until it
    // runs. A QoS 1 message's callback therefore gets HELD_BACK (MQTT.js then sends nothing and reads on), and its
    // PUBACK goes out from here in arrival order once handled. An ordered message still holds reading back until
    // handled; a pipelined one only while MAX_HELD_ACKS acks are waiting (the backpressure that bounds memory).
    const acks = new InOrderAcks();
    client.handleMessage = (packet, callback) => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      const handling = events.message({ topic: packet.topic, payload, qos: packet.qos });
      const { messageId } = packet;
      if (packet.qos !== 1 || messageId === undefined) {
        if (handling === undefined || handling.pipelined) callback();
        else
          handling.settled.then(
            () => callback(),
            () => callback(),
          );
        return;
      }
      acks.add(handling?.settled, () => {
        // After the session dropped the broker redelivers instead; a PUBACK now would go to a new session.
        if (phase === 'connected')
          (client as unknown as PacketWriter)._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 }, noop);
      });
      const readOn = (): void => callback(HELD_BACK);
      if (handling === undefined) readOn();
      else if (handling.pipelined) void acks.room(MAX_HELD_ACKS).then(readOn);
      else handling.settled.then(readOn, readOn);
    };
    client.on('error', (e) => {
      lastError = e;
      // A CONNACK refusal or TLS alert settles the attempt at once; a socket error waits for 'close'.
      if (
        phase === 'connecting' &&
        (numericCodeOf(e) !== undefined || connectErrorOf(e, endpoint).code === 'NotAuthorized')
      )
        failConnect(connectErrorOf(e, endpoint));
    });
    client.on('close', () => {
      if (phase === 'connecting') {
        failConnect(
          lastError === undefined
            ? new MqttClientError(
                'ConnectFailed',
                `${endpoint} closed the connection before CONNACK (certificate refused?)`,
              )
            : connectErrorOf(lastError, endpoint),
        );
        return;
      }
      if (phase !== 'connected') return;
      phase = 'over';
      client.end(true);
      const why = lastError instanceof Error ? lastError.message : 'closed';
      events.lost(new MqttClientError('ConnectFailed', `connection to ${endpoint} lost: ${why}`, { cause: lastError }));
    });
    client.on('connect', (connack) => {
      if (phase !== 'connecting') return;
      phase = 'connected';
      lastError = undefined;
      signal.removeEventListener('abort', onAbort);
      resolve(mqttJsSession(client, connack.sessionPresent, () => phase === 'connected', noLocal));
    });
  });
}

function mqttJsSession(
  client: MqttClient,
  sessionPresent: boolean,
  up: () => boolean,
  noLocal: boolean,
): TransportSession {
  const protocolVersion = client.options.protocolVersion === 5 ? 5 : 4;
  const nl = noLocal && protocolVersion === 5; // No Local does not exist before MQTT 5
  return {
    protocolVersion,
    sessionPresent,
    acksAfterHandler: true,
    subscribe: (requests) =>
      new Promise((resolve, reject) => {
        // An object (not an array of names) so each filter keeps its own QoS.
        const wanted: Record<string, { qos: 0 | 1; nl?: boolean }> = {};
        for (const r of requests) wanted[r.filter] = nl ? { qos: r.qos, nl: true } : { qos: r.qos };
        client.subscribe(wanted, (err, sent, suback) => {
          // A SUBACK failure code (0x80 and up) comes as an error carrying the SUBACK packet; its codes are in
          // the order MQTT.js sent the filters (`sent`), which need not be the order of `requests`.
          const packet = err ? (err as { packet?: { granted?: unknown } }).packet : suback;
          const codes = packet?.granted;
          if (!Array.isArray(codes) || sent === undefined || codes.length !== sent.length) {
            reject(err ?? new Error('SUBACK without a reason code per filter'));
            return;
          }
          const codeOf = new Map(sent.map((s, i): [string, unknown] => [s.topic, codes[i]]));
          resolve(requests.map((r) => subscribeOutcomeOf(r.filter, codeOf.get(r.filter))));
        });
      }),
    unsubscribe: (filter) =>
      new Promise((resolve, reject) => {
        client.unsubscribe(filter, (err) => (err ? reject(err) : resolve()));
      }),
    publish: (topic, payload, qos) =>
      new Promise((resolve, reject) => {
        client.publish(topic, payload, { qos }, (err, packet) => {
          const reason =
            numericCodeOf(err) ?? (packet !== undefined && 'reasonCode' in packet ? packet.reasonCode : undefined);
          if (reason !== undefined && reason >= 0x80)
            reject(new MqttClientError('PublishRefused', `broker refused publish to ${topic} (reason ${reason})`));
          else if (err) {
            // Still up: MQTT.js itself refused the packet (e.g. over the broker's maximum packet size).
            reject(
              up() && client.connected && !client.disconnecting
                ? new MqttClientError('PublishRefused', `publish to ${topic}: ${err.message}`)
                : err,
            );
          } else resolve();
        });
      }),
    end: () => client.endAsync(false),
    destroy: () => {
      client.end(true);
    },
  };
}
