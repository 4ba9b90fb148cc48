import { randomBytes } from 'node:crypto';
import { substitutePresignedUrls } from '../src/jobs/presigned-url.js';

/**
 * What a device's document read costs with presigned-URL placeholders, against the same read of a document
 * without them (the fast path) and against serialising the document, which every read does anyway (the
 * baseline, measured in the same run). Prints one JSON line; medians of 7 passes.
 */
const key = randomBytes(32);
const files = Array.from({ length: 4 }, (_, i) => ({
  name: `part-${i}.bundle`,
  url: `\${aws:iot:s3-presigned-url:https://bundles.example/fw/app-2.0.${i}/part-${i}.bundle}`,
  sha256: 'ab'.repeat(32),
  size: 10_485_760,
}));
const withPlaceholders = { operation: 'ota', version: '2.0.3', files, rollback: { allowed: true } };
const plain = {
  ...withPlaceholders,
  files: files.map((f) => ({ ...f, url: f.url.slice('${aws:iot:s3-presigned-url:'.length, -1) })),
};
const texts = { withPlaceholders: JSON.stringify(withPlaceholders), plain: JSON.stringify(plain) };

const READS = 20_000;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
function perRead(fn: (i: number) => unknown): number {
  const passes: number[] = [];
  for (let p = 0; p < 7; p++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < READS; i++) fn(i);
    passes.push(Number(process.hrtime.bigint() - t0) / READS);
  }
  return median(passes);
}

const now = Date.UTC(2026, 0, 1);
const baselineNs = perRead(() => JSON.stringify(plain));
const fastPathNs = perRead((i) =>
  JSON.stringify(substitutePresignedUrls(texts.plain, plain, { key, nowMs: now + i, expiresInSec: 3600 })),
);
const substitutedNs = perRead((i) =>
  JSON.stringify(
    substitutePresignedUrls(texts.withPlaceholders, withPlaceholders, { key, nowMs: now + i, expiresInSec: 3600 }),
  ),
);
console.log(
  JSON.stringify({
    bench: 'jobs-document-reads',
    placeholders: files.length,
    baselineSerializeUs: +(baselineNs / 1000).toFixed(2),
    noPlaceholderReadUs: +(fastPathNs / 1000).toFixed(2),
    substitutedReadUs: +(substitutedNs / 1000).toFixed(2),
    noPlaceholderVsBaseline: +(fastPathNs / baselineNs).toFixed(2),
    substitutedVsBaseline: +(substitutedNs / baselineNs).toFixed(2),
  }),
);
