import { join } from 'node:path';
import type { TrustStore } from '@otafleet/bundle';
import { signBundleUrl } from '@otafleet/protocol';
import { openBundleStore } from './bundle-store.js';
import type { BundleStore, JobPresignedUrlConfig, StoredBundle } from './types.js';

/** Bundles in S3 (AWS's or an S3-compatible server), handed to devices through AWS IoT's presigned URLs. */
export interface S3BundleConfig {
  readonly bucket: string;
  readonly region: string;
  /** An S3-compatible server instead of AWS's regional endpoint. */
  readonly endpoint?: string;
  /** `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>` (what most S3-compatible servers want). */
  readonly forcePathStyle?: boolean;
  /** Prepended to every key. */
  readonly prefix?: string;
  /**
   * The install jobs' presignedUrlConfig: the role AWS IoT assumes to presign the bundle URL at every read of
   * the job document (it needs s3:GetObject on the bundles, and trusts iot.amazonaws.com), and how long a URL lives.
   */
  readonly presignedUrl: JobPresignedUrlConfig;
}

/** Where bundles are kept and how a device is told to fetch one. */
export interface BundleBackendConfig {
  readonly dataDir: string;
  /** Bundles in S3; absent: on this machine's disk under `<dataDir>/bundles`, served by the operator API. */
  readonly s3Bundles?: S3BundleConfig;
  /** For the disk store: the job document carries AWS's placeholder (`presigned`) or a URL signed once (`signed`). */
  readonly bundleUrls: 'presigned' | 'signed';
  readonly bundleUrlKey: string;
  readonly bundleUrlTtlSeconds: number;
}

export interface BundleBackend {
  readonly store: BundleStore;
  /** The URL an install job document carries for `bundle`. */
  readonly deviceUrl: (bundle: StoredBundle) => string;
  /** The presignedUrlConfig install jobs are created with (the S3 store), or none. */
  readonly presignedUrlConfig: JobPresignedUrlConfig | undefined;
  close(): Promise<void>;
}

/** AWS's presigned-URL placeholder, which AWS IoT Jobs (or the local core) replaces at every document read. */
export const presignedUrlPlaceholder = (url: string): string => `\${aws:iot:s3-presigned-url:${url}}`;

/** The https URL AWS IoT presigns for an object: the virtual-hosted form, whatever endpoint the service uses. */
export const s3ObjectUrl = (bucket: string, region: string, key: string): string =>
  `https://${bucket}.s3.${region}.amazonaws.com/${key.split('/').map(encodeURIComponent).join('/')}`;

/**
 * Opens the configured bundle store. Credentials for S3 come from the standard AWS chain (environment, shared
 * files, instance or task role), as for every other AWS client of the service. `apiEndpoint` is read when a URL
 * is made (the API listens after the store opens). The S3 client is loaded only when S3 is configured: it is a
 * large module, and `pnpm start` should not pay for it.
 */
export async function openBundleBackend(
  config: BundleBackendConfig,
  trust: TrustStore,
  apiEndpoint: () => string,
): Promise<BundleBackend> {
  const s3 = config.s3Bundles;
  if (s3 !== undefined) {
    const [{ S3Client }, { openS3BundleStore }] = await Promise.all([
      import('@aws-sdk/client-s3'),
      import('./s3-bundle-store.js'),
    ]);
    const client = new S3Client({
      region: s3.region,
      ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
      ...(s3.forcePathStyle === undefined ? {} : { forcePathStyle: s3.forcePathStyle }),
    });
    const store = openS3BundleStore({
      client,
      bucket: s3.bucket,
      ...(s3.prefix === undefined ? {} : { prefix: s3.prefix }),
      trust,
      tmpDir: join(config.dataDir, 'bundles-incoming'),
    });
    return {
      store,
      deviceUrl: (b) => presignedUrlPlaceholder(s3ObjectUrl(s3.bucket, s3.region, store.keyOf(b.sha256))),
      presignedUrlConfig: s3.presignedUrl,
      close: async () => {
        await store.close();
        client.destroy();
      },
    };
  }
  const store = openBundleStore({ dir: join(config.dataDir, 'bundles'), trust });
  const urlKey = Buffer.from(config.bundleUrlKey, 'utf8');
  return {
    store,
    deviceUrl: (b) => {
      const url = `${apiEndpoint()}/bundles/${b.sha256}.otab`;
      return config.bundleUrls === 'presigned'
        ? presignedUrlPlaceholder(url)
        : signBundleUrl(url, urlKey, Date.now() + config.bundleUrlTtlSeconds * 1000);
    },
    presignedUrlConfig: undefined,
    close: () => store.close(),
  };
}
