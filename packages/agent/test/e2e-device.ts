/**
 * A device for the end-to-end tests: directory slots provisioned with http-service 1.0.0, an agent configuration
 * file, and the agent as a real process (`node --conditions=source --import tsx src/main.ts`) whose JSON log lines
 * the test reads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import {
  buildBundle,
  deriveTestPrivateKey,
  loadTrustStore,
  packDirectory,
  unpackBundleFile,
  type BundleSigner,
} from '@otafleet/bundle';
import { DirectorySlotBackend, provisionDirectorySlots, slotContentsOf, type SlotState } from '@otafleet/agent';
import { buildSamples, TEST_KEY_PASSPHRASE, type BuiltSample } from '../../../firmware-bundles/build.js';
import type { E2eCore } from './e2e-core.js';
import { freePort } from './e2e-helpers.js';

const AGENT_DIR = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE_APP = fileURLToPath(new URL('../../../firmware-bundles/http-service/', import.meta.url));
export const silent = pino({ level: 'silent' });

export interface Samples {
  readonly dir: string;
  readonly trustPath: string;
  readonly byVersion: (version: string) => BuiltSample & { readonly path: string };
}

export async function buildSampleBundles(): Promise<Samples> {
  const dir = await mkdtemp(join(tmpdir(), 'agent-e2e-bundles-'));
  const built = await buildSamples(dir);
  return {
    dir,
    trustPath: join(dir, 'trust.json'),
    byVersion(version) {
      const s = built.find((b) => b.name === 'http-service' && b.version === version && !b.file.includes('p256'));
      if (s === undefined) throw new Error(`no http-service ${version} sample`);
      return { ...s, path: join(dir, s.file) };
    },
  };
}

/** An http-service bundle built here, for the refusal cases (other hardware, expired, unsigned, downgrade). */
export async function buildCustomBundle(
  dir: string,
  o: {
    readonly version: string;
    readonly securityVersion: number;
    readonly hardware?: readonly string[];
    readonly expiresAt?: string;
    readonly createdAt?: string;
    readonly signed?: boolean;
    /** Extra bytes of incompressible filler in the app, for downloads that take a while. */
    readonly padBytes?: number;
  },
): Promise<{ path: string; sha256: string; size: number }> {
  const signer: BundleSigner = {
    keyId: 'otafleet-test-ed25519',
    algorithm: 'ed25519',
    privateKey: deriveTestPrivateKey('ed25519', TEST_KEY_PASSPHRASE),
  };
  const work = await mkdtemp(join(dir, 'custom-'));
  const app = join(work, 'app');
  await mkdir(app);
  await cp(join(SAMPLE_APP, 'server.js'), join(app, 'server.js'));
  await writeFile(
    join(app, 'app.json'),
    JSON.stringify({ name: 'http-service', version: o.version, behavior: 'healthy' }),
  );
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'http-service', version: o.version, private: true, type: 'module' }),
  );
  if (o.padBytes !== undefined) await writeFile(join(app, 'filler.bin'), randomBytes(o.padBytes));
  const tar = join(work, 'app.tar');
  const { entries } = await packDirectory(app, tar, { mtime: new Date('2026-01-01T00:00:00Z') });
  const out = join(work, 'bundle.otab');
  await buildBundle(
    {
      name: 'http-service',
      version: o.version,
      securityVersion: o.securityVersion,
      compatibleHardware: [...(o.hardware ?? ['generic-linux'])],
      installType: 'app-dir',
      createdAt: o.createdAt ?? '2026-01-01T00:00:00Z',
      expiresAt: o.expiresAt ?? '2036-01-01T00:00:00Z',
      minAgentVersion: '0.1.0',
      keyId: signer.keyId,
      signatureAlgorithm: signer.algorithm,
      payloads: [{ name: 'app.tar', kind: 'tar', path: tar, entries }],
    },
    o.signed === false ? null : signer,
    out,
  );
  const bytes = await readFile(out);
  return { path: out, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength };
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[];
  /** Resolves with the first log line (already seen or to come) that matches. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface E2eDevice {
  readonly thing: string;
  readonly root: string;
  readonly dataDir: string;
  readonly configPath: string;
  readonly appPort: number;
  /**
   * Starts the agent from this checkout's sources; `command` starts another form of it instead (e.g. the device
   * build's `bin/otaagent.js run`), given the config path.
   */
  start(env?: Readonly<Record<string, string>>, command?: (configPath: string) => readonly string[]): AgentProcess;
  slots(): Promise<SlotState>;
  /** What the application answers on `/` ("http-service 1.1.0"), or undefined when nothing listens. */
  appServes(): Promise<string | undefined>;
}

