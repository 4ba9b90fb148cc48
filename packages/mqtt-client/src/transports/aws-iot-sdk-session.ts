/**
 * The aws-iot-device-sdk-v2 sessions. Imported only through `import()` in aws-iot-sdk.ts: importing this file
 * loads aws-crt's native binary.
 */
import { io, iot, mqtt, mqtt5 } from 'aws-iot-device-sdk-v2';
import { abortReasonOf, MqttClientError, subscribeOutcomeOf } from '../errors.js';
import { InOrderAcks } from '../in-order-acks.js';
import type { SessionEvents, SessionRequest, SubscribeOutcome, TransportSession } from '../transport.js';
import type { ResolvedSdkOptions } from './aws-iot-sdk-options.js';
import { crtConnectErrorOf, isCrtValidationError } from './crt-errors.js';

// The SDK's own reconnection must never run: one hour between its retries, and we stop it first.
const NEVER_MS = 3_600_000;
const REFUSED = 0x80;

const socketOptions = (options: ResolvedSdkOptions): io.SocketOptions =>
  new io.SocketOptions(
    io.SocketType.STREAM,
    options.host.includes(':') ? io.SocketDomain.IPV6 : io.SocketDomain.IPV4,
    options.socketTimeoutMs,
  );

const bufferOf = (payload: unknown): Buffer =>
  Buffer.isBuffer(payload)
    ? payload
    : payload instanceof ArrayBuffer
      ? Buffer.from(payload)
      : ArrayBuffer.isView(payload)
        ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
        : Buffer.from(String(payload));

const lostError = (endpoint: string, e: unknown): MqttClientError =>
  new MqttClientError(
    'ConnectFailed',
    `connection to ${endpoint} lost: ${e instanceof Error ? e.message : String(e)}`,
    {
      cause: e,
    },
  );

