import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { bundleFileIntact, openBundleStore } from '@otafleet/fleet-service';
import { bundleBytes, chunks, testSigner as signer, trustOf } from './fleet-bundles.js';

const release = signer('release-2026');
const put = { uploadedBy: 'alice', at: Date.parse('2026-12-01T00:00:00Z'), maxBytes: 10_000_000 };
const storeDir = (): string => mkdtempSync(join(tmpdir(), 'bundles-'));
const incomingEmpty = (dir: string): boolean => readdirSync(join(dir, 'incoming')).length === 0;

describe('bundle store', () => {
  it('stores a verified bundle under its SHA-256, idempotently, and reads ranges of it', async () => {
    const dir = storeDir();
    const store = openBundleStore({ dir, trust: trustOf(release) });
    const bytes = await bundleBytes(release);
    const first = await store.put(chunks(bytes), put);
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const { bundle } = first.value;
    expect(first.value.created).toBe(true);
    expect(bundle).toMatchObject({ size: bytes.byteLength, keyId: 'release-2026', uploadedBy: 'alice' });
    expect(bundle.manifest).toMatchObject({ name: 'app', version: '1.1.0' });
    expect(await bundleFileIntact(dir, bundle)).toBe(true);
    const again = await store.put(chunks(bytes, 1000), { ...put, uploadedBy: 'bob' });
    expect(again).toMatchObject({ ok: true, value: { created: false, bundle: { uploadedBy: 'alice' } } });
    expect((await store.list()).length).toBe(1);
    const slice = await text(store.read(bundle.sha256, { start: 10, end: 19 }).setEncoding('latin1'));
    expect(Buffer.from(slice, 'latin1').equals(bytes.subarray(10, 20))).toBe(true);
    expect(incomingEmpty(dir)).toBe(true);
    await store.close();
    const reopened = openBundleStore({ dir, trust: trustOf(release) });
    expect(await reopened.get(bundle.sha256)).toEqual(bundle);
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
  ])('refuses a bundle %s with the bundle library’s code and stores nothing', async (_, make, code) => {
    const dir = storeDir();
    const store = openBundleStore({ dir, trust: trustOf(release) });
    const result = await store.put(chunks(await make()), put);
    expect(result).toMatchObject({ ok: false, error: { code } });
    expect(await store.list()).toEqual([]);
    expect(readdirSync(join(dir, 'sha256'))).toEqual([]);
    expect(incomingEmpty(dir)).toBe(true);
    await store.close();
  });

  it('refuses an upload over the size limit before it is all read', async () => {
    const dir = storeDir();
    const store = openBundleStore({ dir, trust: trustOf(release) });
    const result = await store.put(chunks(await bundleBytes(release, '1.5.0')), { ...put, maxBytes: 20_000 });
    expect(result).toMatchObject({ ok: false, error: { code: 'BUNDLE_TOO_LARGE', limit: 20_000 } });
    expect(incomingEmpty(dir)).toBe(true);
    await store.close();
  });

  it('answers an unknown or malformed id with nothing', async () => {
    const store = openBundleStore({ dir: storeDir(), trust: trustOf(release) });
    expect(await store.get('0'.repeat(64))).toBeUndefined();
    expect(await store.get('../etc/passwd')).toBeUndefined();
    expect(() => store.read('../etc/passwd')).toThrow(/not a bundle id/);
    await store.close();
  });
});
