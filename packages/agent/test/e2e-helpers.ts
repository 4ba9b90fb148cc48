import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { BundleServer } from './e2e-net.js';

/** A port nothing listens on now (the OS picks it; closed again before it is handed out). */
export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Puts a bundle file on the server and gives what a job document needs of it. */
export async function serve(
  server: BundleServer,
  name: string,
  file: { readonly path: string; readonly version: string; readonly securityVersion: number },
  mutate?: (bytes: Buffer) => Buffer,
): Promise<{ version: string; securityVersion: number; url: string; size: number; sha256: string; bytes: Buffer }> {
  const { createHash } = await import('node:crypto');
  let bytes = await readFile(file.path);
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
export async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
