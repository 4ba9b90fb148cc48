import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileProgressStore, type DownloadResult } from '@otafleet/agent';
import { MiB, randomFile, sha256, tempDir, waitFor } from './download-fixtures.js';
import { serveBytes, startTestServer } from './download-server.js';

const CHILD = fileURLToPath(new URL('./download-child.ts', import.meta.url));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startChild(job: object): { child: ChildProcess; output: () => string; exited: Promise<unknown> } {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CHILD, JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = once(child, 'exit');
  cleanups.push(() => void child.kill('SIGKILL'));
  return { child, output: () => out, exited };
}

describe('downloadBundle across processes', () => {
  it('a downloader killed with SIGKILL midway is resumed by the next process from the persisted offset', async () => {
    const file = randomFile(32 * MiB);
    const server = await startTestServer((req, res) => serveBytes(req, res, file));
    cleanups.push(server.close);
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    const job = {
      url: server.url(),
      expectedSize: file.byteLength,
      expectedSha256: sha256(file),
      partialPath: join(dir.path, 'bundle.part'),
      offsetPath: join(dir.path, 'bundle.offset'),
    };
    const store = createFileProgressStore(job.offsetPath);

    // The first process downloads at 8 MiB/s (~4 s for the file) and is killed once 8 MiB are durable.
    const first = startChild({ ...job, maxBandwidthBytesPerSecond: 8 * MiB });
    await waitFor(async () => ((await store.load()) ?? 0) >= 8 * MiB, 25_000);
    first.child.kill('SIGKILL');
    const [code, signal] = (await first.exited) as [number | null, string | null];
    expect([code, signal]).toEqual([null, 'SIGKILL']);
    expect(first.output()).not.toContain('DONE');

    // What the next process will trust: the saved offset, never more than the bytes on disk, all of them right.
    const saved = (await store.load()) ?? 0;
    expect(saved).toBeLessThan(file.byteLength);
    const onDisk = await readFile(job.partialPath);
    expect(onDisk.byteLength).toBeGreaterThanOrEqual(saved);
    expect(sha256(onDisk.subarray(0, saved))).toBe(sha256(file.subarray(0, saved)));
    const requestsBefore = server.requests.length;

    const second = startChild(job);
    const [secondCode] = (await second.exited) as [number | null];
    expect(secondCode).toBe(0);
    const result = JSON.parse(/^DONE (.*)$/m.exec(second.output())?.[1] ?? '{}') as DownloadResult;

    expect(server.requests[requestsBefore]?.range).toBe(`bytes=${saved}-`);
    expect(result.resumedFrom).toBe(saved);
    expect(result.networkBytes).toBe(file.byteLength - saved);
    expect(result.sha256).toBe(sha256(file));
    expect(sha256(await readFile(job.partialPath))).toBe(sha256(file));
    expect((await stat(job.partialPath)).size).toBe(file.byteLength);
  });
});
