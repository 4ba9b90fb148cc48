import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueServerCertificate } from '@otafleet/iot-core';
import { downloadBundle, type DownloadError } from '@otafleet/agent';
import { baseOptions, instantClock, MiB, randomFile, sha256, tempDir, waitFor } from './download-fixtures.js';
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

const failure = (p: Promise<unknown>): Promise<DownloadError> =>
  p.then(
    () => {
      throw new Error('expected the download to fail');
    },
    (e: unknown) => e as DownloadError,
  );

describe('downloadBundle: bounded retries with backoff', () => {
  it('a server that always fails: DOWNLOAD_FAILED after exactly maxRetries + 1 attempts, full-jitter delays', async () => {
    const file = randomFile(MiB);
    const server = await startTestServer((_req, res) => void res.writeHead(500).end('boom'));
    cleanups.push(server.close);
    const clock = instantClock();
    const backoff = { baseMs: 100, capMs: 250 };
    const options = {
      ...baseOptions(await dir(), server.url(), file),
      maxRetries: 3,
      backoff,
      clock,
      random: () => 0.5,
    };

    const error = await failure(downloadBundle(options));

    expect(error).toMatchObject({ code: 'DOWNLOAD_FAILED', retryable: true });
    expect(error.message).toContain('HTTP 500');
    expect(server.requests).toHaveLength(4);
    // random() × min(capMs, baseMs × 2^n): 0.5 × 100, 0.5 × 200, 0.5 × 250 (capped).
    expect(clock.delays).toEqual([50, 100, 125]);
    // The partial file is kept for a later attempt (nothing was wrong with its bytes).
    expect(existsSync(options.partialPath)).toBe(true);
  });

  it('connection refused counts as a failed attempt too', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as { port: number };
    await new Promise((r) => probe.close(r));
    const clock = instantClock();
    const file = randomFile(1024);
    const options = {
      ...baseOptions(await dir(), `http://127.0.0.1:${port}/b`, file),
      maxRetries: 2,
      clock,
      random: () => 0.5,
    };

    const error = await failure(downloadBundle(options));

    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(error.message).toContain('ECONNREFUSED');
    expect(clock.delays).toHaveLength(2);
  });

  it('Retry-After raises the wait (within capMs), and bytes arriving reset the count', async () => {
    const file = randomFile(2 * MiB);
    // 503 + Retry-After, then a body that breaks at 1 MiB, then 503 again, then the rest.
    const server = await startTestServer((req, res, i) => {
      if (i === 0 || i === 2) return void res.writeHead(503, { 'retry-after': '2' }).end();
      return serveBytes(req, res, file, { dropAfterBytes: i === 1 ? MiB : undefined });
    });
    cleanups.push(server.close);
    const clock = instantClock();
    const options = {
      ...baseOptions(await dir(), server.url(), file),
      maxRetries: 1,
      clock,
      random: () => 0,
      backoff: { baseMs: 10, capMs: 60_000 },
    };

    const result = await downloadBundle(options);

    expect(result.sha256).toBe(sha256(file));
    expect(server.requests).toHaveLength(4);
    // maxRetries = 1 allows the two 503s only because the broken body brought new bytes in between
    // (its own retry waits random() × baseMs = 0, so no timer).
    expect(clock.delays).toEqual([2_000, 2_000]);
  });
});

