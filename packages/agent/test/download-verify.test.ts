import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadAndVerifyBundle, type DownloadError } from '@otafleet/agent';
import { buildImageBundle, testSigner, trustFor, type TestBundle } from './download-bundles.js';
import { baseOptions, MiB, sha256, tempDir, waitFor } from './download-fixtures.js';
import { serveBytes, startTestServer, type ServeOptions } from './download-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const signer = testSigner('fleet-2026');
const trust = trustFor(signer);
const policy = { hardware: 'rpi4', installed: { version: '1.0.0', securityVersion: 1 } };

async function dir(): Promise<string> {
  const d = await tempDir();
  cleanups.push(d.cleanup);
  return d.path;
}

async function serve(bundle: Buffer, options: (i: number) => ServeOptions = () => ({})) {
  const server = await startTestServer((req, res, i) => serveBytes(req, res, bundle, options(i)));
  cleanups.push(server.close);
  return server;
}

async function setup(bundle: TestBundle, serveOptions?: (i: number) => ServeOptions) {
  const server = await serve(bundle.bytes, serveOptions);
  const d = await dir();
  const workDir = join(d, 'work');
  const options = { ...baseOptions(d, server.url(), bundle.bytes), trust, policy, workDir };
  return { server, options, workDir };
}

const failure = (p: Promise<unknown>): Promise<DownloadError> =>
  p.then(
    () => {
      throw new Error('expected the download to fail');
    },
    (e: unknown) => e as DownloadError,
  );

async function verifyDirs(workDir: string): Promise<string[]> {
  return existsSync(workDir) ? (await readdir(workDir)).filter((n) => n.startsWith('.verify-')) : [];
}

describe('downloadAndVerifyBundle: download and verification in one pass', () => {
  it('a connection dropped every ~3 MB: the bundle is verified and its payload written, in one pass', async () => {
    const bundle = await buildImageBundle(await dir(), 20 * MiB, signer);
    const { server, options, workDir } = await setup(bundle, () => ({ dropAfterBytes: 3 * MiB }));

    const { download, bundle: verified } = await downloadAndVerifyBundle(options);

    expect(download.sha256).toBe(sha256(bundle.bytes));
    expect(download.networkBytes).toBe(bundle.bytes.byteLength);
    expect(server.requests.length).toBeGreaterThanOrEqual(7);
    expect(verified.manifest).toMatchObject({ name: 'rootfs', version: '2.0.0' });
    expect(verified.keyId).toBe('fleet-2026');
    const [payload] = verified.payloads;
    expect(payload?.path).not.toBeNull();
    expect(sha256(await readFile(payload?.path ?? ''))).toBe(sha256(bundle.payload));
    expect(await verifyDirs(workDir)).toHaveLength(1);
  });

  it('after a restart, the bytes already on disk are replayed into the verifier, then the network continues', async () => {
    const bundle = await buildImageBundle(await dir(), 6 * MiB, signer);
    const { server, options } = await setup(bundle);
    await writeFile(options.partialPath, bundle.bytes.subarray(0, 4 * MiB));
    await options.progressStore.save(4 * MiB);

    const { download, bundle: verified } = await downloadAndVerifyBundle(options);

    expect(server.requests.map((r) => r.range)).toEqual([`bytes=${4 * MiB}-`]);
    expect(download).toMatchObject({ resumedFrom: 4 * MiB, networkBytes: bundle.bytes.byteLength - 4 * MiB });
    expect(sha256(await readFile(verified.payloads[0]?.path ?? ''))).toBe(sha256(bundle.payload));
  });

  it('a server that ignores Range after a drop: file and verifier both start over, one payload dir left', async () => {
    const bundle = await buildImageBundle(await dir(), 6 * MiB, signer);
    const { options, workDir } = await setup(bundle, (i) => ({
      range: false,
      dropAfterBytes: i === 0 ? 2 * MiB : undefined,
    }));

    const { download, bundle: verified } = await downloadAndVerifyBundle(options);

    expect(download.restartsFromZero).toBe(1);
    expect(sha256(await readFile(verified.payloads[0]?.path ?? ''))).toBe(sha256(bundle.payload));
    expect(await verifyDirs(workDir)).toEqual([verified.payloadDir?.split('/').pop()]);
  });

  it('without a work dir the payloads are verified but not copied', async () => {
    const bundle = await buildImageBundle(await dir(), MiB, signer);
    const { options } = await setup(bundle);
    const { workDir: _unused, ...withoutWorkDir } = options;
    const { bundle: verified } = await downloadAndVerifyBundle(withoutWorkDir);
    expect(verified.payloadDir).toBeNull();
    expect(verified.payloads[0]).toMatchObject({ path: null, sha256: sha256(bundle.payload) });
  });
});

