import { createReadStream, mkdirSync } from 'node:fs';
import { open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrustStore } from '@otafleet/bundle';
import { ok, type BundleManifest } from '@otafleet/protocol';
import { openFleetDatabase } from '../sqlite.js';
import { SHA256_HEX, type BundleStore, type StoredBundle } from './types.js';
import { receiveVerified } from './verified-upload.js';

export type { BundleStore, BundleStoreError, PutOptions, StoredBundle } from './types.js';

/** The bundle store on this machine's disk: files named by their SHA-256, an SQLite table of what they are. */
export function openBundleStore(options: { readonly dir: string; readonly trust: TrustStore }): BundleStore {
  const filesDir = join(options.dir, 'sha256');
  const tmpDir = join(options.dir, 'incoming');
  mkdirSync(filesDir, { recursive: true });
  mkdirSync(tmpDir, { recursive: true });
  const db = openFleetDatabase(join(options.dir, 'bundles.db'));
  db.exec(`CREATE TABLE IF NOT EXISTS bundle (
    sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, manifest TEXT NOT NULL, manifest_sha256 TEXT NOT NULL,
    key_id TEXT NOT NULL, uploaded_at INTEGER NOT NULL, uploaded_by TEXT NOT NULL)`);
  const q = {
    get: db.prepare<[string], Record<string, unknown>>('SELECT * FROM bundle WHERE sha256 = ?'),
    all: db.prepare<[], Record<string, unknown>>('SELECT * FROM bundle ORDER BY uploaded_at, sha256'),
    insert: db.prepare(
      'INSERT OR IGNORE INTO bundle (sha256, size, manifest, manifest_sha256, key_id, uploaded_at, uploaded_by) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
  };
  const recordOf = (r: Record<string, unknown>): StoredBundle => ({
    sha256: r.sha256 as string,
    size: r.size as number,
    manifest: JSON.parse(r.manifest as string) as BundleManifest,
    manifestSha256: r.manifest_sha256 as string,
    keyId: r.key_id as string,
    uploadedAt: r.uploaded_at as number,
    uploadedBy: r.uploaded_by as string,
  });
  const pathOf = (sha256: string): string => join(filesDir, `${sha256}.otab`);

  return {
    async put(source, put) {
      const received = await receiveVerified(source, {
        tmpDir,
        trust: options.trust,
        at: put.at,
        maxBytes: put.maxBytes,
      });
      if (!received.ok) return received;
      const { sha256, size, verified } = received.value;
      try {
        const existing = q.get.get(sha256);
        if (existing !== undefined) return ok({ bundle: recordOf(existing), created: false });
        await rename(received.value.tmpPath, pathOf(sha256));
        const dir = await open(filesDir, 'r');
        await dir.sync().finally(() => dir.close());
        // The file is on disk under its name before the row says it exists: a crash between them leaves an
        // unreferenced file (re-uploading adopts it), never a row without its file.
        q.insert.run(
          sha256,
          size,
          JSON.stringify(verified.manifest),
          verified.manifestSha256,
          verified.keyId,
          put.at,
          put.uploadedBy,
        );
        const stored = q.get.get(sha256);
        if (stored === undefined) throw new Error(`bundle ${sha256} vanished after insert`);
        return ok({ bundle: recordOf(stored), created: true });
      } finally {
        await received.value.discard();
      }
    },
    get: (sha256) => {
      const row = SHA256_HEX.test(sha256) ? q.get.get(sha256) : undefined;
      return Promise.resolve(row === undefined ? undefined : recordOf(row));
    },
    list: () => Promise.resolve(q.all.all().map(recordOf)),
    read: (sha256, range) => {
      if (!SHA256_HEX.test(sha256)) return Promise.reject(new Error(`not a bundle id: ${sha256}`));
      return Promise.resolve(
        createReadStream(pathOf(sha256), range === undefined ? {} : { start: range.start, end: range.end }),
      );
    },
    close: () => Promise.resolve(void db.close()),
  };
}

/** For tests and recovery: whether the content file of a stored bundle is present with its recorded size. */
export async function bundleFileIntact(dir: string, bundle: StoredBundle): Promise<boolean> {
  const info = await stat(join(dir, 'sha256', `${bundle.sha256}.otab`)).catch(() => undefined);
  return info?.size === bundle.size;
}