describe('downloadBundle: answers no retry can fix', () => {
  it('404 fails at once: DOWNLOAD_REFUSED, not retryable', async () => {
    const server = await startTestServer((_req, res) => void res.writeHead(404).end());
    cleanups.push(server.close);
    const file = randomFile(1024);
    const error = await failure(downloadBundle(baseOptions(await dir(), server.url(), file)));
    expect(error).toMatchObject({ code: 'DOWNLOAD_REFUSED', retryable: false });
    expect(server.requests).toHaveLength(1);
  });

  it('a Content-Length other than the job size: DOWNLOAD_SIZE_MISMATCH, partial and offset gone', async () => {
    const file = randomFile(MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file));
    cleanups.push(server.close);
    const options = { ...baseOptions(await dir(), server.url(), file), expectedSize: MiB - 1 };

    const error = await failure(downloadBundle(options));

    expect(error).toMatchObject({ code: 'DOWNLOAD_SIZE_MISMATCH', retryable: true });
    expect(existsSync(options.partialPath)).toBe(false);
    expect(await options.progressStore.load()).toBeUndefined();
  });

  it('a Content-Range total other than the job size on resume: DOWNLOAD_SIZE_MISMATCH', async () => {
    const file = randomFile(2 * MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file));
    cleanups.push(server.close);
    const options = { ...baseOptions(await dir(), server.url(), file.subarray(0, MiB + 5)) };
    await writeFile(options.partialPath, file.subarray(0, MiB));
    await options.progressStore.save(MiB);

    const error = await failure(downloadBundle(options));

    expect(error.code).toBe('DOWNLOAD_SIZE_MISMATCH');
    expect(error.message).toContain(`${2 * MiB} bytes`);
    expect(server.requests.map((r) => r.range)).toEqual([`bytes=${MiB}-`]);
  });

  it('416 naming another size than the job says: DOWNLOAD_SIZE_MISMATCH, no restart', async () => {
    const file = randomFile(MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file));
    cleanups.push(server.close);
    // The job says 3 MiB and an earlier run got 2 MiB of it; the store now has a 1 MiB file.
    const options = { ...baseOptions(await dir(), server.url(), randomFile(3 * MiB)) };
    await writeFile(options.partialPath, randomFile(2 * MiB));
    await options.progressStore.save(2 * MiB);

    const error = await failure(downloadBundle(options));

    expect(error.code).toBe('DOWNLOAD_SIZE_MISMATCH');
    expect(server.requests.map((r) => r.range)).toEqual([`bytes=${2 * MiB}-`]);
    expect(existsSync(options.partialPath)).toBe(false);
  });

  it('more bytes than the job says (no Content-Length): stops at once, DOWNLOAD_SIZE_MISMATCH', async () => {
    const file = randomFile(MiB);
    const server = await startTestServer((req, res) =>
      serveBytes(req, res, file, { contentLength: null, extra: randomFile(4096) }),
    );
    cleanups.push(server.close);
    const options = baseOptions(await dir(), server.url(), file);

    const error = await failure(downloadBundle(options));

    expect(error).toMatchObject({ code: 'DOWNLOAD_SIZE_MISMATCH', retryable: true });
    expect(existsSync(options.partialPath)).toBe(false);
  });

  it('exactly the bytes the job says with no Content-Length is fine', async () => {
    const file = randomFile(MiB + 17);
    const server = await startTestServer((req, res) => serveBytes(req, res, file, { contentLength: null }));
    cleanups.push(server.close);
    const options = baseOptions(await dir(), server.url(), file);
    expect((await downloadBundle(options)).sha256).toBe(sha256(file));
  });

  it('a SHA-256 other than the job says: DOWNLOAD_DIGEST_MISMATCH, partial and offset gone', async () => {
    const file = randomFile(3 * MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file));
    cleanups.push(server.close);
    const options = { ...baseOptions(await dir(), server.url(), file), expectedSha256: sha256(Buffer.from('other')) };

    const error = await failure(downloadBundle(options));

    expect(error).toMatchObject({ code: 'DOWNLOAD_DIGEST_MISMATCH', retryable: true });
    expect(existsSync(options.partialPath)).toBe(false);
    expect(await options.progressStore.load()).toBeUndefined();
  });

  it('bad options are refused before anything is touched', async () => {
    const d = await dir();
    const file = randomFile(16);
    const base = baseOptions(d, 'http://127.0.0.1:9/b', file);
    const cases = [
      // The job document's own fields: the job's fault.
      { options: { ...base, url: 'ftp://127.0.0.1/b' }, code: 'INVALID_JOB_DOCUMENT' },
      { options: { ...base, url: 'not a url' }, code: 'INVALID_JOB_DOCUMENT' },
      { options: { ...base, expectedSha256: 'abc' }, code: 'INVALID_JOB_DOCUMENT' },
      { options: { ...base, expectedSize: 0 }, code: 'INVALID_JOB_DOCUMENT' },
      { options: { ...base, expectedSize: 1.5 }, code: 'INVALID_JOB_DOCUMENT' },
      // The agent's own settings: a bug.
      { options: { ...base, maxRetries: -1 }, code: 'INTERNAL_ERROR' },
      { options: { ...base, maxBandwidthBytesPerSecond: 0 }, code: 'INTERNAL_ERROR' },
      { options: { ...base, syncEveryBytes: 10 }, code: 'INTERNAL_ERROR' },
      { options: { ...base, backoff: { baseMs: 10, capMs: 5 } }, code: 'INTERNAL_ERROR' },
    ];
    for (const { options, code } of cases) {
      const error = await failure(downloadBundle(options));
      expect(error).toMatchObject({ code, retryable: false });
      expect(error.message).toMatch(/^Invalid download option/);
    }
    expect(existsSync(base.partialPath)).toBe(false);
  });
});

