import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aedesTcp, aedesTls, THING } from './brokers.js';
import { createTestPki, type TestPki } from './iot-core-test-helpers.js';

/**
 * Each transport's library is loaded only when that transport connects: a process that talks mqtt.js never maps
 * aws-crt's native binary, and one that talks through the SDK never loads mqtt.js. Each probe is a real process (the memory figures are printed, not asserted: memory
 * targets live in benchmarks).
 */
const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));

interface ProbeResult {
  readonly mode: string;
  readonly rss: number;
  readonly crtLoaded: boolean;
  readonly mqttJsLoaded: boolean;
}

const probe = async (args: readonly string[]): Promise<ProbeResult> => {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--conditions=source', '--import', 'tsx', join(here, 'memory-probe.ts'), ...args],
    { cwd: here, timeout: 60_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ProbeResult;
};

let pki: TestPki;
let tcp: Awaited<ReturnType<typeof aedesTcp>>;
let tls: Awaited<ReturnType<typeof aedesTls>>;
beforeAll(async () => {
  pki = await createTestPki([THING]);
  tcp = await aedesTcp();
  tls = await aedesTls(pki);
});
afterAll(async () => {
  await tcp?.stop();
  await tls?.stop();
  await pki?.cleanup();
});

describe('transport libraries are loaded lazily', () => {
  it('a process connected with mqtt.js has no aws-crt; one connected with the SDK has it and no mqtt.js', async () => {
    const device = pki.device(THING);
    const [viaMqttJs, viaSdk] = await Promise.all([
      probe(['mqtt.js', `mqtt://127.0.0.1:${tcp.port}`]),
      probe(['sdk', '127.0.0.1', String(tls.port), device.paths.caPath, device.paths.certPath, device.paths.keyPath]),
    ]);
    expect(viaMqttJs).toMatchObject({ mode: 'mqtt.js', crtLoaded: false, mqttJsLoaded: true });
    expect(viaSdk).toMatchObject({ mode: 'sdk', crtLoaded: true, mqttJsLoaded: false });
    const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
    console.log(
      `idle RSS after connecting (tsx, sources): mqtt.js ${mb(viaMqttJs.rss)}, aws-iot-device-sdk-v2 ${mb(viaSdk.rss)}`,
    );
  }, 120_000);
});
