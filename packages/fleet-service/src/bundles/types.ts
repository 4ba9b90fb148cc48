import type { Readable } from 'node:stream';
import type { BundleErrorCode, BundleManifest, Result } from '@otafleet/protocol';

/** A stored bundle: the file's own SHA-256 names it (content-addressed), the manifest says what it is. */
export interface StoredBundle {
  /** SHA-256 of the whole bundle file, lowercase hex: its id, its file name, and what devices check. */
  readonly sha256: string;
  readonly size: number;
  readonly manifest: BundleManifest;
  /** SHA-256 of the signed manifest: the release's identity. */
  readonly manifestSha256: string;
  readonly keyId: string;
  readonly uploadedAt: number;
  readonly uploadedBy: string;
}

export type BundleStoreError =
  | { readonly code: BundleErrorCode; readonly message: string }
  | { readonly code: 'BUNDLE_TOO_LARGE'; readonly message: string; readonly limit: number };

export interface PutOptions {
  readonly uploadedBy: string;
  readonly at: number;
  /** Refuse uploads larger than this, before they fill the disk. */
  readonly maxBytes: number;
}

export interface BundleStore {
  /**
   * Verifies the upload against the fleet's trust set as it streams to a local temporary file (signature,
   * manifest, every payload digest); only a bundle that passed every check is then written under its content
   * address. A bundle that fails any check is refused with the bundle library's code and stored nowhere. The same
   * bytes uploaded twice are one bundle (the first upload's record stays).
   */
  put(
    source: AsyncIterable<Uint8Array>,
    options: PutOptions,
  ): Promise<Result<{ bundle: StoredBundle; created: boolean }, BundleStoreError>>;
  get(sha256: string): Promise<StoredBundle | undefined>;
  list(): Promise<readonly StoredBundle[]>;
  /** The bundle's bytes from `start` to `end` inclusive (HTTP Range semantics). */
  read(sha256: string, range?: { readonly start: number; readonly end: number }): Promise<Readable>;
  close(): Promise<void>;
}

/**
 * A job's presignedUrlConfig as CreateJob takes it: the IAM role AWS IoT assumes to presign the S3 URL in
 * `${aws:iot:s3-presigned-url:…}` at every read of the job document, and how long each URL is valid (60–3600 s).
 */
export interface JobPresignedUrlConfig {
  readonly roleArn: string;
  readonly expiresInSec: number;
}

/** A bundle id: the lowercase hex SHA-256 of the file. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