/** aws-crt's refusal to send an operation on a topic it finds invalid, as the broker's refusal would read. */
const crtRefusal = (
  e: unknown,
  code: 'SubscribeRefused' | 'PublishRefused',
  topic: string,
): MqttClientError | undefined =>
  isCrtValidationError(e)
    ? new MqttClientError(
        code,
        `aws-crt refused the operation on ${topic}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      )
    : undefined;

const refusedIfInvalid = (e: unknown, code: 'SubscribeRefused' | 'PublishRefused', topic: string): never => {
  throw crtRefusal(e, code, topic) ?? (e instanceof Error ? e : new Error(String(e)));
};

/** A filter aws-crt refused to send is refused; any other failure means the connection went away. */
const refusalOrThrow = (e: unknown, filter: string): SubscribeOutcome => {
  const refusal = crtRefusal(e, 'SubscribeRefused', filter);
  if (refusal === undefined) throw e instanceof Error ? e : new Error(String(e));
  return refusal;
};

/** MQTT 5 through Mqtt5Client: manual PUBACK control, so a handler's promise holds the acknowledgement back. */
export function openMqtt5Session(
  options: ResolvedSdkOptions,
  endpoint: string,
  request: SessionRequest,
  events: SessionEvents,
  signal: AbortSignal,
): Promise<TransportSession> {
  const will = request.will;
  const builder = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromMemory(
    options.host,
    options.cert,
    options.key,
  )
    .withPort(options.port)
    .withSocketOptions(socketOptions(options))
    .withConnectProperties({
      clientId: request.clientId,
      keepAliveIntervalSeconds: request.keepaliveSeconds,
      ...(request.clean ? {} : { sessionExpiryIntervalSeconds: request.sessionExpirySeconds }),
      ...(will === undefined
        ? {}
        : {
            will: {
              topicName: will.topic,
              payload: bufferOf(will.payload),
              qos: will.qos === 0 ? mqtt5.QoS.AtMostOnce : mqtt5.QoS.AtLeastOnce,
              retain: will.retain ?? false,
            },
          }),
    })
    .withSessionBehavior(request.clean ? mqtt5.ClientSessionBehavior.Clean : mqtt5.ClientSessionBehavior.RejoinAlways)
    .withRetryJitterMode(mqtt5.RetryJitterType.None)
    .withMinReconnectDelayMs(NEVER_MS)
    .withMaxReconnectDelayMs(NEVER_MS)
    .withConnackTimeoutMs(request.connectTimeoutMs)
    .withOfflineQueueBehavior(mqtt5.ClientOperationQueueBehavior.FailAllOnDisconnect);
  if (options.ca !== undefined) builder.withCertificateAuthority(options.ca);
  const client = new mqtt5.Mqtt5Client(builder.build());

  let phase: 'connecting' | 'connected' | 'over' = 'connecting';
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    client.once('stopped', () => client.close());
    client.stop();
  };
  client.on('error', () => undefined); // failures arrive as connectionFailure / disconnection too

  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      if (phase !== 'connecting') return;
      phase = 'over';
      release();
      reject(abortReasonOf(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    client.on('connectionFailure', (e) => {
      if (phase !== 'connecting') return;
      phase = 'over';
      signal.removeEventListener('abort', onAbort);
      release();
      reject(crtConnectErrorOf(e.error, e.connack?.reasonCode, 5, endpoint));
    });
    client.on('disconnection', (e) => {
      if (phase !== 'connected') return;
      phase = 'over';
      release();
      events.lost(lostError(endpoint, e.error));
    });
    // aws-crt delivers every message at once (no read to hold back); the acks go out in arrival order.
    const acks = new InOrderAcks();
    client.on('messageReceived', (e) => {
      // Taken now, during the emit, or the client acknowledges by itself when the listeners return.
      const ack = e.acknowledgementControl?.acquireHandle() ?? null;
      const handling = events.message({
        topic: e.message.topicName,
        payload: bufferOf(e.message.payload),
        qos: e.message.qos,
      });
      if (ack !== null) acks.add(handling?.settled, () => ack.invokeAcknowledgement());
    });
    client.on('connectionSuccess', (e) => {
      if (phase !== 'connecting') return;
      phase = 'connected';
      signal.removeEventListener('abort', onAbort);
      resolve({
        protocolVersion: 5,
        sessionPresent: e.connack.sessionPresent,
        acksAfterHandler: true,
        async subscribe(requests) {
          const one = async (subscriptions: readonly { topicFilter: string; qos: 0 | 1 }[]) =>
            (await client.subscribe({ subscriptions: [...subscriptions] })).reasonCodes;
          const asked = requests.map((r) => ({ topicFilter: r.filter, qos: r.qos }));
          let codes: readonly unknown[];
          try {
            codes = await one(asked);
          } catch (e) {
            // aws-crt checks every filter before sending and refuses the whole SUBSCRIBE for one bad filter:
            // then each goes alone, so only that one is refused.
            if (requests.length === 1 || !isCrtValidationError(e)) return [refusalOrThrow(e, requests[0]!.filter)];
            return Promise.all(
              asked.map((a) =>
                one([a]).then(
                  (c) => subscribeOutcomeOf(a.topicFilter, c[0]),
                  (err: unknown) => refusalOrThrow(err, a.topicFilter),
                ),
              ),
            );
          }
          return requests.map((r, i) => subscribeOutcomeOf(r.filter, codes[i]));
        },
        async unsubscribe(filter) {
          await client.unsubscribe({ topicFilters: [filter] });
        },
        async publish(topic, payload, qos) {
          const puback = await client
            .publish({ topicName: topic, payload, qos })
            .catch((e: unknown) => refusedIfInvalid(e, 'PublishRefused', topic));
          const reason = puback?.reasonCode;
          if (reason !== undefined && Number(reason) >= REFUSED)
            throw new MqttClientError('PublishRefused', `broker refused publish to ${topic} (reason ${reason})`);
        },
        end: () =>
          new Promise<void>((done) => {
            phase = 'over';
            if (released) {
              done();
              return;
            }
            released = true;
            client.once('stopped', () => {
              client.close();
              done();
            });
            client.stop({ reasonCode: mqtt5.DisconnectReasonCode.NormalDisconnection });
          }),
        destroy: () => {
          phase = 'over';
          release();
        },
      });
    });
    client.start();
  });
}

/**
 * MQTT 3.1.1 through MqttClientConnection. aws-crt acknowledges QoS 1 on receipt here (no manual PUBACK), so
 * handlers cannot hold the acknowledgement back: acksAfterHandler is false.
 */
export async function openMqtt311Session(
  options: ResolvedSdkOptions,
  endpoint: string,
  request: SessionRequest,
  events: SessionEvents,
  signal: AbortSignal,
): Promise<TransportSession> {
  const will = request.will;
  const builder = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder(options.cert, options.key)
    .with_endpoint(options.host)
    .with_port(options.port)
    .with_client_id(request.clientId)
    .with_clean_session(request.clean)
    .with_keep_alive_seconds(request.keepaliveSeconds)
    .with_socket_options(socketOptions(options)) // required: without it the connection is not constructed
    // After an interruption the CRT completes disconnect() only when its next retry is due: keep that short.
    .with_reconnect_min_sec(1)
    .with_reconnect_max_sec(1);
  if (options.ca !== undefined) builder.with_certificate_authority(options.ca);
  if (will !== undefined)
    builder.with_will(
      new mqtt.MqttWill(
        will.topic,
        will.qos === 0 ? mqtt.QoS.AtMostOnce : mqtt.QoS.AtLeastOnce,
        bufferOf(will.payload),
        will.retain ?? false,
      ),
    );
  const connection = new mqtt.MqttClient().new_connection(builder.build());
  connection.on('error', () => undefined); // operation failures also reject their promises

  let phase: 'connecting' | 'connected' | 'over' = 'connecting';
  let released = false;
  const release = (): Promise<void> => {
    if (released) return Promise.resolve();
    released = true;
    return connection.disconnect().catch(() => undefined);
  };
  // The CRT reconnected by itself before our disconnect took hold: that session is not ours, end it.
  connection.on('resume', () => {
    if (phase === 'over') void connection.disconnect().catch(() => undefined);
  });
  connection.on('interrupt', (e) => {
    if (phase !== 'connected') return;
    phase = 'over';
    void release();
    events.lost(lostError(endpoint, e));
  });
  connection.on('message', (topic, payload, _dup, qos) => {
    events.message({ topic, payload: bufferOf(payload), qos });
  });

  const aborted = new Promise<never>((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(abortReasonOf(signal)), { once: true });
  });
  // connect() rejects with a bare string; the same failure comes as a CrtError (error_name, error_code) on
  // 'connection_failure', which is what gets classified.
  let failure: unknown;
  connection.on('connection_failure', (e: { error?: unknown }) => {
    failure ??= e.error;
  });
  let sessionPresent: boolean;
  try {
    sessionPresent = await Promise.race([connection.connect(), aborted]);
  } catch (e) {
    phase = 'over';
    if (!signal.aborted && failure === undefined) await new Promise((resolve) => setImmediate(resolve));
    void release();
    throw signal.aborted ? abortReasonOf(signal) : crtConnectErrorOf(failure ?? e, undefined, 4, endpoint);
  }
  phase = 'connected';
  return {
    protocolVersion: 4,
    sessionPresent,
    acksAfterHandler: false,
    // aws-crt's MQTT 3.1.1 connection subscribes one filter per SUBSCRIBE.
    subscribe: (requests) =>
      Promise.all(
        requests.map((r) =>
          connection.subscribe(r.filter, r.qos === 0 ? mqtt.QoS.AtMostOnce : mqtt.QoS.AtLeastOnce).then(
            (granted) => subscribeOutcomeOf(r.filter, granted.qos),
            (e: unknown) => refusalOrThrow(e, r.filter),
          ),
        ),
      ),
    async unsubscribe(filter) {
      await connection.unsubscribe(filter);
    },
    async publish(topic, payload, qos) {
      await connection
        .publish(topic, payload, qos === 0 ? mqtt.QoS.AtMostOnce : mqtt.QoS.AtLeastOnce)
        .catch((e: unknown) => refusedIfInvalid(e, 'PublishRefused', topic));
    },
    end: () => {
      phase = 'over';
      return release();
    },
    destroy: () => {
      phase = 'over';
      void release();
    },
  };
}
