import { readFile, stat, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileProgressStore, downloadBundle, type DownloadError } from '@otafleet/agent';
import { baseOptions, MiB, randomFile, sha256, tempDir } from './download-fixtures.js';
import { answerExpired, serveBytes, startTestServer, type RecordedRequest } from './download-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ dir: string }> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  return { dir: dir.path };
}

function rangeStart(range: string | undefined): number {
  return range === undefined ? 0 : Number(/^bytes=(\d+)-$/.exec(range)?.[1]);
}

/**
 * Each request continues where the previous one broke off: past its start, at most at what the server sent
 * (bytes still in the client's stream buffer when the socket died are lost, so a little less).
 */
function expectContinuous(requests: readonly RecordedRequest[]): void {
  for (let i = 1; i < requests.length; i++) {
    const before = requests[i - 1];
    const start = rangeStart(requests[i]?.range);
    const reached = rangeStart(before?.range) + (before?.sent ?? Number.NaN);
    expect(start).toBeGreaterThan(rangeStart(before?.range));
    expect(start).toBeLessThanOrEqual(reached);
    expect(start).toBeGreaterThan(reached - 256 * 1024);
  }
}

describe('downloadBundle: resume over Range', () => {
  it('a server that drops the connection every ~3 MB still yields the exact file', async () => {
    const file = randomFile(20 * MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file, { dropAfterBytes: 3 * MiB }));
    cleanups.push(server.close);
    const { dir } = await setup();
    const options = { ...baseOptions(dir, server.url(), file), maxRetries: 2 };

    const result = await downloadBundle(options);

    expect(result.sha256).toBe(sha256(file));
    expect(sha256(await readFile(options.partialPath))).toBe(sha256(file));
    // 20 MiB in ~3 MiB pieces: 7 or 8 requests, each continuing where the previous one broke off.
    expect(server.requests.length).toBeGreaterThanOrEqual(7);
    expect(server.requests.length).toBeLessThanOrEqual(8);
    expectContinuous(server.requests);
    expect(result.networkBytes).toBe(file.byteLength);
    expect(result.restartsFromZero).toBe(0);
    expect(await options.progressStore.load()).toBe(file.byteLength);
  });

  it('a server without Range support restarts from byte 0 cleanly and succeeds', async () => {
    const file = randomFile(6 * MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file, { range: false }));
    cleanups.push(server.close);
    const { dir } = await setup();
    const options = baseOptions(dir, server.url(), file);
    // An earlier run left 2 MiB and their offset.
    await writeFile(options.partialPath, file.subarray(0, 2 * MiB));
    await options.progressStore.save(2 * MiB);

    const result = await downloadBundle(options);

    expect(server.requests.map((r) => r.range)).toEqual([`bytes=${2 * MiB}-`]);
    expect(result.resumedFrom).toBe(2 * MiB);
    expect(result.restartsFromZero).toBe(1);
    expect(result.networkBytes).toBe(file.byteLength);
    expect(sha256(await readFile(options.partialPath))).toBe(sha256(file));
  });

  it('without Range support, drops at the same place fail after the retries (no endless restarts)', async () => {
    const file = randomFile(4 * MiB);
    const server = await startTestServer((req, res) =>
      serveBytes(req, res, file, { range: false, dropAfterBytes: MiB }),
    );
    cleanups.push(server.close);
    const { dir } = await setup();
    const options = { ...baseOptions(dir, server.url(), file), maxRetries: 3 };

    const error = (await downloadBundle(options).catch((e: unknown) => e)) as DownloadError;

    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(error.retryable).toBe(true);
    // Every attempt restarts at byte 0 and breaks near 1 MiB: no new high-water mark, so the retries run
    // out (maxRetries + 1 failures in a row; an attempt that happens to keep a few KB more than any before
    // counts as progress once in a while, hence a range).
    expect(server.requests.length).toBeGreaterThanOrEqual(4);
    expect(server.requests.length).toBeLessThanOrEqual(10);
    expect(server.requests.slice(1).every((r) => rangeStart(r.range) > 0)).toBe(true);
    expect(error.message).toContain('without progress');
  });

  it('continues from a persisted offset and distrusts bytes past it', async () => {
    const file = randomFile(5 * MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file));
    cleanups.push(server.close);
    const { dir } = await setup();
    const options = baseOptions(dir, server.url(), file);
    // 3 MiB on disk, but only 2 MiB were saved as durable: the third MiB is garbage (never synced).
    await writeFile(options.partialPath, Buffer.concat([file.subarray(0, 2 * MiB), randomFile(MiB)]));
    await options.progressStore.save(2 * MiB);

    const result = await downloadBundle(options);

    expect(server.requests.map((r) => r.range)).toEqual([`bytes=${2 * MiB}-`]);
    expect(result.resumedFrom).toBe(2 * MiB);
    expect(result.networkBytes).toBe(3 * MiB);
    expect(sha256(await readFile(options.partialPath))).toBe(sha256(file));
  });

  it('an offset larger than the partial file is not trusted: starts from byte 0', async () => {
    const file = randomFile(2 * MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file));
    cleanups.push(server.close);
    const { dir } = await setup();
    const options = baseOptions(dir, server.url(), file);
    await writeFile(options.partialPath, file.subarray(0, MiB / 2));
    await options.progressStore.save(MiB);

    const result = await downloadBundle(options);

    expect(server.requests.map((r) => r.range)).toEqual([undefined]);
    expect(result.resumedFrom).toBe(0);
    expect(sha256(await readFile(options.partialPath))).toBe(sha256(file));
  });

  it('a file complete on disk is checked without a request', async () => {
    const file = randomFile(MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file));
    cleanups.push(server.close);
    const { dir } = await setup();
    const options = baseOptions(dir, server.url(), file);
    await writeFile(options.partialPath, file);
    await options.progressStore.save(file.byteLength);

    const result = await downloadBundle(options);

    expect(server.requests).toHaveLength(0);
    expect(result).toMatchObject({ resumedFrom: file.byteLength, networkBytes: 0, sha256: sha256(file) });
  });

  it('416 at the offset restarts from byte 0 once, with a request for the whole file', async () => {
    const file = randomFile(2 * MiB);
    const server = await startTestServer((req, res, i) => {
      if (i === 0) {
        res.writeHead(416).end();
        return;
      }
      return serveBytes(req, res, file);
    });
    cleanups.push(server.close);
    const { dir } = await setup();
    const options = baseOptions(dir, server.url(), file);
    await writeFile(options.partialPath, file.subarray(0, MiB));
    await options.progressStore.save(MiB);

    const result = await downloadBundle(options);

    expect(server.requests.map((r) => r.range)).toEqual([`bytes=${MiB}-`, undefined]);
    expect(result.restartsFromZero).toBe(1);
    expect(sha256(await readFile(options.partialPath))).toBe(sha256(file));
  });

  it('a Content-Range at another offset restarts from byte 0 once; a second time fails', async () => {
    const file = randomFile(2 * MiB);
    const lying = await startTestServer((req, res, i) => serveBytes(req, res, file, i === 0 ? { claimStart: 0 } : {}));
    cleanups.push(lying.close);
    const { dir } = await setup();
    const options = baseOptions(dir, lying.url(), file);
    await writeFile(options.partialPath, file.subarray(0, MiB));
    await options.progressStore.save(MiB);

    const result = await downloadBundle(options);
    expect(lying.requests.map((r) => r.range)).toEqual([`bytes=${MiB}-`, undefined]);
    expect(result.restartsFromZero).toBe(1);
    expect(sha256(await readFile(options.partialPath))).toBe(sha256(file));

    // A server that keeps answering with a wrong Content-Range, also after the restart, is given up on.
    const alwaysLying = await startTestServer((req, res) =>
      serveBytes(req, res, file, { claimStart: 7, dropAfterBytes: MiB / 2 }),
    );
    cleanups.push(alwaysLying.close);
    const second = await setup();
    const o2 = baseOptions(second.dir, alwaysLying.url(), file);
    await writeFile(o2.partialPath, file.subarray(0, MiB));
    await o2.progressStore.save(MiB);
    // Request 2 (no Range) gets a 200 and drops at 512 KiB; request 3 continues there and is lied to again.
    const error = (await downloadBundle(o2).catch((e: unknown) => e)) as DownloadError;
    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(alwaysLying.requests).toHaveLength(3);
    expect(alwaysLying.requests.slice(0, 2).map((r) => r.range)).toEqual([`bytes=${MiB}-`, undefined]);
    expect(rangeStart(alwaysLying.requests[2]?.range)).toBeGreaterThan(0);
    expect(rangeStart(alwaysLying.requests[2]?.range)).toBeLessThanOrEqual(MiB / 2);
  });
});

