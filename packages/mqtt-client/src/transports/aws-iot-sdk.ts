import { MqttClientError } from '../errors.js';
import type { MqttTransport } from '../transport.js';
import type { AwsIotSdkTransportOptions } from './aws-iot-sdk-options.js';
import type * as SdkSession from './aws-iot-sdk-session.js';

export type { AwsIotSdkTransportOptions } from './aws-iot-sdk-options.js';

/** What the lazily loaded module (aws-iot-sdk-session.ts) offers. */
export type SdkSessionModule = typeof SdkSession;

let loading: Promise<SdkSessionModule> | undefined;

/** A platform without aws-crt's native binary cannot use this transport: closed for good, not retried. */
const loadSdk = (): Promise<SdkSessionModule> =>
  import('./aws-iot-sdk-session.js').catch((e: unknown) => {
    throw new MqttClientError(
      'InvalidOptions',
      `the aws-iot-device-sdk-v2 transport cannot load the SDK (${e instanceof Error ? e.message : String(e)}): ` +
        'install aws-iot-device-sdk-v2 for this platform, or use mqttJsTransport',
      { cause: e },
    );
  });

/**
 * aws-iot-device-sdk-v2 (aws-crt) over mutual TLS: MQTT 5 through its Mqtt5Client, 3.1.1 through its
 * MqttClientConnection, one native client per connection attempt with the SDK's own reconnection held off
 * (the connection owns backoff). The SDK and its native binary are imported on the first attempt only, so a
 * process that never selects this transport does not load them.
 */
export function awsIotSdkTransport(options: AwsIotSdkTransportOptions): MqttTransport {
  if (typeof options.host !== 'string' || options.host.length === 0)
    throw new MqttClientError('InvalidOptions', 'host must be the broker host name (the AWS IoT data endpoint)');
  if (typeof options.cert !== 'string' || typeof options.key !== 'string' || !options.cert.includes('-----BEGIN '))
    throw new MqttClientError('InvalidOptions', 'cert and key must be PEM text (the device certificate and its key)');
  const port = options.port ?? 8883;
  if (!Number.isInteger(port) || port <= 0 || port > 65_535)
    throw new MqttClientError('InvalidOptions', `port must be 1..65535, got ${port}`);
  const endpoint = `mqtts://${options.host}:${port}`;
  const resolved = { ...options, port, socketTimeoutMs: options.socketTimeoutMs ?? 10_000 };
  return {
    kind: 'aws-iot-device-sdk-v2',
    endpoint,
    async open(request, events, signal) {
      const sdk = await (loading ??= loadSdk());
      if (signal.aborted) throw signal.reason;
      return request.protocolVersion === 5
        ? sdk.openMqtt5Session(resolved, endpoint, request, events, signal)
        : sdk.openMqtt311Session(resolved, endpoint, request, events, signal);
    },
  };
}
