import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { IoTClient } from '@aws-sdk/client-iot';
import { Agent } from 'node:http';
import { CORE_NODE_FLAGS } from '../../src/index.js';
import type { RegistryDurability } from '../../src/registry/registry-commit.js';
import { BENCH_CREDENTIALS, BENCH_REGION } from './names.js';

const SERVER = fileURLToPath(new URL('registry-server.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** How many committed batches the registry's writes took over the server's life. */
export interface WriteBatchStats {
  readonly batches: number;
  readonly writes: number;
}

export interface RegistryProcess {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly exited: Promise<number | null>;
  /** An SDK client with `inFlight` keep-alive sockets to the server. */
  client(inFlight: number): IoTClient;
  /** SIGTERM and wait (SIGKILL after 10 s); the registry's write batches, when the server got to print them. */
  stop(): Promise<WriteBatchStats | undefined>;
}

/**
 * The SDK client a provisioning script would use: one keep-alive agent with a socket per call in flight (the
 * SDK's default agent allows 50), no retries (a failure must fail the run), everything else the SDK's defaults
 * unless BENCH_SDK_CACHE_MIDDLEWARE=1 turns on the SDK's `cacheMiddleware`.
 */
export function registryClient(endpoint: string, inFlight: number): IoTClient {
  return new IoTClient({
    endpoint,
    region: BENCH_REGION,
    credentials: BENCH_CREDENTIALS,
    maxAttempts: 1,
    // The SDK's own option to resolve each command's middleware stack once instead of on every send.
    ...(process.env['BENCH_SDK_CACHE_MIDDLEWARE'] === '1' ? { cacheMiddleware: true } : {}),
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: inFlight }) },
  });
}

/** Starts bench/lib/registry-server.ts as a child process over the SQLite file at `dbPath`. */
export async function startRegistryProcess(
  dbPath: string,
  durability: RegistryDurability,
  /** Extra node flags for the server child (`--cpu-prof` …). */
  nodeArgs: readonly string[] = [],
): Promise<RegistryProcess> {
  const child = spawn(
    process.execPath,
    [
      ...CORE_NODE_FLAGS,
      ...nodeArgs,
      '--conditions=source',
      '--import',
      'tsx',
      SERVER,
      '--db',
      dbPath,
      '--durability',
      durability,
    ],
    { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('registry server did not print READY in 60 s')), 60_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`registry server exited with code ${String(code)} before READY`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /READY (\d+)/.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      resolve(Number(m[1]));
    });
  }).catch(async (e: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw e;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    child,
    endpoint,
    exited,
    client: (inFlight) => registryClient(endpoint, inFlight),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
      const m = /STATS (\{.*\})\n/.exec(out);
      return m?.[1] === undefined ? undefined : (JSON.parse(m[1]) as WriteBatchStats);
    },
  };
}
