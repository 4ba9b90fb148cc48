import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { CORE_SERVICE_NAME } from '../identity/principal.js';
import { writeMosquittoConfig } from '../mosquitto/mosquitto-config.js';

const CANDIDATE_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/opt/homebrew/sbin'];

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const lookup = (): string | undefined =>
  [...(process.env.PATH ?? '').split(delimiter), ...CANDIDATE_DIRS]
    .filter((d) => d.length > 0)
    .map((d) => join(d, 'mosquitto'))
    .find(executable);

const aptGet = (args: readonly string[]): boolean => {
  try {
    execFileSync('apt-get', args, {
      stdio: 'ignore',
      timeout: 180_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return true;
  } catch {
    return false;
  }
};

/** Path of the mosquitto binary; installs it with apt-get when absent and running as root. */
export function findMosquitto(): string | undefined {
  const found = lookup();
  if (found !== undefined || process.getuid?.() !== 0) return found;
  const install = ['install', '-y', '--no-install-recommends', 'mosquitto'];
  // A fresh machine may have no package lists yet: update once and try again.
  if (!aptGet(install) && !(aptGet(['update']) && aptGet(install))) return undefined;
  return lookup();
}

/** The mosquitto binary, or a failure that says how to get it: these tests are never skipped. */
export function requireMosquitto(): string {
  const found = findMosquitto();
  if (found === undefined) {
    throw new Error(
      'mosquitto 2 is required for these tests: install it (e.g. `apt-get install -y mosquitto`) or put it on PATH',
    );
  }
  return found;
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface MosquittoProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything mosquitto wrote to stderr so far (its log). */
  log(): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Starts `mosquitto -c configPath` and waits (at most 10 s) until it accepts connections on `port`. */
export async function startMosquitto(binary: string, configPath: string, port: number): Promise<MosquittoProcess> {
  const child = spawn(binary, ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(killer);
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}:\n${log}`);
    if (await portOpen(port)) return { port, child, log: () => log, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`mosquitto did not listen on ${port} within 10 s:\n${log}`);
}

/** The TLS material and privileged services of a test Mosquitto. */
export interface TestMosquittoTls {
  readonly cafile: string;
  readonly certfile: string;
  readonly keyfile: string;
  readonly privilegedServices: readonly string[];
  /** Things granted in the dynamic-security plugin from the start (default none: the core grants them). */
  readonly things?: readonly string[];
  /** The CA's revocation list (must exist); default: no CRL check. */
  readonly crlfile?: string;
}

/**
 * Writes the project's mutual-TLS Mosquitto config (and ACL) into `dir` and starts `binary` with it on a free
 * port. As root, mosquitto would drop to the `mosquitto` user, who cannot read the test keys: it stays root.
 */
export async function startTlsMosquitto(binary: string, dir: string, tls: TestMosquittoTls): Promise<MosquittoProcess> {
  const port = await freePort();
  const { configPath } = await writeMosquittoConfig(dir, {
    port,
    ...tls,
    things: tls.things ?? [],
    adminService: CORE_SERVICE_NAME,
    ...(process.getuid?.() === 0 ? { runAsUser: 'root' } : {}),
  });
  return await startMosquitto(binary, configPath, port);
}