describe('downloadAndVerifyBundle: refusals come out as typed errors and leave nothing behind', () => {
  it('a tampered payload: BUNDLE_PAYLOAD_DIGEST_MISMATCH, partial file, offset and payload dir gone', async () => {
    const bundle = await buildImageBundle(await dir(), 4 * MiB, signer);
    const tampered = Buffer.from(bundle.bytes);
    tampered[bundle.payloadOffset + 12345] = (tampered[bundle.payloadOffset + 12345] ?? 0) ^ 0x40;
    const server = await serve(tampered);
    const d = await dir();
    const workDir = join(d, 'work');
    // The job's digest is of the tampered file, so only the bundle's own check can catch it.
    const options = { ...baseOptions(d, server.url(), tampered), trust, policy, workDir };

    const error = await failure(downloadAndVerifyBundle(options));

    expect(error).toMatchObject({ code: 'BUNDLE_PAYLOAD_DIGEST_MISMATCH', retryable: false });
    expect(existsSync(options.partialPath)).toBe(false);
    expect(await options.progressStore.load()).toBeUndefined();
    expect(await verifyDirs(workDir)).toEqual([]);
  });

  it('signed by a key outside the trust set: BUNDLE_KEY_UNKNOWN, and the download stops at the head', async () => {
    const stranger = testSigner('stranger');
    const bundle = await buildImageBundle(await dir(), 48 * MiB, stranger);
    const { server, options, workDir } = await setup(bundle);

    const error = await failure(downloadAndVerifyBundle(options));

    expect(error).toMatchObject({ code: 'BUNDLE_KEY_UNKNOWN', retryable: false });
    expect(existsSync(options.partialPath)).toBe(false);
    expect(await verifyDirs(workDir)).toEqual([]);
    // Refused after its first bytes: far from all 48 MiB went over the wire (socket buffers hold a few MB).
    await waitFor(() => server.requests[0]?.sent !== undefined);
    expect(server.requests[0]?.sent ?? 0).toBeLessThan(bundle.bytes.byteLength / 2);
  });

  it('a device policy refusal: BUNDLE_HARDWARE_MISMATCH', async () => {
    const bundle = await buildImageBundle(await dir(), MiB, signer);
    const { options } = await setup(bundle);
    const error = await failure(downloadAndVerifyBundle({ ...options, policy: { hardware: 'rpi3' } }));
    expect(error).toMatchObject({ code: 'BUNDLE_HARDWARE_MISMATCH', retryable: false });
    expect(existsSync(options.partialPath)).toBe(false);
  });

  it('a valid bundle that is not the job’s file: DOWNLOAD_DIGEST_MISMATCH, payload dir gone', async () => {
    const bundle = await buildImageBundle(await dir(), MiB, signer);
    const { options, workDir } = await setup(bundle);
    const error = await failure(downloadAndVerifyBundle({ ...options, expectedSha256: sha256(Buffer.from('x')) }));
    expect(error).toMatchObject({ code: 'DOWNLOAD_DIGEST_MISMATCH', retryable: true });
    expect(existsSync(options.partialPath)).toBe(false);
    expect(await verifyDirs(workDir)).toEqual([]);
  });

  it('a download failure inside the verifier keeps its own code (and the partial file, for a later resume)', async () => {
    const bundle = await buildImageBundle(await dir(), 4 * MiB, signer);
    // 2 MiB, then the connection breaks, then the store answers 500 for good.
    const server = await startTestServer((req, res, i) =>
      i === 0 ? serveBytes(req, res, bundle.bytes, { dropAfterBytes: 2 * MiB }) : void res.writeHead(500).end(),
    );
    cleanups.push(server.close);
    const d = await dir();
    const workDir = join(d, 'work');
    const options = { ...baseOptions(d, server.url(), bundle.bytes), trust, policy, workDir, maxRetries: 1 };

    const error = await failure(downloadAndVerifyBundle(options));

    expect(error).toMatchObject({ code: 'DOWNLOAD_FAILED', retryable: true });
    expect(server.requests).toHaveLength(3);
    expect(existsSync(options.partialPath)).toBe(true);
    expect(await options.progressStore.load()).toBeGreaterThanOrEqual(MiB);
    expect(await verifyDirs(workDir)).toEqual([]);
  });

  it('cancel while verifying: CANCELED, nothing left in the work dir', async () => {
    const bundle = await buildImageBundle(await dir(), 8 * MiB, signer);
    const { options, workDir } = await setup(bundle);
    const controller = new AbortController();
    let seen = 0;
    const running = failure(
      downloadAndVerifyBundle({
        ...options,
        signal: controller.signal,
        maxBandwidthBytesPerSecond: 4 * MiB,
        progressIntervalMs: 0,
        onProgress: (bytes) => {
          seen = bytes;
        },
      }),
    );
    await waitFor(() => seen >= 2 * MiB);
    controller.abort();
    expect((await running).code).toBe('CANCELED');
    expect(existsSync(options.partialPath)).toBe(false);
    expect(await verifyDirs(workDir)).toEqual([]);
  });
});
