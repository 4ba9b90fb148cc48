import { access, mkdir, rename, rm } from 'node:fs/promises';
import { threadId } from 'node:worker_threads';
import { join } from 'node:path';
import {
  checkBundlePolicy,
  resolveVerificationKey,
  verifyBundleFile,
  type DevicePolicy,
  type TrustStore,
  type VerifiedBundle,
} from '@otafleet/bundle';
import {
  createHttpBundleFetcher,
  downloadAndVerifyBundle,
  type AgentClock,
  type AgentJournal,
  type BundleFetcher,
  type BundleInstaller,
  type DownloadProgressStore,
  type FetchRequest,
} from '@otafleet/agent';
import type { Logger } from 'pino';
import type { CorruptingProxy } from '../faults/corrupting-proxy.js';
import type { DeviceFaults } from './contracts.js';
import { flatString } from './flat-string.js';

/** What the devices of one thread share for bundles: the trust store, the download cache, the corrupting hop. */
export interface ThreadBundles {
  readonly trust: TrustStore;
  /** Per-device downloads go to `<dir>/devices/<thing>`, the shared cache to `<dir>/cache`. */
  readonly dir: string;
  readonly mode: 'per-device' | 'shared-by-hash';
  /** How a device checks a file of the shared cache (see VirtualFleetOptions.bundleVerification). */
  readonly verification: 'per-device' | 'per-content-hash';
  readonly logger: Logger;
  corruptingProxy(): Promise<CorruptingProxy>;
  /** In-flight and finished shared downloads by the bundle's SHA-256. */
  readonly cache: Map<string, Promise<string>>;
  /** 'per-content-hash': each shared file's signature, manifest and payload digests, checked once, by path. */
  readonly verified: Map<string, Promise<VerifiedBundle>>;
}

const sharedCacheDir = (t: ThreadBundles): string => join(t.dir, 'cache');

/**
 * A device's check of a bundle file against its own policy at its own clock. A shared file under
 * 'per-content-hash' has its signature and payload digests checked once per thread; the device still checks the
 * signing key at its clock (expiry, revocation) and its policy (hardware, versions, anti-rollback). A device's own
 * copy (link faults, 'per-device' downloads) is always verified in full.
 */
async function verifyFor(
  t: ThreadBundles,
  path: string,
  policy: DevicePolicy | undefined,
  now: Date,
): Promise<Pick<VerifiedBundle, 'manifest' | 'manifestSha256'>> {
  const shared = t.verification === 'per-content-hash' && path.startsWith(sharedCacheDir(t));
  if (!shared) return verifyBundleFile(path, { trust: t.trust, ...(policy === undefined ? {} : { policy }), now });
  let once = t.verified.get(path);
  if (once === undefined) {
    once = verifyBundleFile(path, { trust: t.trust, now });
    t.verified.set(path, once);
    once.catch(() => t.verified.delete(path)); // the next device checks it again (and gets its own error)
  }
  const bundle = await once;
  resolveVerificationKey(t.trust, bundle.keyId, bundle.algorithm, now);
  checkBundlePolicy(bundle.manifest, policy ?? {}, now);
  return bundle;
}

function memoryProgress(): DownloadProgressStore {
  let offset: number | undefined;
  return {
    load: () => Promise.resolve(offset),
    save: (o) => Promise.resolve(void (offset = o)),
    clear: () => Promise.resolve(void (offset = undefined)),
  };
}

/**
 * One download per bundle (content hash) per thread (its own partial file; the first finished copy is kept for all), integrity and signature checked once; each device then
 * verifies the cached file itself against its own policy (hardware, versions, clock). A failed download leaves
 * no entry, so the next device tries again.
 */
