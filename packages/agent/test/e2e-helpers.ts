import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { BundleServer } from './e2e-net.js';

const handedOut = new Set<number>();

/**
 * A port for an application to listen on later: below Linux's ephemeral range (32768–60999), so no outgoing
 * connection of this machine can be using it as its local port by then, and free when probed.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    const s = createServer();
    const free = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!free) continue;
    await new Promise<void>((r) => s.close(() => r()));
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port below the ephemeral range');
}

/** Puts a bundle file on the server and gives what a job document needs of it. */
export async function serve(
  server: BundleServer,
  name: string,
  file: { readonly path: string; readonly version: string; readonly securityVersion: number },
  mutate?: (bytes: Buffer) => Buffer,
): Promise<{ version: string; securityVersion: number; url: string; size: number; sha256: string; bytes: Buffer }> {
  const { createHash } = await import('node:crypto');
  let bytes: Buffer = await readFile(file.path);
  if (mutate !== undefined) bytes = mutate(Buffer.from(bytes));
  server.put(name, bytes);
  return {
    version: file.version,
    securityVersion: file.securityVersion,
    url: server.url(name),
    size: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes,
  };
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value));
}

/** Bounded polling for a condition (never a fixed sleep as the assertion). */
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
