import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Where the downloader keeps the byte offset it may resume from. The agent backs it with its SQLite
 * journal (one row per job, so an offset never outlives the bundle it belongs to). `save` must be durable
 * when it resolves: the downloader calls it only after the bytes below the offset were fdatasync'ed.
 */
export interface DownloadProgressStore {
  load(): Promise<number | undefined>;
  save(offset: number): Promise<void>;
  /** Forget the offset (cancel, or bytes known to be wrong). */
  clear(): Promise<void>;
}

/** The offset in a small JSON file beside the partial download (tests, the CLI), replaced atomically. */
export function createFileProgressStore(path: string): DownloadProgressStore {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
      // Unreadable content means no trusted offset: the download starts again from byte 0, which is always safe.
      try {
        const offset = (JSON.parse(text) as { offset?: unknown }).offset;
        return typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0 ? offset : undefined;
      } catch {
        return undefined;
      }
    },
    async save(offset) {
      const tmp = `${path}.tmp`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify({ offset }));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      await syncDirectory(dirname(path));
    },
    async clear() {
      await rm(path, { force: true });
      await syncDirectory(dirname(path));
    },
  };
}

/** A rename or unlink is durable only once its directory is synced. */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
