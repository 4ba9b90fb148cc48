import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/app/config.js';
import { substitutePresignedUrls } from '../src/jobs/presigned-url.js';
import {
  checkS3PresignEndpoint,
  parseS3Url,
  presignS3Get,
  S3PresignConfigError,
  type S3PresignTarget,
} from '../src/jobs/s3-presign.js';
import { NodeSha256 } from '../src/testing/sigv4-fetch.js';

const TARGET: S3PresignTarget = {
  endpoint: 'http://127.0.0.1:40123',
  region: 'eu-west-1',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const NOW = Date.UTC(2026, 5, 1, 12, 30, 45);

/** The same GET presigned by @smithy/signature-v4 (what the AWS SDK's S3 presigner runs), as a URL. */
async function smithyPresign(target: S3PresignTarget, path: string, nowMs: number, expiresIn: number) {
  const base = new URL(target.endpoint);
  const signer = new SignatureV4({
    service: 's3',
    region: target.region,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    sha256: NodeSha256,
    uriEscapePath: false,
  });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port === '' ? {} : { port: Number(base.port) }),
      path,
      query: {},
      headers: { host: base.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    {
      expiresIn,
      signingDate: new Date(nowMs),
      unsignableHeaders: new Set(['x-amz-content-sha256']),
      unhoistableHeaders: new Set(['x-amz-content-sha256']),
    },
  );
  return new URL(
    `${base.protocol}//${base.host}${signed.path}?${new URLSearchParams(signed.query as Record<string, string>).toString()}`,
  );
}

const params = (url: URL): Record<string, string> => Object.fromEntries([...url.searchParams].sort());

