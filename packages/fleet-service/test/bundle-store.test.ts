import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleFileIntact, openBundleStore } from '@otafleet/fleet-service';
import { bundleStoreContract, release } from './bundle-store-contract.js';
import { bundleBytes, chunks, trustOf } from './fleet-bundles.js';

const storeDir = (): string => mkdtempSync(join(tmpdir(), 'bundles-'));

bundleStoreContract('files on disk', () => {
  const dir = storeDir();
  const open = () => openBundleStore({ dir, trust: trustOf(release) });
  return Promise.resolve({
    store: open(),
    storedNothing: () =>
      Promise.resolve(readdirSync(join(dir, 'sha256')).length === 0 && readdirSync(join(dir, 'incoming')).length === 0),
    reopen: () => Promise.resolve(open()),
  });
});

describe('bundle store on disk', () => {
  it('keeps the file under its content address with its recorded size', async () => {
    const dir = storeDir();
    const store = openBundleStore({ dir, trust: trustOf(release) });
    const put = await store.put(chunks(await bundleBytes(release)), { uploadedBy: 'a', at: Date.now(), maxBytes: 1e7 });
    if (!put.ok) throw new Error(put.error.message);
    expect(readdirSync(join(dir, 'sha256'))).toEqual([`${put.value.bundle.sha256}.otab`]);
    expect(await bundleFileIntact(dir, put.value.bundle)).toBe(true);
    await store.close();
  });
});
