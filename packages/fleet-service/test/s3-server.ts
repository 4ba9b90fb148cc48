/**
 * A real S3-compatible server (s3rver) on a free port of 127.0.0.1 with one bucket, for the S3 bundle store and
 * the AWS-configuration test. s3rver checks that a request's access key is one it knows and that a presigned
 * URL has not expired; it does not recompute SigV4 signatures (the core's presigner is checked against the AWS
 * SDK's signer in the core's own tests).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** The key pair s3rver ships with (it knows no other until one is registered). */
export const S3RVER_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

interface AwsAccount {
  createKeyPair(accessKeyId: string, secretAccessKey: string): void;
}

export interface TestS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  /** An SDK client for the bucket, with s3rver's own keys. */
  client(): S3Client;
  /** Every key in the bucket. */
  keys(): Promise<string[]>;
  /** Empties the bucket. */
  clear(): Promise<void>;
  /** Lets another access key into s3rver's one account (as an IAM user's key is known to S3). */
  allowKey(accessKeyId: string, secretAccessKey: string): void;
  close(): Promise<void>;
}

export async function startTestS3(bucket = 'ota-bundles'): Promise<TestS3> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: dir,
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const info = await server.run();
  const endpoint = `http://127.0.0.1:${info.port}`;
  const region = 'us-east-1';
  const clients: S3Client[] = [];
  const client = (): S3Client => {
    const c = new S3Client({ region, endpoint, forcePathStyle: true, credentials: S3RVER_KEYS });
    clients.push(c);
    return c;
  };
  const admin = client();
  const keys = async (): Promise<string[]> => {
    const out = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
  };
  return {
    endpoint,
    bucket,
    region,
    client,
    keys,
    async clear() {
      const all = await keys();
      if (all.length > 0) {
        await admin.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: all.map((Key) => ({ Key })) } }),
        );
      }
    },
    allowKey(accessKeyId, secretAccessKey) {
      // s3rver's account model has no public API; its module is plain CommonJS.
      const require = createRequire(import.meta.url);
      const account = (require('s3rver/lib/models/account') as { DUMMY_ACCOUNT: AwsAccount }).DUMMY_ACCOUNT;
      account.createKeyPair(accessKeyId, secretAccessKey);
    },
    async close() {
      for (const c of clients) c.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