describe('downloadBundle: cancel', () => {
  it('mid-download: stops, deletes the partial file and the offset, rejects CANCELED', async () => {
    const file = randomFile(8 * MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file));
    cleanups.push(server.close);
    const controller = new AbortController();
    let seen = 0;
    const options = {
      ...baseOptions(await dir(), server.url(), file),
      signal: controller.signal,
      maxBandwidthBytesPerSecond: 4 * MiB,
      progressIntervalMs: 0,
      onProgress: (bytes: number) => {
        seen = bytes;
      },
    };
    const running = failure(downloadBundle(options));
    await waitFor(async () => seen >= 2 * MiB && (await options.progressStore.load()) !== undefined);
    controller.abort();

    const error = await running;

    expect(error).toMatchObject({ code: 'CANCELED', retryable: false });
    expect(seen).toBeLessThan(file.byteLength);
    expect(existsSync(options.partialPath)).toBe(false);
    expect(await options.progressStore.load()).toBeUndefined();
  });

  it('during a backoff wait: the wait ends at once', async () => {
    const server = await startTestServer((_req, res) => void res.writeHead(503).end());
    cleanups.push(server.close);
    const controller = new AbortController();
    const file = randomFile(1024);
    const options = {
      ...baseOptions(await dir(), server.url(), file),
      signal: controller.signal,
      // A minute's wait: if cancel did not end it, this test would time out.
      backoff: { baseMs: 60_000, capMs: 60_000 },
      random: () => 0.999,
    };
    const running = failure(downloadBundle(options));
    await waitFor(() => server.requests.length === 1);
    controller.abort();
    expect((await running).code).toBe('CANCELED');
    expect(existsSync(options.partialPath)).toBe(false);
  });

  it('an already aborted signal deletes what an earlier run left', async () => {
    const file = randomFile(MiB);
    const options = { ...baseOptions(await dir(), 'http://127.0.0.1:9/b', file), signal: AbortSignal.abort() };
    await writeFile(options.partialPath, file.subarray(0, 1000));
    await options.progressStore.save(1000);
    expect((await failure(downloadBundle(options))).code).toBe('CANCELED');
    expect(existsSync(options.partialPath)).toBe(false);
    expect(await options.progressStore.load()).toBeUndefined();
  });
});

describe('downloadBundle: stop (agent shutdown)', () => {
  it('keeps the partial file, makes every received byte durable, and the next run resumes there', async () => {
    const file = randomFile(8 * MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file));
    cleanups.push(server.close);
    const stop = new AbortController();
    let seen = 0;
    const options = {
      ...baseOptions(await dir(), server.url(), file),
      stopSignal: stop.signal,
      maxBandwidthBytesPerSecond: 4 * MiB,
      progressIntervalMs: 0,
      onProgress: (bytes: number) => {
        seen = bytes;
      },
    };
    const running = failure(downloadBundle(options));
    await waitFor(() => seen >= 2 * MiB);
    stop.abort();

    const error = await running;

    expect(error).toMatchObject({ code: 'DOWNLOAD_STOPPED', retryable: true });
    const saved = (await options.progressStore.load()) ?? 0;
    // Not just the last 1 MiB sync point: everything that had arrived.
    expect(saved).toBe((await stat(options.partialPath)).size);
    expect(saved).toBeGreaterThanOrEqual(2 * MiB);
    expect(sha256((await readFile(options.partialPath)).subarray(0, saved))).toBe(sha256(file.subarray(0, saved)));

    const { stopSignal: _stopped, ...again } = options;
    const result = await downloadBundle({ ...again, maxBandwidthBytesPerSecond: 64 * MiB });
    expect(result.resumedFrom).toBe(saved);
    expect(server.requests.at(-1)?.range).toBe(`bytes=${saved}-`);
    expect(sha256(await readFile(options.partialPath))).toBe(sha256(file));
  });

  it('an already stopped signal touches nothing', async () => {
    const file = randomFile(MiB);
    const options = { ...baseOptions(await dir(), 'http://127.0.0.1:9/b', file), stopSignal: AbortSignal.abort() };
    await writeFile(options.partialPath, file.subarray(0, 1000));
    await options.progressStore.save(1000);
    expect((await failure(downloadBundle(options))).code).toBe('DOWNLOAD_STOPPED');
    expect((await readFile(options.partialPath)).byteLength).toBe(1000);
    expect(await options.progressStore.load()).toBe(1000);
  });
});

describe('downloadBundle: https with a pinned CA', () => {
  it('trusts the pinned store CA and refuses a server it does not vouch for, without retrying', async () => {
    const ca = await createCertificateAuthority({ commonName: 'bundle store CA' });
    const credential = await issueServerCertificate(ca);
    const file = randomFile(2 * MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file, { dropAfterBytes: MiB }), {
      key: credential.keyPem,
      cert: credential.certPem,
    });
    cleanups.push(server.close);
    expect(server.origin).toMatch(/^https:/);

    const pinned = { ...baseOptions(await dir(), server.url(), file), tls: { ca: ca.certPem } };
    const result = await downloadBundle(pinned);
    expect(result.sha256).toBe(sha256(file));
    expect(sha256(await readFile(pinned.partialPath))).toBe(sha256(file));
    expect(result.requests).toBe(2);

    const otherCa = await createCertificateAuthority({ commonName: 'someone else' });
    const clock = instantClock();
    const unpinned = { ...baseOptions(await dir(), server.url(), file), tls: { ca: otherCa.certPem }, clock };
    const error = await failure(downloadBundle(unpinned));
    expect(error).toMatchObject({ code: 'DOWNLOAD_REFUSED', retryable: false });
    expect(error.message).toContain('TLS');
    expect(clock.delays).toEqual([]);
    expect((await stat(unpinned.partialPath)).size).toBe(0);
  });
});
