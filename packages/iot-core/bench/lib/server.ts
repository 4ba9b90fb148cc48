import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORE_NODE_FLAGS } from '../../src/index.js';

/**
 * The server side of every benchmark, in its own process so the load clients never share its event loop
 * (the machine has 2 cores: one for the server, one for the clients).
 */
export type BenchService = 'echo' | 'shadow' | 'jobs';

export interface BenchServerOptions {
  /** What runs on the broker's bus besides the broker itself; empty: the bare broker. */
  readonly services: readonly BenchService[];
  /** Things `bench-0..n-1` (registered, and targeted by job `bench`, when `jobs` runs). */
  readonly things: number;
  /** PEM files of the server credential: adds a mutual-TLS listener with per-thing authorization. */
  readonly tls?: { readonly certPath: string; readonly keyPath: string; readonly caPath: string };
  /**
   * Extra node flags for the server process, after the core's own (CORE_NODE_FLAGS, as `pnpm start` runs it);
   * default from BENCH_SERVER_NODE_ARGS, e.g. `--cpu-prof`.
   */
  readonly nodeArgs?: readonly string[];
  /** Default 30 s. */
  readonly startTimeoutMs?: number;
}

export interface BenchServer {
  readonly tcpPort: number;
  readonly tlsPort: number | undefined;
  readonly pid: number;
  /** SIGTERM, wait for exit (SIGKILL after 10 s), remove the SQLite directory. */
  stop(): Promise<void>;
}

const FIXTURE = fileURLToPath(new URL('server-fixture.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

export const serverNodeArgsFromEnv = (): string[] =>
  (process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');

export async function startBenchServer(options: BenchServerOptions): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), 'iot-core-bench-'));
  const args = [
    ...CORE_NODE_FLAGS,
    ...(options.nodeArgs ?? serverNodeArgsFromEnv()),
    '--conditions=source',
    '--import',
    'tsx',
    FIXTURE,
    '--db',
    join(dir, 'core.db'),
    '--things',
    String(options.things),
    '--services',
    options.services.join(','),
  ];
  if (options.tls !== undefined)
    args.push('--tls-cert', options.tls.certPath, '--tls-key', options.tls.keyPath, '--tls-ca', options.tls.caPath);
  const child = spawn(process.execPath, args, { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let ports: { tcp: number; tls: number | undefined };
  try {
    ports = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('bench server did not print READY in time')),
        options.startTimeoutMs ?? 30_000,
      );
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`bench server exited with code ${String(code)} before READY`));
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /READY (\d+) (\d+|-)/.exec(out);
        if (m === null) return;
        clearTimeout(timer);
        resolve({ tcp: Number(m[1]), tls: m[2] === '-' ? undefined : Number(m[2]) });
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    tcpPort: ports.tcp,
    tlsPort: ports.tls,
    pid: child.pid ?? -1,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