describe('downloadBundle: an expired presigned URL', () => {
  /**
   * A bundle store whose URLs carry a token good for `budget` body bytes: the response that crosses the
   * budget is cut there, and any later request with that token is refused as S3 refuses an expired
   * presigned URL. `mint()` issues the next token (what re-reading the job document does).
   */
  async function expiringStore(file: Buffer, budget: number) {
    const spent = new Map<string, number>();
    let minted = 0;
    const server = await startTestServer(async (req, res) => {
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '';
      const used = spent.get(token);
      if (used === undefined || used >= budget) {
        answerExpired(res);
        return;
      }
      const sent = await serveBytes(req, res, file, { dropAfterBytes: budget - used });
      spent.set(token, used + sent);
    });
    const mint = (): string => {
      const token = `t${++minted}`;
      spent.set(token, 0);
      return server.url(`/bundle.otab?token=${token}`);
    };
    return { server, mint, minted: () => minted };
  }

  it('is refreshed through refreshUrl and the download continues at the same offset', async () => {
    const file = randomFile(8 * MiB);
    const store = await expiringStore(file, 3 * MiB);
    cleanups.push(store.server.close);
    const { dir } = await setup();
    const options = { ...baseOptions(dir, store.mint(), file), refreshUrl: () => Promise.resolve(store.mint()) };

    const result = await downloadBundle(options);

    expect(sha256(await readFile(options.partialPath))).toBe(sha256(file));
    expect(result.urlRefreshes).toBe(2);
    const seen = store.server.requests.map((r) => ({ token: r.path.split('=')[1], from: rangeStart(r.range) }));
    // t1 serves 3 MiB and breaks; t1 again is refused; t2 continues at that same offset, and so on.
    expect(seen.map((r) => r.token)).toEqual(['t1', 't1', 't2', 't2', 't3']);
    expect(seen[0]?.from).toBe(0);
    expect(seen[1]?.from).toBeGreaterThan(2 * MiB);
    expect(seen[2]?.from).toBe(seen[1]?.from);
    expect(seen[3]?.from).toBeGreaterThan(seen[2]?.from ?? 0);
    expect(seen[4]?.from).toBe(seen[3]?.from);
  });

  it('fails with DOWNLOAD_URL_EXPIRED when refreshUrl fails, keeping the partial file for later', async () => {
    const file = randomFile(4 * MiB);
    const store = await expiringStore(file, 2 * MiB);
    cleanups.push(store.server.close);
    const { dir } = await setup();
    const options = {
      ...baseOptions(dir, store.mint(), file),
      refreshUrl: () => Promise.reject(new Error('job document unavailable')),
    };

    const error = (await downloadBundle(options).catch((e: unknown) => e)) as DownloadError;

    expect(error.code).toBe('DOWNLOAD_URL_EXPIRED');
    expect(error.retryable).toBe(true);
    expect((await stat(options.partialPath)).size).toBeGreaterThanOrEqual(MiB);
    expect(await options.progressStore.load()).toBeGreaterThan(0);
  });

  it('fails with DOWNLOAD_URL_EXPIRED when fresh URLs keep being refused', async () => {
    const file = randomFile(MiB);
    const server = await startTestServer((_req, res) => answerExpired(res));
    cleanups.push(server.close);
    const { dir } = await setup();
    let refreshed = 0;
    const options = {
      ...baseOptions(dir, server.url(), file),
      maxUrlRefreshes: 2,
      refreshUrl: () => Promise.resolve(server.url(`/bundle.otab?n=${++refreshed}`)),
    };

    const error = (await downloadBundle(options).catch((e: unknown) => e)) as DownloadError;

    expect(error.code).toBe('DOWNLOAD_URL_EXPIRED');
    expect(error.message).toContain('AccessDenied: Request has expired');
    expect(refreshed).toBe(2);
    expect(server.requests).toHaveLength(3);
  });

  it('a 403 is final when isExpiredUrl says it is not an expiry', async () => {
    const file = randomFile(MiB);
    const server = await startTestServer((_req, res) => answerExpired(res));
    cleanups.push(server.close);
    const { dir } = await setup();
    let refreshed = 0;
    const options = {
      ...baseOptions(dir, server.url(), file),
      isExpiredUrl: () => false,
      refreshUrl: () => Promise.resolve(server.url(`/x?${++refreshed}`)),
    };
    const error = (await downloadBundle(options).catch((e: unknown) => e)) as DownloadError;
    expect(error).toMatchObject({ code: 'DOWNLOAD_REFUSED', retryable: false });
    expect(refreshed).toBe(0);
  });
});

