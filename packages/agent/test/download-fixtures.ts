/** Shared bits of the download tests: temp dirs, files with known digests, a silent logger, a driven clock. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Clock, TimerHandle } from '@otafleet/mqtt-client';
import { createFileProgressStore, type DownloadOptions } from '@otafleet/agent';

export const MiB = 1024 * 1024;
export const silentLogger = pino({ level: 'silent' });

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function randomFile(size: number): Buffer {
  return randomBytes(size);
}

export interface TempDir {
  readonly path: string;
  readonly cleanup: () => Promise<void>;
}

export async function tempDir(prefix = 'ota-download-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** The options every test starts from: the file in `dir`, its offset beside it, quick retries. */
export function baseOptions(dir: string, url: string, file: Buffer): DownloadOptions {
  return {
    url,
    expectedSize: file.byteLength,
    expectedSha256: sha256(file),
    partialPath: join(dir, 'bundle.part'),
    progressStore: createFileProgressStore(join(dir, 'bundle.offset')),
    backoff: { baseMs: 5, capMs: 20 },
    syncEveryBytes: MiB,
    logger: silentLogger,
  };
}

/** A clock whose timers fire at once (on the next turn), advancing its time by their delay; records delays. */
export function instantClock(): Clock & { readonly delays: number[] } {
  let now = 0;
  const delays: number[] = [];
  return {
    delays,
    now: () => now,
    setTimeout(callback, ms) {
      delays.push(ms);
      return setImmediate(() => {
        now += ms;
        callback();
      }) as unknown as TimerHandle;
    },
    clearTimeout: (handle) => clearImmediate(handle as unknown as NodeJS.Immediate),
  };
}

/** Polls `condition` until it holds (bounded: fails after `timeoutMs`). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
