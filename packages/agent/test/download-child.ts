/**
 * A downloader in its own process, for the restart test: argv[2] is a JSON job
 * `{ url, expectedSize, expectedSha256, partialPath, offsetPath, maxBandwidthBytesPerSecond? }`.
 * Prints `DONE <DownloadResult JSON>` or `FAILED <code>`.
 */
import { pino } from 'pino';
import { createFileProgressStore, downloadBundle, isDownloadError } from '@otafleet/agent';

interface ChildJob {
  readonly url: string;
  readonly expectedSize: number;
  readonly expectedSha256: string;
  readonly partialPath: string;
  readonly offsetPath: string;
  readonly maxBandwidthBytesPerSecond?: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as ChildJob;
try {
  const result = await downloadBundle({
    url: job.url,
    expectedSize: job.expectedSize,
    expectedSha256: job.expectedSha256,
    partialPath: job.partialPath,
    progressStore: createFileProgressStore(job.offsetPath),
    syncEveryBytes: 1024 * 1024,
    backoff: { baseMs: 10, capMs: 100 },
    logger: pino({ level: 'silent' }),
    ...(job.maxBandwidthBytesPerSecond === undefined
      ? {}
      : { maxBandwidthBytesPerSecond: job.maxBandwidthBytesPerSecond }),
  });
  process.stdout.write(`DONE ${JSON.stringify(result)}\n`);
} catch (e) {
  process.stdout.write(`FAILED ${isDownloadError(e) ? e.code : String(e)}\n`);
  process.exitCode = 1;
}
