import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { TrustStore } from '@otafleet/bundle';
import { ok } from '@otafleet/protocol';
import { SHA256_HEX, type BundleStore, type StoredBundle } from './types.js';
import { receiveVerified } from './verified-upload.js';

export interface S3BundleStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Prepended to every key (e.g. `ota/`), so the bucket can hold other things. */
  readonly prefix?: string;
  readonly trust: TrustStore;
  /** A local directory uploads are verified into before anything is sent to S3. */
  readonly tmpDir: string;
  /** Multipart part size (bytes, at least S3's 5 MiB); bundles smaller than one part go up in one PUT. */
  readonly partSize?: number;
}

export interface S3BundleStore extends BundleStore {
  /** The S3 key of a bundle's bytes. */
  keyOf(sha256: string): string;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
const LIST_CONCURRENCY = 8;

const notFound = (e: unknown): boolean =>
  (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404 ||
  (e instanceof Error && (e.name === 'NoSuchKey' || e.name === 'NotFound'));

/**
 * The bundle store in S3: the bundle's bytes under `sha256/<hex>.otab` (content-addressed) and what it is — the
 * record the API lists — as JSON under `records/<hex>.json`. The record is written after the bytes, so a crash
 * between them leaves an unlisted object that the next upload of the same bytes adopts, never a record without
 * its bytes. Records are immutable (the same bytes are the same bundle), so they are cached once read.
 */
export function openS3BundleStore(options: S3BundleStoreOptions): S3BundleStore {
  const { client, bucket } = options;
  const prefix = options.prefix ?? '';
  const keyOf = (sha256: string): string => `${prefix}sha256/${sha256}.otab`;
  const recordKey = (sha256: string): string => `${prefix}records/${sha256}.json`;
  const cache = new Map<string, StoredBundle>();

  async function readRecord(sha256: string): Promise<StoredBundle | undefined> {
    const cached = cache.get(sha256);
    if (cached !== undefined) return cached;
    let text: string;
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: recordKey(sha256) }));
      text = (await out.Body?.transformToString('utf8')) ?? '';
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
    const record = JSON.parse(text) as StoredBundle;
    if (record.sha256 !== sha256) throw new Error(`S3 record ${recordKey(sha256)} names bundle ${record.sha256}`);
    cache.set(sha256, record);
    return record;
  }

  async function objectSize(key: string): Promise<number | undefined> {
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return head.ContentLength;
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }

  return {
    keyOf,
    async put(source, put) {
      const received = await receiveVerified(source, {
        tmpDir: options.tmpDir,
        trust: options.trust,
        at: put.at,
        maxBytes: put.maxBytes,
      });
      if (!received.ok) return received;
      const { sha256, size, verified, tmpPath } = received.value;
      try {
        const existing = await readRecord(sha256);
        if (existing !== undefined) return ok({ bundle: existing, created: false });
        // HeadObject first: bytes already there (a crash before their record was written) are not sent again.
        if ((await objectSize(keyOf(sha256))) !== size) {
          await new Upload({
            client,
            partSize: Math.max(MIN_PART_SIZE, options.partSize ?? MIN_PART_SIZE),
            leavePartsOnError: false,
            params: {
              Bucket: bucket,
              Key: keyOf(sha256),
              Body: createReadStream(tmpPath),
              ContentType: 'application/octet-stream',
              Metadata: {
                'bundle-name': verified.manifest.name,
                'bundle-version': verified.manifest.version,
                'manifest-sha256': verified.manifestSha256,
                'key-id': verified.keyId,
              },
            },
          }).done();
          const landed = await objectSize(keyOf(sha256));
          if (landed !== size)
            throw new Error(`S3 holds ${landed ?? 'nothing'} bytes of bundle ${sha256}, not ${size}`);
        }
        const bundle: StoredBundle = {
          sha256,
          size,
          manifest: verified.manifest,
          manifestSha256: verified.manifestSha256,
          keyId: verified.keyId,
          uploadedAt: put.at,
          uploadedBy: put.uploadedBy,
        };
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: recordKey(sha256),
            Body: JSON.stringify(bundle),
            ContentType: 'application/json',
          }),
        );
        cache.set(sha256, bundle);
        return ok({ bundle, created: true });
      } finally {
        await received.value.discard();
      }
    },
    get: (sha256) => (SHA256_HEX.test(sha256) ? readRecord(sha256) : Promise.resolve(undefined)),
    async list() {
      const ids: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}records/`, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          const id = /([0-9a-f]{64})\.json$/.exec(o.Key ?? '')?.[1];
          if (id !== undefined) ids.push(id);
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      const records: StoredBundle[] = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < ids.length) {
          const record = await readRecord(ids[next++] ?? '');
          if (record !== undefined) records.push(record);
        }
      };
      await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, ids.length) }, worker));
      return records.sort((a, b) => a.uploadedAt - b.uploadedAt || a.sha256.localeCompare(b.sha256));
    },
    async read(sha256, range) {
      if (!SHA256_HEX.test(sha256)) throw new Error(`not a bundle id: ${sha256}`);
      const out = await client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: keyOf(sha256),
          ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end}` }),
        }),
      );
      if (!(out.Body instanceof Readable)) throw new Error(`S3 answered bundle ${sha256} without a body stream`);
      return out.Body;
    },
    close: () => Promise.resolve(),
  };
}
