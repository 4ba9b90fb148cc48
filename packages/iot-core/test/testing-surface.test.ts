import { CreateThingCommand, DescribeThingCommand } from '@aws-sdk/client-iot';
import { GetThingShadowCommand, UpdateThingShadowCommand } from '@aws-sdk/client-iot-data-plane';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { connectTls, startTestCore, tryConnectTls } from '@otafleet/iot-core/testing';

describe('@otafleet/iot-core/testing startTestCore', () => {
  it('runs a whole core in a temp dir: SDK clients, device identities over mTLS, stop() removes it', async () => {
    const t = await startTestCore();
    try {
      const iot = t.iotClient();
      await iot.send(new CreateThingCommand({ thingName: 'surface-1' }));
      expect((await iot.send(new DescribeThingCommand({ thingName: 'surface-1' }))).thingName).toBe('surface-1');

      const data = t.dataClient();
      await data.send(
        new UpdateThingShadowCommand({
          thingName: 'surface-1',
          payload: Buffer.from(JSON.stringify({ state: { desired: { v: 1 } } })),
        }),
      );
      const shadow = await data.send(new GetThingShadowCommand({ thingName: 'surface-1' }));
      expect(JSON.parse(Buffer.from(shadow.payload ?? new Uint8Array()).toString())).toMatchObject({
        state: { desired: { v: 1 } },
      });

      const device = await t.issueDevice('surface-1');
      const client = await connectTls({
        port: t.endpoints.mqttTls,
        clientId: 'surface-1',
        ca: device.caPem,
        cert: device.cert,
        key: device.key,
      });
      await client.endAsync(true);
      // Another thing's certificate with this client id is refused by the broker.
      const other = await t.issueDevice('surface-2');
      const refused = await tryConnectTls({
        port: t.endpoints.mqttTls,
        clientId: 'surface-1',
        ca: other.caPem,
        cert: other.cert,
        key: other.key,
      });
      expect(refused.ok).toBe(false);
      expect(t.endpoints.mqttTcp).toBeUndefined();
    } finally {
      await t.stop();
    }
    expect(existsSync(t.dir)).toBe(false);
    await t.stop(); // idempotent
  });

  it('logs to the logger it is given (and nowhere by default)', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const t = await startTestCore({ logger, insecureTcp: true });
    try {
      expect(t.endpoints.mqttTcp).toBeTypeOf('number');
    } finally {
      await t.stop();
    }
    expect(lines.some((l) => l.includes('INSECURE plain-TCP listener'))).toBe(true);
    expect(lines.some((l) => l.includes('DEVELOPMENT access key'))).toBe(true);
  });

  it('runs on Mosquitto 2 as the broker, the services as its privileged client', async () => {
    const t = await startTestCore({ broker: 'mosquitto' });
    try {
      expect(t.core.broker).toBeUndefined();
      const device = await t.issueDevice('mosq-surface');
      const client = await connectTls({
        port: t.endpoints.mqttTls,
        clientId: 'mosq-surface',
        ca: device.caPem,
        cert: device.cert,
        key: device.key,
      });
      const accepted = new Promise<Buffer>((resolve) =>
        client.on('message', (topic, payload) => {
          if (topic.endsWith('/shadow/update/accepted')) resolve(payload);
        }),
      );
      await client.subscribeAsync('$aws/things/mosq-surface/shadow/update/accepted', { qos: 1 });
      await client.publishAsync(
        '$aws/things/mosq-surface/shadow/update',
        JSON.stringify({ state: { reported: { up: true } }, clientToken: 'tk-1' }),
        { qos: 1 },
      );
      expect(JSON.parse((await accepted).toString())).toMatchObject({ clientToken: 'tk-1', version: 1 });
      await client.endAsync(true);
    } finally {
      await t.stop();
    }
  });
});
