/**
 * The virtual fleet's test stack: a local IoT core (startTestCore, its embedded broker reached through in-memory
 * identity streams), a local HTTP server with real signed bundles, jobs created with @aws-sdk/client-iot.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateJobCommand,
  CreateThingCommand,
  DescribeJobExecutionCommand,
  type IoTClient,
  type JobExecution,
} from '@aws-sdk/client-iot';
import { buildBundle, deriveTestPrivateKey, publicKeyPemOf, type BundleSigner } from '@otafleet/bundle';
import { startTestCore, silentLogger, type TestCore } from '@otafleet/iot-core/testing';
import { inMemoryAttachment, type BrokerAttachment, type DeviceFaults, type VirtualDeviceSpec } from '../src/index.js';

export const HARDWARE = 'sim-board';

/** A device of the harness's hardware on 1.0.0 with these faults. */
export const deviceSpec = (
  thingName: string,
  faults: DeviceFaults,
  extra: Partial<VirtualDeviceSpec> = {},
): VirtualDeviceSpec => ({ thingName, hardwareType: HARDWARE, startVersion: '1.0.0', faults, ...extra });

export interface ServedBundle {
  readonly version: string;
  readonly url: string;
  readonly size: number;
  readonly sha256: string;
}

export interface FleetStack {
  readonly testCore: TestCore;
  readonly iot: IoTClient;
  readonly dir: string;
  readonly trustSetJson: string;
  /** In-memory identity streams to the core's embedded broker. */
  readonly broker: BrokerAttachment;
  /** A signed bundle of release `version` (name 'app', image payload) on the HTTP server. */
  bundle(version: string): Promise<ServedBundle>;
  /** Counts GETs per bundle file, to see the shared cache at work. */
  readonly requests: Map<string, number>;
  addThings(names: readonly string[]): Promise<void>;
  createJob(jobId: string, things: readonly string[], document: unknown): Promise<void>;
  waitForExecution(
    jobId: string,
    thing: string,
    done: (e: JobExecution) => boolean,
    timeoutMs?: number,
  ): Promise<JobExecution>;
  close(): Promise<void>;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'REJECTED', 'CANCELED', 'TIMED_OUT', 'REMOVED']);
export const isTerminal = (e: JobExecution): boolean => TERMINAL.has(e.status ?? '');

const signer: BundleSigner = {
  keyId: 'sim-release',
  algorithm: 'ed25519',
  privateKey: deriveTestPrivateKey('ed25519', 'sim-release'),
};

export async function startFleetStack(): Promise<FleetStack> {
  const testCore = await startTestCore({ logger: silentLogger });
  const { core, config } = testCore;
  const embedded = core.broker;
  if (embedded === undefined) throw new Error('the test core runs no embedded broker');
  const iot = testCore.iotClient();
  const dir = await mkdtemp(join(tmpdir(), 'sim-fleet-'));
  const files = new Map<string, Buffer>();
  const requests = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    const body = files.get(name);
    requests.set(name, (requests.get(name) ?? 0) + 1);
    if (body === undefined) return void res.writeHead(404).end();
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range !== null) {
      const from = Number(range[1]);
      res.writeHead(206, {
        'content-length': body.byteLength - from,
        'content-range': `bytes ${from}-${body.byteLength - 1}/${body.byteLength}`,
      });
      return void res.end(body.subarray(from));
    }
    res.writeHead(200, { 'content-length': body.byteLength, 'accept-ranges': 'bytes' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const thingArn = (t: string): string => `arn:aws:iot:${config.region}:${config.accountId}:thing/${t}`;
  const describe = async (jobId: string, thingName: string): Promise<JobExecution | undefined> =>
    (await iot.send(new DescribeJobExecutionCommand({ jobId, thingName }))).execution;
  const built = new Map<string, Promise<ServedBundle>>();

  return {
    testCore,
    iot,
    dir,
    requests,
    trustSetJson: JSON.stringify({
      keys: [
        {
          id: signer.keyId,
          algorithm: signer.algorithm,
          publicKey: publicKeyPemOf(signer.privateKey),
          status: 'active',
        },
      ],
    }),
    broker: inMemoryAttachment(embedded),
    bundle(version) {
      let b = built.get(version);
      if (b === undefined) {
        b = (async () => {
          const payload = join(dir, `rootfs-${version}.img`);
          await writeFile(payload, createHash('sha256').update(version).digest().toString('hex').repeat(200));
          const out = join(dir, `app-${version}.otab`);
          await buildBundle(
            {
              name: 'app',
              version,
              securityVersion: 0,
              compatibleHardware: [HARDWARE],
              installType: 'rootfs-image',
              createdAt: '2026-01-01T00:00:00Z',
              expiresAt: '2099-01-01T00:00:00Z',
              minAgentVersion: '0.1.0',
              keyId: signer.keyId,
              signatureAlgorithm: signer.algorithm,
              payloads: [{ name: 'rootfs.img', kind: 'image', path: payload }],
            },
            signer,
            out,
          );
          const { readFile } = await import('node:fs/promises');
          const bytes = await readFile(out);
          files.set(`app-${version}.otab`, bytes);
          return {
            version,
            url: `http://127.0.0.1:${port}/app-${version}.otab`,
            size: bytes.byteLength,
            sha256: createHash('sha256').update(bytes).digest('hex'),
          };
        })();
        built.set(version, b);
      }
      return b;
    },
    async addThings(names) {
      for (const thingName of names) await iot.send(new CreateThingCommand({ thingName }));
    },
    async createJob(jobId, things, document) {
      await iot.send(
        new CreateJobCommand({ jobId, targets: things.map(thingArn), document: JSON.stringify(document) }),
      );
    },
    async waitForExecution(jobId, thing, done, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      let last: JobExecution | undefined;
      while (Date.now() < until) {
        last = await describe(jobId, thing).catch(() => undefined);
        if (last !== undefined && done(last)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`execution ${jobId} on ${thing} not there in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    },
    async close() {
      await new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
      await testCore.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An ota.install job document for a served bundle (virtual health checks: one passing round). */
export function installDocument(b: ServedBundle, extra: { readonly maxRetries?: number } = {}): unknown {
  return {
    operation: 'ota.install',
    schemaVersion: 2,
    component: 'application',
    bundle: { name: 'app', version: b.version, securityVersion: 0 },
    download: {
      url: b.url,
      size: b.size,
      sha256: b.sha256,
      ...(extra.maxRetries === undefined ? {} : { maxRetries: extra.maxRetries }),
    },
    install: { mode: 'immediate' },
    healthChecks: { deadlineSeconds: 30, requiredPasses: 2, intervalSeconds: 1, checks: [{ kind: 'process' }] },
    rollback: { mode: 'automatic', maxBootAttempts: 3 },
  };
}

/** Bounded polling for a condition. */
export async function eventually<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