describe('S3 presigning in the core (the stand-in for the role of presignedUrlConfig)', () => {
  it('signs exactly as the AWS SDK signer does, on an http loopback endpoint with a port and on https', async () => {
    for (const target of [TARGET, { ...TARGET, endpoint: 'https://s3.eu-west-1.example.test' }]) {
      const mine = new URL(presignS3Get(target, { bucket: 'ota-bundles', key: 'sha256/ab12.otab' }, NOW, 900));
      const theirs = await smithyPresign(target, '/ota-bundles/sha256/ab12.otab', NOW, 900);
      expect(mine.origin).toBe(theirs.origin);
      expect(mine.pathname).toBe('/ota-bundles/sha256/ab12.otab');
      expect(params(mine)).toEqual(params(theirs));
      expect(mine.searchParams.get('X-Amz-Expires')).toBe('900');
      expect(mine.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20260601/eu-west-1/s3/aws4_request');
    }
    // A different secret gives a different signature: the comparison above could fail.
    const other = new URL(
      presignS3Get({ ...TARGET, secretAccessKey: 'another-secret' }, { bucket: 'ota-bundles', key: 'k' }, NOW, 60),
    );
    const same = new URL(presignS3Get(TARGET, { bucket: 'ota-bundles', key: 'k' }, NOW, 60));
    expect(other.searchParams.get('X-Amz-Signature')).not.toBe(same.searchParams.get('X-Amz-Signature'));
  });

  it('reads the virtual-hosted and path-style S3 URLs AWS accepts, and nothing else', () => {
    expect(parseS3Url('https://ota-bundles.s3.eu-west-1.amazonaws.com/sha256/ab.otab')).toEqual({
      bucket: 'ota-bundles',
      key: 'sha256/ab.otab',
    });
    expect(parseS3Url('https://ota-bundles.s3.amazonaws.com/a/b')).toEqual({ bucket: 'ota-bundles', key: 'a/b' });
    expect(parseS3Url('https://s3.us-east-1.amazonaws.com/ota-bundles/a/b')).toEqual({
      bucket: 'ota-bundles',
      key: 'a/b',
    });
    expect(parseS3Url('https://bundles.example/fw/app.bundle')).toBeUndefined();
    expect(parseS3Url('http://ota-bundles.s3.amazonaws.com/a')).toBeUndefined();
    expect(parseS3Url('https://s3.amazonaws.com/only-bucket')).toBeUndefined();
    expect(parseS3Url('https://ota-bundles.s3.amazonaws.com/a?versionId=1')).toBeUndefined();
    expect(parseS3Url('not a url')).toBeUndefined();
  });

  it('allows plain http for a loopback S3 endpoint only', () => {
    expect(checkS3PresignEndpoint('https://s3.example.test').protocol).toBe('https:');
    expect(checkS3PresignEndpoint('http://127.0.0.1:9000').host).toBe('127.0.0.1:9000');
    expect(checkS3PresignEndpoint('http://localhost:9000').hostname).toBe('localhost');
    for (const bad of ['http://10.0.0.5:9000', 'http://s3.example.test', 'ftp://127.0.0.1', 'nope']) {
      expect(() => checkS3PresignEndpoint(bad)).toThrow(S3PresignConfigError);
    }
    expect(() =>
      presignS3Get({ ...TARGET, endpoint: 'http://192.168.1.2' }, { bucket: 'b', key: 'k' }, NOW, 60),
    ).toThrow(/must be https/);
  });

  it('is configured from OTA_CORE_S3_*: all or none, and an http endpoint off loopback is refused', () => {
    const env = {
      OTA_CORE_S3_ENDPOINT: 'http://127.0.0.1:9000',
      OTA_CORE_S3_ACCESS_KEY_ID: 'S3KEY',
      OTA_CORE_S3_SECRET_ACCESS_KEY: 'S3SECRET',
    };
    expect(loadConfig(['--region', 'eu-west-1'], env).s3Presign).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      accessKeyId: 'S3KEY',
      secretAccessKey: 'S3SECRET',
    });
    expect(loadConfig([], {}).s3Presign).toBeUndefined();
    expect(() => loadConfig([], { OTA_CORE_S3_ENDPOINT: 'http://127.0.0.1:9000' })).toThrow(ConfigError);
    expect(() => loadConfig([], { OTA_CORE_S3_ENDPOINT: 'http://127.0.0.1:9000' })).toThrow(/needs all of/);
    expect(() => loadConfig([], { ...env, OTA_CORE_S3_ENDPOINT: 'http://10.1.2.3:9000' })).toThrow(
      /OTA_CORE_S3_ENDPOINT: .*must be https/,
    );
  });

  it('substitutes S3 placeholders with presigned GETs on the endpoint, fresh at every read; other URLs as before', () => {
    const doc = {
      s3: '${aws:iot:s3-presigned-url:https://ota-bundles.s3.eu-west-1.amazonaws.com/sha256/ab.otab}',
      other: '${aws:iot:s3-presigned-url:https://bundles.example/fw/app.bundle}',
    };
    const read = (nowMs: number, s3: S3PresignTarget | undefined) =>
      substitutePresignedUrls(JSON.stringify(doc), doc, { key: Buffer.alloc(32, 1), nowMs, expiresInSec: 120, s3 }) as {
        s3: string;
        other: string;
      };
    const first = read(NOW, TARGET);
    const url = new URL(first.s3);
    expect(url.origin).toBe('http://127.0.0.1:40123');
    expect(url.pathname).toBe('/ota-bundles/sha256/ab.otab');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20260601T123045Z');
    expect(first.other.startsWith('https://bundles.example/fw/app.bundle?')).toBe(true);
    expect(first.other).not.toContain('X-Amz-');

    const later = read(NOW + 120_000, TARGET);
    expect(new URL(later.s3).searchParams.get('X-Amz-Date')).toBe('20260601T123245Z');
    expect(later.s3).not.toBe(first.s3);

    // Without an S3 endpoint the core signs the URL with its bundle-URL key, as it always did.
    expect(read(NOW, undefined).s3.startsWith('https://ota-bundles.s3.eu-west-1.amazonaws.com/sha256/ab.otab?')).toBe(
      true,
    );
  });
});
