import { describe, expect, it } from 'vitest';
import { looksLikeExpiredUrl } from '@otafleet/agent';

const S3_EXPIRED =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>';

describe('looksLikeExpiredUrl (which refusals ask for a fresh presigned URL)', () => {
  it('any 401 or 403: an expired or re-keyed presigned URL, only a new one helps', () => {
    expect(looksLikeExpiredUrl(403, S3_EXPIRED)).toBe(true);
    expect(looksLikeExpiredUrl(403, '<Error><Code>SignatureDoesNotMatch</Code></Error>')).toBe(true);
    expect(looksLikeExpiredUrl(401, '')).toBe(true);
  });

  it('a 400 only when its AWS error names an expiry', () => {
    expect(
      looksLikeExpiredUrl(
        400,
        '<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>',
      ),
    ).toBe(true);
    expect(looksLikeExpiredUrl(400, '<Error><Code>RequestExpired</Code></Error>')).toBe(true);
    expect(
      looksLikeExpiredUrl(
        400,
        '<Error><Code>AuthorizationQueryParametersError</Code><Message>X-Amz-Expires must be less than a week</Message></Error>',
      ),
    ).toBe(true);
    expect(looksLikeExpiredUrl(400, '<Error><Code>InvalidArgument</Code><Message>bad range</Message></Error>')).toBe(
      false,
    );
    expect(looksLikeExpiredUrl(400, '')).toBe(false);
  });

  it('nothing else', () => {
    expect(looksLikeExpiredUrl(404, S3_EXPIRED)).toBe(false);
    expect(looksLikeExpiredUrl(500, S3_EXPIRED)).toBe(false);
  });
});