function sharedDownload(t: ThreadBundles, r: FetchRequest): Promise<string> {
  const sha = r.download.sha256.toLowerCase();
  let entry = t.cache.get(sha);
  if (entry === undefined) {
    entry = (async () => {
      const dir = sharedCacheDir(t);
      await mkdir(dir, { recursive: true });
      const path = join(dir, `${sha}.otab`);
      // Another thread (or an earlier run) may have it already: each device verifies it anyway.
      if (
        await access(path).then(
          () => true,
          () => false,
        )
      )
        return path;
      const partial = join(dir, `${sha}.${threadId}.partial`);
      await downloadAndVerifyBundle({
        url: r.download.url,
        refreshUrl: r.refreshUrl,
        expectedSize: r.download.size,
        expectedSha256: sha,
        partialPath: partial,
        progressStore: memoryProgress(),
        maxRetries: 2,
        trust: t.trust,
        logger: t.logger,
      });
      await rename(partial, path);
      return path;
    })();
    t.cache.set(sha, entry);
    entry.catch((e: unknown) => {
      t.logger.warn({ err: e, sha256: sha }, 'shared bundle download failed; the next device tries again');
      t.cache.delete(sha);
    });
  }
  return entry;
}

/**
 * A device's BundleFetcher. Devices with link faults (a rate cap, corruption in transit) always download their own
 * copy through the agent's real HTTP fetcher; so does every device in 'per-device' mode.
 */
export function virtualFetcher(o: {
  readonly thread: ThreadBundles;
  readonly thingName: string;
  readonly journal: AgentJournal;
  readonly clock: AgentClock;
  readonly faults: DeviceFaults;
  /** Bundles (by SHA-256) this device already had corrupted once. */
  readonly corrupted: Set<string>;
}): BundleFetcher {
  const t = o.thread;
  const own = createHttpBundleFetcher({
    dir: flatString(join(t.dir, 'devices', o.thingName)),
    journal: o.journal,
    trust: t.trust,
    clock: o.clock,
    logger: t.logger,
    syncEveryBytes: 64 * 1024,
  });
  const ownCopy = t.mode === 'per-device' || o.faults.linkBytesPerSecond !== undefined || o.faults.corruptDownload;
  return {
    async fetch(r) {
      if (!ownCopy) {
        const path = await sharedDownload(t, r);
        const bundle = await verifyFor(t, path, r.policy, new Date(o.clock.now()));
        r.onProgress(r.download.size, r.download.size);
        const m = bundle.manifest;
        return {
          path,
          manifestSha256: bundle.manifestSha256,
          name: m.name,
          version: m.version,
          securityVersion: m.securityVersion,
        };
      }
      let url = r.download.url;
      const sha = r.download.sha256.toLowerCase();
      if (o.faults.corruptDownload === true && !o.corrupted.has(sha)) {
        o.corrupted.add(sha);
        url = (await t.corruptingProxy()).urlFor(url, `${o.thingName}/${sha}`);
      }
      const cap = o.faults.linkBytesPerSecond;
      const jobCap = r.download.maxBandwidthBytesPerSecond;
      const rate = cap === undefined ? jobCap : Math.min(cap, jobCap ?? cap);
      return own.fetch({
        ...r,
        download: { ...r.download, url, ...(rate === undefined ? {} : { maxBandwidthBytesPerSecond: rate }) },
      });
    },
    async discard(jobId) {
      // The shared cache is never removed by one device; its own copy and offset are.
      await own.discard(jobId);
    },
  };
}

/** The virtual slots record what was installed: verify the file again (as the real installer does), read nothing. */
export function virtualInstaller(o: { readonly thread: ThreadBundles; readonly clock: AgentClock }): BundleInstaller {
  return {
    async prepare({ bundlePath, policy }) {
      const bundle = await verifyFor(o.thread, bundlePath, policy, new Date(o.clock.now()));
      const m = bundle.manifest;
      const size = m.payloads.reduce((n, p) => n + p.size, 0);
      return {
        source: { kind: 'image', path: bundlePath, size },
        contents: {
          name: m.name,
          version: m.version,
          securityVersion: m.securityVersion,
          manifestSha256: bundle.manifestSha256,
        },
        cleanup: () => Promise.resolve(),
      };
    },
  };
}

export async function removeDeviceDownloads(dir: string, thingName: string): Promise<void> {
  await rm(join(dir, 'devices', thingName), { recursive: true, force: true });
}
