import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { deriveTestPrivateKey, publicKeyPemOf } from '@otafleet/bundle';
import { issueDeviceToDirectory, loadConfig, startLocalCore } from '@otafleet/iot-core';
import type * as AgentModule from '../../src/index.js';

/** packages/agent, where the compiled agent (dist/) is run from, as on a device. */
export const packageDir = fileURLToPath(new URL('../..', import.meta.url));

/** Builds the package (`tsc -b`): the agent processes of a bench run the compiled code with plain node. */
export async function buildAgent(): Promise<Pick<typeof AgentModule, 'provisionDirectorySlots'>> {
  spawnSync(process.execPath, [join(packageDir, '../../node_modules/typescript/bin/tsc'), '-b', packageDir], {
    stdio: 'inherit',
  });
  if (!existsSync(join(packageDir, 'dist', 'main.js')))
    throw new Error('build of @otafleet/agent failed: no dist/main.js');
  // The compiled agent is imported only for provisioning (same code the process runs).
  return (await import(join(packageDir, 'dist', 'index.js'))) as Pick<typeof AgentModule, 'provisionDirectorySlots'>;
}

/**
 * Writes the device build (scripts/build-device.mjs, what the unit runs on a device) into .bench-tmp and returns
 * the path of its `bin/otaagent.js`.
 */
export function buildDeviceInstallation(): string {
  const out = join(packageDir, '.bench-tmp', 'device-build');
  spawnSync(process.execPath, [join(packageDir, 'scripts', 'build-device.mjs'), '--out', out], { stdio: 'inherit' });
  const cli = join(out, 'bin', 'otaagent.js');
  if (!existsSync(cli)) throw new Error('the device build failed: no bin/otaagent.js');
  return cli;
}

/** A device's environment: no NODE_PATH (pnpm sets one), through which the device build would find this checkout. */
export const DEVICE_ENV = { LOG_FORMAT: 'json', NODE_PATH: '' } as const;

export interface BenchDevice {
  readonly thing: string;
  /** mqtts:// URL of the local core's mutual-TLS listener, and its port. */
  readonly url: string;
  readonly port: number;
  readonly cred: { readonly caPath: string; readonly certPath: string; readonly keyPath: string };
  /** The agent's configuration file: directory slots, a trust store, an idle application, the mqtt.js broker. */
  readonly configPath: string;
  close(): Promise<void>;
}

/** The local IoT core (mutual TLS) and one provisioned device for it, in a fresh temporary directory. */
export async function startBenchDevice(
  thing: string,
  agent: Awaited<ReturnType<typeof buildAgent>>,
): Promise<BenchDevice> {
  const silent = pino({ level: 'silent' });
  const dir = await mkdtemp(join(tmpdir(), `agent-bench-${thing}-`));
  const core = await startLocalCore(
    loadConfig(
      ['--data-dir', join(dir, 'core'), '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'silent'],
      {},
    ),
    silent,
  );
  const cred = await issueDeviceToDirectory(core.pki.dir, thing);
  const root = join(dir, 'app');
  await agent.provisionDirectorySlots({ root, logger: silent });
  const key = deriveTestPrivateKey('ed25519', 'bench');
  const trustPath = join(dir, 'trust.json');
  await writeFile(
    trustPath,
    JSON.stringify({ keys: [{ id: 'bench', algorithm: 'ed25519', publicKey: publicKeyPemOf(key), status: 'active' }] }),
  );
  const port = core.mqttTlsPort ?? 0;
  const url = `mqtts://127.0.0.1:${port}`;
  const configPath = join(dir, 'agent.json');
  await writeFile(
    configPath,
    JSON.stringify({
      thingName: thing,
      hardwareType: 'generic-linux',
      dataDir: join(dir, 'data'),
      broker: { kind: 'mqtt', url, caFile: cred.caPath, certFile: cred.certPath, keyFile: cred.keyPath },
      slots: { kind: 'directory', root },
      trustStore: trustPath,
      application: { command: [process.execPath, '-e', 'setInterval(() => {}, 1e9)'] },
      logLevel: 'info',
    }),
  );
  return {
    thing,
    url,
    port,
    cred,
    configPath,
    async close() {
      await core.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A bare mqtt.js client connecting with the device's certificate; prints `connected` (then `onConnect` runs). */
export function bareMqttJsScript(d: BenchDevice, onConnect: string): string {
  const read = (p: string): string => `readFileSync(${JSON.stringify(p)})`;
  return `
    import { readFileSync } from 'node:fs';
    import mqtt from 'mqtt';
    const c = mqtt.connect(${JSON.stringify(d.url)}, { clientId: ${JSON.stringify(d.thing)}, ca: ${read(d.cred.caPath)}, cert: ${read(d.cred.certPath)}, key: ${read(d.cred.keyPath)}, reconnectPeriod: 0 });
    c.on('connect', () => { console.log('connected'); ${onConnect} });
    c.on('error', (e) => { console.error(e.message); process.exit(1); });`;
}
