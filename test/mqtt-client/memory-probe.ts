/**
 * Run as its own process by lazy-load.test.ts: connects with one transport, then prints one JSON line with
 * its resident memory, whether aws-crt's native binary is mapped into it and whether mqtt.js was loaded.
 *   node --expose-gc --conditions=source --import tsx memory-probe.ts mqtt.js <url>
 *   node --expose-gc --conditions=source --import tsx memory-probe.ts sdk <host> <port> <ca> <cert> <key>
 */
import { connectMqtt, mqttJsTransport, awsIotSdkTransport, type MqttTransport } from '@otafleet/mqtt-client';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import pino from 'pino';

const [mode, ...args] = process.argv.slice(2);
const arg = (i: number): string => {
  const value = args[i];
  if (value === undefined) throw new Error(`memory-probe: argument ${i + 1} missing`);
  return value;
};
const transport: MqttTransport =
  mode === 'sdk'
    ? awsIotSdkTransport({
        host: arg(0),
        port: Number(arg(1)),
        ca: readFileSync(arg(2), 'utf8'),
        cert: readFileSync(arg(3), 'utf8'),
        key: readFileSync(arg(4), 'utf8'),
      })
    : mqttJsTransport({ url: arg(0) });
const connection = await connectMqtt({
  transport,
  clientId: 'thing-a',
  protocolVersion: 4,
  logger: pino({ level: 'silent' }),
});
await connection.subscribe('dt/thing-a/#', () => undefined);
const gc = (globalThis as { gc?: () => void }).gc;
for (let i = 0; i < 3; i++) {
  gc?.();
  await new Promise((r) => setTimeout(r, 200));
}
const crtLoaded = readFileSync('/proc/self/maps', 'utf8').includes('aws-crt');
// mqtt.js is CommonJS: once imported it sits in the module cache (its index, or only the client and the connector the
// URL needs, as the transport loads it now).
const mqttJsLoaded = Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/mqtt/build/'));
process.stdout.write(`${JSON.stringify({ mode, rss: process.memoryUsage().rss, crtLoaded, mqttJsLoaded })}\n`);
await connection.close();
