import { stat, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DownloadError } from './errors.js';

/** `bytes` more will be written somewhere under `path` (a file or directory that may not exist yet). */
export interface SpaceNeed {
  readonly path: string;
  readonly bytes: number;
}

/** What `statfs` says of a file system, as far as the check needs it. */
export interface FreeSpaceProbe {
  (path: string): Promise<{ readonly bavail: number; readonly bsize: number }>;
}

/**
 * Throws INSUFFICIENT_SPACE unless every file system the needs fall on has room for all of its needs
 * together (the partial file and the verified payloads may share one disk). Reads only; writes nothing.
 */
export async function checkFreeSpace(needs: readonly SpaceNeed[], probe: FreeSpaceProbe = statfs): Promise<void> {
  const byDevice = new Map<number, { dir: string; bytes: number; paths: string[] }>();
  for (const need of needs) {
    const dir = await nearestExistingDirectory(need.path);
    const { dev } = await stat(dir);
    const entry = byDevice.get(dev) ?? { dir, bytes: 0, paths: [] };
    entry.bytes += need.bytes;
    entry.paths.push(need.path);
    byDevice.set(dev, entry);
  }
  for (const { dir, bytes, paths } of byDevice.values()) {
    const fs = await probe(dir);
    const available = fs.bavail * fs.bsize;
    if (available < bytes) {
      throw new DownloadError(
        'INSUFFICIENT_SPACE',
        `${bytes} bytes are needed on the file system of ${dir} (for ${paths.join(', ')}), ${available} are free; free space there and retry`,
      );
    }
  }
}

async function nearestExistingDirectory(path: string): Promise<string> {
  let dir = resolve(path);
  for (;;) {
    try {
      if ((await stat(dir)).isDirectory()) return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const parent = dirname(dir);
    if (parent === dir) return dir;
    dir = parent;
  }
}
