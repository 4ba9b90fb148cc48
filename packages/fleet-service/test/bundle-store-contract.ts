import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import type { BundleStore } from '@otafleet/fleet-service';
import { bundleBytes, chunks, testSigner as signer } from './fleet-bundles.js';

export const release = signer('release-2026');
const put = { uploadedBy: 'alice', at: Date.parse('2026-12-01T00:00:00Z'), maxBytes: 10_000_000 };

/** One store under test: opened empty and trusting `release`; `storedNothing` looks at its storage directly. */
export interface OpenedBundleStore {
  readonly store: BundleStore;
  /** True when neither the store's storage nor its temporary directory holds anything. */
  readonly storedNothing: () => Promise<boolean>;
  /** Opens the same storage again (after `store.close()`). */
  readonly reopen: () => Promise<BundleStore>;
}

/** What every BundleStore must do, wherever it keeps the bytes. */
export function bundleStoreContract(name: string, open: () => Promise<OpenedBundleStore>): void {
  describe(`BundleStore contract: ${name}`, () => {
    it('stores a verified bundle under its SHA-256, idempotently, lists it and reads ranges of it', async () => {
      const { store, reopen } = await open();
      const bytes = await bundleBytes(release);
      const first = await store.put(chunks(bytes), put);
      expect(first.ok).toBe(true);
      if (!first.ok) return;
      const { bundle } = first.value;
      expect(first.value.created).toBe(true);
      expect(bundle).toMatchObject({ size: bytes.byteLength, keyId: 'release-2026', uploadedBy: 'alice' });
      expect(bundle.manifest).toMatchObject({ name: 'app', version: '1.1.0' });
      const again = await store.put(chunks(bytes, 1000), { ...put, uploadedBy: 'bob' });
      expect(again).toMatchObject({ ok: true, value: { created: false, bundle: { uploadedBy: 'alice' } } });
      const second = await store.put(chunks(await bundleBytes(release, '1.2.0')), { ...put, at: put.at + 1 });
      expect(second.ok).toBe(true);
      expect((await store.list()).map((b) => b.manifest.version)).toEqual(['1.1.0', '1.2.0']);
      const slice = Buffer.from(
        await text((await store.read(bundle.sha256, { start: 10, end: 19 })).setEncoding('latin1')),
        'latin1',
      );
      expect(slice.equals(bytes.subarray(10, 20))).toBe(true);
      const whole = Buffer.from(await text((await store.read(bundle.sha256)).setEncoding('latin1')), 'latin1');
      expect(whole.equals(bytes)).toBe(true);
      await store.close();
      const reopened = await reopen();
      expect(await reopened.get(bundle.sha256)).toEqual(bundle);
      expect((await reopened.list()).length).toBe(2);
      await reopened.close();
    });

    it.each<[string, () => Promise<Buffer>, string]>([
      ['signed by an unknown key', () => bundleBytes(signer('stranger')), 'BUNDLE_KEY_UNKNOWN'],
      [
        'tampered in its payload',
        async () => {
          const b = Buffer.from(await bundleBytes(release, '1.2.0'));
          b[b.byteLength - 100] = (b[b.byteLength - 100] ?? 0) ^ 0xff;
          return b;
        },
        'BUNDLE_PAYLOAD_DIGEST_MISMATCH',
      ],
      ['truncated', async () => (await bundleBytes(release, '1.3.0')).subarray(0, 3_000), 'BUNDLE_TRUNCATED'],
      ['not a bundle', () => Promise.resolve(Buffer.from('{"hello":"world"}')), 'BUNDLE_BAD_MAGIC'],
      ['expired', () => bundleBytes(release, '1.4.0', '2026-06-01T00:00:00Z'), 'BUNDLE_EXPIRED'],
    ])('refuses a bundle %s with the bundle library’s code and stores it nowhere', async (_, make, code) => {
      const { store, storedNothing } = await open();
      const result = await store.put(chunks(await make()), put);
      expect(result).toMatchObject({ ok: false, error: { code } });
      expect(await store.list()).toEqual([]);
      expect(await storedNothing()).toBe(true);
      await store.close();
    });

    it('refuses an upload over the size limit before it is all read, and stores it nowhere', async () => {
      const { store, storedNothing } = await open();
      const result = await store.put(chunks(await bundleBytes(release, '1.5.0')), { ...put, maxBytes: 20_000 });
      expect(result).toMatchObject({ ok: false, error: { code: 'BUNDLE_TOO_LARGE', limit: 20_000 } });
      expect(await storedNothing()).toBe(true);
      await store.close();
    });

    it('answers an unknown or malformed id with nothing, and refuses to read a malformed one', async () => {
      const { store } = await open();
      expect(await store.get('0'.repeat(64))).toBeUndefined();
      expect(await store.get('../etc/passwd')).toBeUndefined();
      await expect(store.read('../etc/passwd')).rejects.toThrow(/not a bundle id/);
      await store.close();
    });
  });
}
