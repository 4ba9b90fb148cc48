import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync, type ReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { asBundleError, verifyBundleStream, type TrustStore } from '@otafleet/bundle';
import { err, ok, type BundleErrorCode, type BundleManifest, type Result } from '@otafleet/protocol';
import { openFleetDatabase } from '../sqlite.js';

/** A stored bundle: the file's own SHA-256 names it (content-addressed), the manifest says what it is. */
export interface StoredBundle {
  /** SHA-256 of the whole bundle file, lowercase hex: its id, its file name, and what devices check. */
  readonly sha256: string;
  readonly size: number;
  readonly manifest: BundleManifest;
  /** SHA-256 of the signed manifest: the release's identity. */
  readonly manifestSha256: string;
  readonly keyId: string;
  readonly uploadedAt: number;
  readonly uploadedBy: string;
}

export type BundleStoreError =
  | { readonly code: BundleErrorCode; readonly message: string }
  | { readonly code: 'BUNDLE_TOO_LARGE'; readonly message: string; readonly limit: number };

export interface PutOptions {
  readonly uploadedBy: string;
  readonly at: number;
  /** Refuse uploads larger than this, before they fill the disk. */
  readonly maxBytes: number;
}

export interface BundleStore {
  /**
   * Verifies the upload against the fleet's trust set as it streams to a temporary file (signature, manifest,
   * every payload digest), then moves it to its content address with fsyncs. A bundle that fails any check is
   * refused with the bundle library's code and stored nowhere. The same bytes uploaded twice are one bundle.
   */
  put(
    source: AsyncIterable<Uint8Array>,
    options: PutOptions,
  ): Promise<Result<{ bundle: StoredBundle; created: boolean }, BundleStoreError>>;
  get(sha256: string): Promise<StoredBundle | undefined>;
  list(): Promise<readonly StoredBundle[]>;
  /** The bundle's bytes from `start` to `end` inclusive (HTTP Range semantics). */
  read(sha256: string, range?: { readonly start: number; readonly end: number }): ReadStream;
  close(): Promise<void>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

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
      const tmp = join(tmpDir, `${randomUUID()}.part`);
      const file = await open(tmp, 'wx');
      const hash = createHash('sha256');
      let size = 0;
      // The verifier wraps what `observe` throws; the flag keeps the real reason.
      let tooLarge = false;
      try {
        const verified = await verifyBundleStream(source, {
          trust: options.trust,
          now: new Date(put.at),
          observe: async (chunk) => {
            size += chunk.byteLength;
            if (size > put.maxBytes) {
              tooLarge = true;
              throw new Error(`bundle upload exceeds ${put.maxBytes} bytes`);
            }
            hash.update(chunk);
            await file.write(chunk);
          },
        });
        await file.sync();
        await file.close();
        const sha256 = hash.digest('hex');
        const existing = q.get.get(sha256);
        if (existing !== undefined) {
          await rm(tmp, { force: true });
          return ok({ bundle: recordOf(existing), created: false });
        }
        await rename(tmp, pathOf(sha256));
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
      } catch (e) {
        await file.close().catch(() => undefined);
        await rm(tmp, { force: true });
        if (tooLarge) {
          return err({
            code: 'BUNDLE_TOO_LARGE',
            message: `bundle upload exceeds ${put.maxBytes} bytes`,
            limit: put.maxBytes,
          });
        }
        const bundleError = asBundleError(e);
        return err({ code: bundleError.code, message: bundleError.message });
      }
    },
    get: (sha256) => {
      const row = SHA256_HEX.test(sha256) ? q.get.get(sha256) : undefined;
      return Promise.resolve(row === undefined ? undefined : recordOf(row));
    },
    list: () => Promise.resolve(q.all.all().map(recordOf)),
    read: (sha256, range) => {
      if (!SHA256_HEX.test(sha256)) throw new Error(`not a bundle id: ${sha256}`);
      return createReadStream(pathOf(sha256), range === undefined ? {} : { start: range.start, end: range.end });
    },
    close: () => Promise.resolve(void db.close()),
  };
}

/** For tests and recovery: whether the content file of a stored bundle is present with its recorded size. */
export async function bundleFileIntact(dir: string, bundle: StoredBundle): Promise<boolean> {
  const info = await stat(join(dir, 'sha256', `${bundle.sha256}.otab`)).catch(() => undefined);
  return info?.size === bundle.size;
}