describe('downloadBundle: redirects', () => {
  it('follows a redirect to the store (the original URL is asked again after a drop)', async () => {
    const file = randomFile(3 * MiB);
    const server = await startTestServer((req, res) => {
      if (req.url === '/bundle.otab') {
        res.writeHead(307, { location: '/store/b.otab' }).end();
        return;
      }
      return serveBytes(req, res, file, { dropAfterBytes: 2 * MiB });
    });
    cleanups.push(server.close);
    const { dir } = await setup();
    const options = baseOptions(dir, server.url(), file);
    await downloadBundle(options);
    expect(server.requests.map((r) => r.path)).toEqual([
      '/bundle.otab',
      '/store/b.otab',
      '/bundle.otab',
      '/store/b.otab',
    ]);
    expect(server.requests.slice(0, 2).map((r) => r.range)).toEqual([undefined, undefined]);
    expect(rangeStart(server.requests[2]?.range)).toBeGreaterThan(MiB);
    expect(server.requests[3]?.range).toBe(server.requests[2]?.range);
    expect(sha256(await readFile(options.partialPath))).toBe(sha256(file));
  });
});

describe('createFileProgressStore', () => {
  it('saves, loads and clears an offset; a damaged file means no offset', async () => {
    const { dir } = await setup();
    const store = createFileProgressStore(`${dir}/o.json`);
    expect(await store.load()).toBeUndefined();
    await store.save(12345);
    expect(await store.load()).toBe(12345);
    await writeFile(`${dir}/o.json`, '{"offset":');
    expect(await store.load()).toBeUndefined();
    await writeFile(`${dir}/o.json`, '{"offset":-4}');
    expect(await store.load()).toBeUndefined();
    await store.save(7);
    await store.clear();
    expect(await store.load()).toBeUndefined();
  });
});
