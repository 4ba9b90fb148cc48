/**
 * Streaming verify of a 1 GiB bundle vs `sha256sum` on the same file, same run. Prints one JSON line.
 * The verify runs in a child process so its peak RSS is its own; a 1 MiB bundle is verified the same
 * way to show the peak does not grow with bundle size. The child runs the compiled package (plain
 * node, as on a device), not tsx, whose loader alone adds ~40 MB; so the bench builds it first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  encodeBundleManifest,
  encodeBundlePayloadHeader,
  encodeBundlePreamble,
  encodeBundleSignatureBlock,
  type BundleManifest,
} from '@otafleet/protocol';
import { deriveTestPrivateKey, publicKeyPemOf, signBundleManifest } from '@otafleet/bundle';

const CHUNK = 1024 * 1024;
const GIB = 1024 * CHUNK;
const ROUNDS = 3;

const privateKey = deriveTestPrivateKey('ed25519', 'bench');
const signer = { keyId: 'bench', algorithm: 'ed25519' as const, privateKey };

function chunkAt(base: Buffer, i: number): Buffer {
  base.writeUInt32BE(i, 0);
  return base;
}

/** Writes a signed bundle with one payload of `size` bytes without holding it in memory. */
async function writeBenchBundle(path: string, size: number): Promise<void> {
  const base = createHash('sha512').update('seed').digest();
  const block = Buffer.alloc(CHUNK);
  for (let o = 0; o < CHUNK; o += base.length) base.copy(block, o);
  const chunks = size / CHUNK;
  const hash = createHash('sha256');
  for (let i = 0; i < chunks; i++) hash.update(chunkAt(block, i));
  const manifest: BundleManifest = {
    formatVersion: 1,
    name: 'bench',
    version: '1.0.0',
    securityVersion: 1,
    compatibleHardware: ['bench-hw'],
    installType: 'rootfs-image',
    payloads: [{ name: 'rootfs.img', kind: 'image', size, sha256: hash.digest('hex') }],
    createdAt: '2026-01-01T00:00:00Z',
    expiresAt: '2099-01-01T00:00:00Z',
    minAgentVersion: '0.0.0',
    keyId: signer.keyId,
    signatureAlgorithm: signer.algorithm,
  };
  const manifestBytes = encodeBundleManifest(manifest);
  const fh = await open(path, 'w');
  await fh.write(encodeBundlePreamble(manifestBytes.byteLength));
  await fh.write(manifestBytes);
  await fh.write(encodeBundleSignatureBlock(signBundleManifest(manifest, signer)));
  await fh.write(encodeBundlePayloadHeader(size));
  for (let i = 0; i < chunks; i++) await fh.write(chunkAt(block, i));
  await fh.close();
}

function timeSha256sum(file: string): number {
  const t = process.hrtime.bigint();
  execFileSync('sha256sum', [file], { stdio: ['ignore', 'ignore', 'inherit'] });
  return Number(process.hrtime.bigint() - t) / 1e9;
}

interface ChildReport {
  seconds: number;
  bytes: number;
  maxRssMB: number;
}

const packageDir = fileURLToPath(new URL('..', import.meta.url));

const CHILD = `
import { loadTrustStore, verifyBundleFile } from '@otafleet/bundle';
const [file, trustPath] = process.argv.slice(1);
const trust = await loadTrustStore(trustPath);
const started = process.hrtime.bigint();
const v = await verifyBundleFile(file, { trust, policy: { hardware: 'bench-hw' } });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const bytes = v.payloads.reduce((n, p) => n + p.size, 0);
console.log(JSON.stringify({ seconds, bytes, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
`;

function runChild(file: string, trust: string): ChildReport {
  // Run from the package directory so '@otafleet/bundle' self-resolves to its built dist/.
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, file, trust], {
    cwd: packageDir,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`verify child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as ChildReport;
}

// tsc -b emits even when some other file of the project has a type error; only a missing dist is fatal.
spawnSync(process.execPath, [join(packageDir, '../../node_modules/typescript/bin/tsc'), '-b', packageDir], {
  stdio: 'inherit',
});
if (!existsSync(join(packageDir, 'dist', 'index.js'))) throw new Error('build of @otafleet/bundle failed: no dist/');
const dir = await mkdtemp(join(tmpdir(), 'otabundle-bench-'));
try {
  const big = join(dir, 'big.otab');
  const small = join(dir, 'small.otab');
  const trust = join(dir, 'trust.json');
  await writeFile(
    trust,
    JSON.stringify({
      keys: [{ id: 'bench', algorithm: 'ed25519', publicKey: publicKeyPemOf(privateKey), status: 'active' }],
    }),
  );
  await writeBenchBundle(big, GIB);
  await writeBenchBundle(small, CHUNK);
  const smallRun = runChild(small, trust);
  let best = { sha: Infinity, verify: Infinity, rss: 0 };
  // Alternate the two so neither profits from a warmer page cache; keep the best of each.
  for (let i = 0; i < ROUNDS; i++) {
    const sha = timeSha256sum(big);
    const v = runChild(big, trust);
    best = {
      sha: Math.min(best.sha, sha),
      verify: Math.min(best.verify, v.seconds),
      rss: Math.max(best.rss, v.maxRssMB),
    };
  }
  const mb = GIB / 1e6;
  const result = {
    bench: 'bundle-streaming-verify-1GiB',
    bytes: GIB,
    rounds: ROUNDS,
    sha256sumMBps: Math.round(mb / best.sha),
    verifyMBps: Math.round(mb / best.verify),
    ratio: Number((best.sha / best.verify).toFixed(2)),
    peakRssMB: Math.round(best.rss),
    peakRssMB1MiBBundle: Math.round(smallRun.maxRssMB),
    machine: `${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (result.ratio < 0.8 || result.peakRssMB >= 100) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
