import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { unpackBundleFile, type TrustStore } from '@otafleet/bundle';
import type { Logger } from 'pino';
import { downloadAndVerifyBundle } from '../download/index.js';
import type { AgentJournal } from '../journal/types.js';
import { journalProgressStore } from '../journal/progress-store.js';
import { slotContentsOf } from '../slots/index.js';
import type { AgentClock, BundleFetcher, BundleInstaller } from './ports.js';

/**
 * The real BundleFetcher: HTTP(S) download with Range resume from the journaled offset, verified in the same pass
 * (signature, manifest, device policy, payload digests). The file is `DIR/<jobId>.otab`; the verified file is the
 * artifact the installer unpacks (verifying it again from disk, so a file changed since is refused).
 */
export function createHttpBundleFetcher(o: {
  readonly dir: string;
  readonly journal: AgentJournal;
  readonly trust: TrustStore;
  readonly clock: AgentClock;
  readonly logger: Logger;
  /** fdatasync + journal the offset after this many new bytes (default 1 MiB: the most a power cut costs). */
  readonly syncEveryBytes?: number;
}): BundleFetcher {
  const pathOf = (jobId: string): string => join(o.dir, `${jobId}.otab`);
  return {
    async fetch(r) {
      await mkdir(o.dir, { recursive: true });
      const path = pathOf(r.jobId);
      const { bundle } = await downloadAndVerifyBundle({
        url: r.download.url,
        refreshUrl: r.refreshUrl,
        expectedSize: r.download.size,
        expectedSha256: r.download.sha256,
        partialPath: path,
        progressStore: journalProgressStore(o.journal, r.jobId),
        ...(r.download.maxBandwidthBytesPerSecond === undefined
          ? {}
          : { maxBandwidthBytesPerSecond: r.download.maxBandwidthBytesPerSecond }),
        // The job's maxRetries bounds the update flow's attempts; each attempt retries a little on its own.
        maxRetries: 2,
        signal: r.signal,
        stopSignal: r.stopSignal,
        onProgress: r.onProgress,
        syncEveryBytes: o.syncEveryBytes ?? 1024 * 1024,
        trust: o.trust,
        policy: r.policy,
        now: new Date(o.clock.now()),
        logger: o.logger,
      });
      const m = bundle.manifest;
      return {
        path,
        manifestSha256: bundle.manifestSha256,
        name: m.name,
        version: m.version,
        securityVersion: m.securityVersion,
      };
    },
    async discard(jobId) {
      await rm(pathOf(jobId), { force: true });
      await o.journal.clearDownloadOffset(jobId);
    },
  };
}

/** The real BundleInstaller for directory slots: verify the file again and extract it beside the slots. */
export function createDirectoryBundleInstaller(o: {
  /** On the slots' file system (so the install is a rename), outside `slots/`. */
  readonly incomingDir: string;
  readonly trust: TrustStore;
  readonly clock: AgentClock;
}): BundleInstaller {
  return {
    async prepare({ jobId, bundlePath, policy }) {
      const target = join(o.incomingDir, jobId);
      await rm(target, { recursive: true, force: true }); // what a crashed attempt left
      await mkdir(o.incomingDir, { recursive: true });
      const { bundle } = await unpackBundleFile(bundlePath, target, {
        trust: o.trust,
        policy,
        now: new Date(o.clock.now()),
      });
      return {
        source: { kind: 'directory', path: target },
        contents: slotContentsOf(bundle),
        cleanup: () => rm(target, { recursive: true, force: true }),
      };
    },
  };
}
