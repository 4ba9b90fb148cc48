import type { BundleErrorCode, BundleFormatError } from '@otafleet/protocol';

export type { BundleErrorCode } from '@otafleet/protocol';

/** Every refusal of a bundle; callers branch on `code` (stable), never on `message`. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
  readonly code: BundleErrorCode;

  constructor(code: BundleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  static from(e: BundleFormatError): BundleError {
    return new BundleError(e.code, e.message);
  }
}

export function isBundleError(e: unknown): e is BundleError {
  return e instanceof BundleError;
}

/** Wraps a non-bundle failure (disk full, EACCES) so callers see one error type with a code. */
export function asBundleError(e: unknown): BundleError {
  if (e instanceof BundleError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new BundleError('BUNDLE_IO_ERROR', message, { cause: e });
}
