import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openS3BundleStore, type BundleStore } from '@otafleet/fleet-service';
import { bundleStoreContract, release } from './bundle-store-contract.js';
import { bundleBytes, chunks, trustOf } from './fleet-bundles.js';
import { startTestS3, type TestS3 } from './s3-server.js';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3.close();
});
beforeEach(async () => {
  await s3.clear();
});

/** An S3 client that records the name of every command it sends (the SDK's own middleware stack). */
function recordingClient(): { client: S3Client; sent: string[] } {
  const client = s3.client();
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize' },
  );
  return { client, sent };
}

const openStore = (tmpDir: string, partSize?: number, client: S3Client = s3.client()): BundleStore =>
  openS3BundleStore({
    client,
    bucket: s3.bucket,
    prefix: 'fleet/',
    trust: trustOf(release),
    tmpDir,
    ...(partSize === undefined ? {} : { partSize }),
  });

bundleStoreContract('S3 (s3rver)', () => {
  const tmpDir = mkdtempSync(join(tmpdir(), 'bundles-s3-'));
  return Promise.resolve({
    store: openStore(tmpDir),
    storedNothing: async () => (await s3.keys()).length === 0 && readdirSync(tmpDir).length === 0,
    reopen: () => Promise.resolve(openStore(tmpDir)),
  });
});

describe('S3 bundle store', () => {
  it('keeps the bytes under sha256/<hex>.otab with the release in the object metadata, and the record beside', async () => {
    const store = openStore(mkdtempSync(join(tmpdir(), 'bundles-s3-')));
    const put = await store.put(chunks(await bundleBytes(release)), { uploadedBy: 'a', at: Date.now(), maxBytes: 1e7 });
    if (!put.ok) throw new Error(put.error.message);
    const { sha256, size, manifestSha256 } = put.value.bundle;
    expect(await s3.keys()).toEqual([`fleet/records/${sha256}.json`, `fleet/sha256/${sha256}.otab`]);
    const head = await s3
      .client()
      .send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `fleet/sha256/${sha256}.otab` }));
    expect(head.ContentLength).toBe(size);
    expect(head.Metadata).toMatchObject({ 'bundle-version': '1.1.0', 'manifest-sha256': manifestSha256 });
    await store.close();
  });

  it('adopts bytes already in the bucket whose record is missing (a crash between the two writes)', async () => {
    const tmpDir = mkdtempSync(join(tmpdir(), 'bundles-s3-'));
    const bytes = await bundleBytes(release, '2.0.0');
    const first = openStore(tmpDir);
    const put = await first.put(chunks(bytes), { uploadedBy: 'a', at: Date.now(), maxBytes: 1e7 });
    if (!put.ok) throw new Error(put.error.message);
    const { sha256 } = put.value.bundle;
    // The record goes; the bytes stay: the bundle is unknown until uploaded again, then known without a re-send.
    await s3.client().send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `fleet/records/${sha256}.json` }));
    const recording = recordingClient();
    const second = openStore(tmpDir, undefined, recording.client);
    expect(await second.get(sha256)).toBeUndefined();
    const again = await second.put(chunks(bytes), { uploadedBy: 'b', at: Date.now() + 1, maxBytes: 1e7 });
    expect(again).toMatchObject({ ok: true, value: { created: true, bundle: { sha256, uploadedBy: 'b' } } });
    // Only the record was written: the bytes were found by HeadObject and not sent again.
    expect(recording.sent.filter((c) => c !== 'GetObjectCommand')).toEqual(['HeadObjectCommand', 'PutObjectCommand']);
    expect((await second.list()).map((b) => b.sha256)).toEqual([sha256]);
    await first.close();
    await second.close();
  });

  it('uploads a bundle larger than one part as a multipart upload', async () => {
    const recording = recordingClient();
    const store = openStore(mkdtempSync(join(tmpdir(), 'bundles-s3-')), undefined, recording.client);
    // 12 MB of payload: three parts of 5 MiB; the object must come back whole.
    const bytes = await bundleBytes(release, '3.0.0', undefined, 12_000_000);
    const put = await store.put(chunks(bytes, 256 * 1024), { uploadedBy: 'a', at: Date.now(), maxBytes: 1e8 });
    if (!put.ok) throw new Error(put.error.message);
    const tail = put.value.bundle.size - 1;
    const last = Buffer.from(
      await text((await store.read(put.value.bundle.sha256, { start: tail - 9, end: tail })).setEncoding('latin1')),
      'latin1',
    );
    expect(last.equals(bytes.subarray(bytes.byteLength - 10))).toBe(true);
    const head = await s3
      .client()
      .send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `fleet/sha256/${put.value.bundle.sha256}.otab` }));
    expect(head.ContentLength).toBe(bytes.byteLength);
    expect(recording.sent.filter((c) => c.includes('Multipart') || c === 'UploadPartCommand')).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'CompleteMultipartUploadCommand',
    ]);
    await store.close();
  });
});
