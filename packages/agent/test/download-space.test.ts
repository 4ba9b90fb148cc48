import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTrustStore, deriveTestPrivateKey, publicKeyPemOf } from '@otafleet/bundle';
import { downloadAndVerifyBundle, downloadBundle, type DownloadError } from '@otafleet/agent';
import { baseOptions, MiB, randomFile, sha256, tempDir, waitFor } from './download-fixtures.js';
import { serveBytes, startTestServer } from './download-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function dir(): Promise<string> {
  const d = await tempDir();
  cleanups.push(d.cleanup);
  return d.path;
}

/** A real 1 MiB file system (tmpfs; the tests run as root, as CI does here). */
async function smallFileSystem(): Promise<string> {
  const mountPoint = join(await dir(), 'tmpfs');
  await mkdir(mountPoint);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`these tests mount a 1 MiB tmpfs and need root: ${(e as Error).message}`);
  }
  cleanups.push(async () => {
    execFileSync('umount', [mountPoint]);
    await rmdir(mountPoint);
  });
  return mountPoint;
}

const failure = (p: Promise<unknown>): Promise<DownloadError> =>
  p.then(
    () => {
      throw new Error('expected the download to fail');
    },
    (e: unknown) => e as DownloadError,
  );

describe('free space is checked before a byte is written', () => {
  it('a bundle larger than the free space: INSUFFICIENT_SPACE, no request, no partial file', async () => {
    const server = await startTestServer((_req, res) => void res.writeHead(500).end());
    cleanups.push(server.close);
    const d = await dir();
    const fs = await statfs(d);
    const file = randomFile(16);
    const options = { ...baseOptions(d, server.url(), file), expectedSize: fs.bavail * fs.bsize + 1024 ** 3 };

    const error = await failure(downloadBundle(options));

    expect(error).toMatchObject({ code: 'INSUFFICIENT_SPACE', retryable: false });
    expect(server.requests).toHaveLength(0);
    expect(existsSync(options.partialPath)).toBe(false);
    expect(existsSync(join(d, 'bundle.offset'))).toBe(false);
  });

  it('on a 1 MiB file system: what fits downloads, what does not is refused and an earlier partial is kept', async () => {
    const small = await smallFileSystem();
    const fits = randomFile(600 * 1024);
    const tooBig = randomFile(2 * MiB);
    let serving = fits;
    const server = await startTestServer((req, res) => serveBytes(req, res, serving));
    cleanups.push(server.close);

    const ok = baseOptions(small, server.url(), fits);
    expect((await downloadBundle(ok)).sha256).toBe(sha256(fits));
    expect(sha256(await readFile(ok.partialPath))).toBe(sha256(fits));

    serving = tooBig;
    const big = { ...baseOptions(small, server.url(), tooBig), partialPath: join(small, 'big.part') };
    const error = await failure(downloadBundle(big));
    expect(error.code).toBe('INSUFFICIENT_SPACE');
    expect(error.message).toContain(small);
    expect(existsSync(big.partialPath)).toBe(false);
    expect(server.requests).toHaveLength(1);

    // requiredExtraBytes counts too; the partial file and offset from before are left as they were.
    serving = fits;
    const partial = join(small, 'again.part');
    await writeFile(partial, fits.subarray(0, 1000));
    const again = { ...baseOptions(small, server.url(), fits), partialPath: partial, requiredExtraBytes: MiB };
    await again.progressStore.save(1000);
    expect((await failure(downloadBundle(again))).code).toBe('INSUFFICIENT_SPACE');
    expect((await readFile(partial)).byteLength).toBe(1000);
    expect(await again.progressStore.load()).toBe(1000);
  });

  it('the verified payloads need room in the work dir too', async () => {
    const small = await smallFileSystem();
    const server = await startTestServer((_req, res) => void res.writeHead(500).end());
    cleanups.push(server.close);
    const file = randomFile(2 * MiB);
    const key = deriveTestPrivateKey('ed25519', 'space');
    const trust = createTrustStore({
      keys: [{ id: 'k', algorithm: 'ed25519', publicKey: publicKeyPemOf(key), status: 'active' }],
    });
    const options = { ...baseOptions(await dir(), server.url(), file), trust, workDir: join(small, 'work') };

    const error = await failure(downloadAndVerifyBundle(options));

    expect(error.code).toBe('INSUFFICIENT_SPACE');
    expect(error.message).toContain(small);
    expect(server.requests).toHaveLength(0);
    expect(existsSync(options.partialPath)).toBe(false);
  });

  it('a disk that fills up during the download: INSUFFICIENT_SPACE, durable bytes kept', async () => {
    const small = await smallFileSystem();
    const file = randomFile(700 * 1024);
    let started = false;
    let released = false;
    const server = await startTestServer(async (req, res) => {
      started = true;
      await waitFor(() => released);
      return serveBytes(req, res, file);
    });
    cleanups.push(server.close);
    const options = { ...baseOptions(small, server.url(), file), syncEveryBytes: 64 * 1024 };

    const running = failure(downloadBundle(options));
    // The space check has passed once the request arrives; something else now takes most of the disk.
    await waitFor(() => started);
    await writeFile(join(small, 'filler'), Buffer.alloc(600 * 1024));
    released = true;
    const error = await running;

    expect(error).toMatchObject({ code: 'INSUFFICIENT_SPACE', retryable: false });
    expect(existsSync(options.partialPath)).toBe(true);
    const saved = (await options.progressStore.load()) ?? 0;
    expect(saved).toBeLessThan(file.byteLength);
    expect(sha256((await readFile(options.partialPath)).subarray(0, saved))).toBe(sha256(file.subarray(0, saved)));
  });
});