export async function createE2eDevice(o: {
  readonly thing: string;
  readonly samples: Samples;
  readonly mqttPort: number;
  readonly credentials: { certPath: string; keyPath: string; caPath: string };
  readonly appPort: number;
  readonly hardwareType?: string;
}): Promise<E2eDevice> {
  const base = await mkdtemp(join(tmpdir(), `agent-e2e-${o.thing}-`));
  const root = join(base, 'app');
  const dataDir = join(base, 'data');
  const factory = o.samples.byVersion('1.0.0');
  const trust = await loadTrustStore(o.samples.trustPath);
  const unpacked = join(base, 'factory');
  const { bundle } = await unpackBundleFile(factory.path, unpacked, { trust });
  await provisionDirectorySlots({
    root,
    logger: silent,
    factory: { source: { kind: 'directory', path: unpacked }, contents: slotContentsOf(bundle) },
  });
  const configPath = join(base, 'agent.json');
  await writeFile(
    configPath,
    JSON.stringify({
      thingName: o.thing,
      hardwareType: o.hardwareType ?? 'generic-linux',
      dataDir,
      broker: {
        kind: 'mqtt',
        url: `mqtts://127.0.0.1:${o.mqttPort}`,
        caFile: o.credentials.caPath,
        certFile: o.credentials.certPath,
        keyFile: o.credentials.keyPath,
      },
      slots: { kind: 'directory', root },
      trustStore: o.samples.trustPath,
      application: { command: [process.execPath, 'server.js'], port: o.appPort },
      logLevel: 'debug',
    }),
  );
  return {
    thing: o.thing,
    root,
    dataDir,
    configPath,
    appPort: o.appPort,
    start(env = {}, command) {
      // Its own process group: when the agent dies by SIGKILL, the test kills the group, as a power cut (or
      // systemd's cgroup) would also end the application it ran.
      const child = spawn(
        process.execPath,
        command?.(configPath) ?? ['--conditions=source', '--import', 'tsx', 'src/main.ts', '--config', configPath],
        {
          cwd: AGENT_DIR,
          env: { ...process.env, LOG_FORMAT: 'json', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        },
      );
      const logs: Record<string, unknown>[] = [];
      const waiters: {
        match: (l: Record<string, unknown>) => boolean;
        resolve: (l: Record<string, unknown>) => void;
      }[] = [];
      const onLine = (text: string): void => {
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text) as Record<string, unknown>;
        } catch {
          line = { msg: text, raw: true };
        }
        logs.push(line);
        for (const w of waiters.splice(0)) {
          if (w.match(line)) w.resolve(line);
          else waiters.push(w);
        }
      };
      createInterface({ input: child.stdout }).on('line', onLine);
      createInterface({ input: child.stderr }).on('line', (t) => onLine(JSON.stringify({ stderr: t })));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => {
          killGroup(child.pid);
          resolve({ code, signal });
        }),
      );
      return {
        child,
        logs,
        exited,
        waitForLog(match, timeoutMs = 60_000) {
          const seen = logs.find(match);
          if (seen !== undefined) return Promise.resolve(seen);
          return new Promise((resolve, reject) => {
            const timer = setTimeout(
              () =>
                reject(new Error(`no matching log line in ${timeoutMs} ms; last: ${JSON.stringify(logs.slice(-5))}`)),
              timeoutMs,
            );
            waiters.push({
              match,
              resolve: (l) => {
                clearTimeout(timer);
                resolve(l);
              },
            });
            void exited.then(() => {
              setTimeout(() => {
                clearTimeout(timer);
                reject(
                  new Error(`the agent exited before a matching log line; last: ${JSON.stringify(logs.slice(-8))}`),
                );
              }, 200);
            });
          });
        },
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      };
    },
    slots: () => new DirectorySlotBackend({ root, logger: silent, restart: () => undefined }).state(),
    async appServes() {
      try {
        const res = await fetch(`http://127.0.0.1:${o.appPort}/`, { signal: AbortSignal.timeout(2_000) });
        return (await res.text()).trim();
      } catch {
        return undefined;
      }
    },
  };
}

/** A device enrolled in the core (its own certificate) and provisioned with the factory release, on a free port. */
export async function enrolledE2eDevice(
  core: Pick<E2eCore, 'addDevice' | 'mqttPort'>,
  samples: Samples,
  thing: string,
): Promise<E2eDevice> {
  const credentials = await core.addDevice(thing);
  return createE2eDevice({ thing, samples, mqttPort: core.mqttPort, credentials, appPort: await freePort() });
}

/** An install job document for http-service, with checks on the app's own port. */
export function installDocument(
  bundle: {
    readonly version: string;
    readonly securityVersion: number;
    readonly url: string;
    readonly size: number;
    readonly sha256: string;
  },
  appPort: number,
  extra: {
    readonly deadlineSeconds?: number;
    readonly maxBootAttempts?: number;
    readonly install?: unknown;
    readonly maxRetries?: number;
  } = {},
): unknown {
  return {
    operation: 'ota.install',
    schemaVersion: 2,
    component: 'application',
    bundle: { name: 'http-service', version: bundle.version, securityVersion: bundle.securityVersion },
    download: {
      url: bundle.url,
      size: bundle.size,
      sha256: bundle.sha256,
      ...(extra.maxRetries === undefined ? {} : { maxRetries: extra.maxRetries }),
    },
    install: extra.install ?? { mode: 'immediate' },
    healthChecks: {
      deadlineSeconds: extra.deadlineSeconds ?? 30,
      requiredPasses: 2,
      intervalSeconds: 1,
      checks: [{ kind: 'http', url: `http://127.0.0.1:${appPort}/health` }, { kind: 'process' }],
    },
    rollback: { mode: 'automatic', maxBootAttempts: extra.maxBootAttempts ?? 3 },
  };
}

export function previousSlotDocument(appPort: number, expectedVersion?: string): unknown {
  return {
    operation: 'ota.rollback',
    schemaVersion: 2,
    component: 'application',
    target: { kind: 'previous-slot', ...(expectedVersion === undefined ? {} : { expectedVersion }) },
    reason: 'back to the earlier release (e2e)',
    healthChecks: {
      deadlineSeconds: 30,
      requiredPasses: 2,
      intervalSeconds: 1,
      checks: [{ kind: 'http', url: `http://127.0.0.1:${appPort}/health` }],
    },
    rollback: { mode: 'automatic', maxBootAttempts: 3 },
  };
}
