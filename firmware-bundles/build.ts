/**
 * Builds and signs the sample bundles into out/ (or --out DIR), reproducibly: fixed dates, tar
 * entries with fixed owner/mtime/modes, and a test key derived from a fixed passphrase. Ed25519
 * signatures are deterministic, so the .otab files are identical on every run and machine. The
 * extra *-p256 file is signed with ECDSA P-256, whose signatures are randomised: only its signature
 * bytes differ between runs.
 *
 * THE TEST KEYS ARE PUBLIC (anyone can derive them from this file). Never trust them on a real device.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeBundleManifest, type BundleSignatureAlgorithm, type TrustedKey } from '@otafleet/protocol';
import {
  buildBundle,
  deriveTestPrivateKey,
  packDirectory,
  publicKeyPemOf,
  type BundlePayloadSource,
  type BundleSigner,
} from '@otafleet/bundle';
import {
  SAMPLE_CREATED_AT,
  SAMPLE_EXPIRES_AT,
  SAMPLE_HARDWARE,
  SAMPLE_MIN_AGENT_VERSION,
  SAMPLES,
  type SampleSpec,
} from './samples.js';

export const TEST_KEY_PASSPHRASE = 'otafleet-sample-bundles';
const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOTFS_IMAGE_BYTES = 4 * 1024 * 1024;

function testSigner(keyId: string, algorithm: BundleSignatureAlgorithm): BundleSigner {
  return { keyId, algorithm, privateKey: deriveTestPrivateKey(algorithm, TEST_KEY_PASSPHRASE) };
}

const ED25519 = testSigner('otafleet-test-ed25519', 'ed25519');
const P256 = testSigner('otafleet-test-p256', 'ecdsa-p256-sha256');

async function stageHttpService(spec: SampleSpec, dir: string): Promise<void> {
  await mkdir(dir);
  await cp(join(HERE, 'http-service', 'server.js'), join(dir, 'server.js'));
  await cp(join(HERE, 'http-service', 'README.txt'), join(dir, 'README.txt'));
  const app = {
    name: spec.name,
    version: spec.version,
    behavior: spec.behavior,
    command: ['node', 'server.js'],
    healthCheck: { path: '/health', portEnv: 'PORT' },
  };
  await writeFile(join(dir, 'app.json'), `${JSON.stringify(app, null, 2)}\n`);
  await writeFile(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: spec.name, version: spec.version, private: true, type: 'module' }, null, 2)}\n`,
  );
}

/** A raw image: a text header (what a slot backend can read to identify it) padded with zeros. */
async function makeRootfsImage(spec: SampleSpec, path: string): Promise<void> {
  const osRelease = await readFile(join(HERE, 'rootfs', 'os-release'));
  const header = Buffer.concat([Buffer.from(`OTAFLEET-ROOTFS ${spec.version}\n`), osRelease]);
  const image = Buffer.alloc(ROOTFS_IMAGE_BYTES);
  header.copy(image);
  await writeFile(path, image);
}

async function payloadsFor(spec: SampleSpec, scratch: string): Promise<BundlePayloadSource[]> {
  const work = join(scratch, spec.file);
  await mkdir(work);
  switch (spec.installType) {
    case 'app-dir': {
      const appDir = join(work, 'app');
      await stageHttpService(spec, appDir);
      const tarPath = join(work, 'app.tar');
      const { entries } = await packDirectory(appDir, tarPath, { mtime: new Date(SAMPLE_CREATED_AT) });
      return [{ name: 'app.tar', kind: 'tar', path: tarPath, entries }];
    }
    case 'rootfs-image': {
      const img = join(work, 'rootfs.img');
      await makeRootfsImage(spec, img);
      return [{ name: 'rootfs.img', kind: 'image', path: img }];
    }
    case 'script':
      return [{ name: 'install.sh', kind: 'script', path: join(HERE, 'hello-script', 'install.sh') }];
  }
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

export interface BuiltSample {
  readonly file: string;
  readonly name: string;
  readonly version: string;
  readonly securityVersion: number;
  readonly installType: string;
  readonly behavior: string | null;
  readonly keyId: string;
  readonly sha256: string;
  readonly manifestSha256: string;
}

export async function buildSamples(outDir: string): Promise<BuiltSample[]> {
  await mkdir(outDir, { recursive: true });
  const scratch = await mkdtemp(join(tmpdir(), 'otafleet-samples-'));
  const built: BuiltSample[] = [];
  try {
    const jobs: Array<{ spec: SampleSpec; signer: BundleSigner; file: string }> = SAMPLES.map((spec) => ({
      spec,
      signer: ED25519,
      file: `${spec.file}.otab`,
    }));
    const first = SAMPLES[0];
    if (first !== undefined)
      jobs.push({ spec: { ...first, file: `${first.file}-p256` }, signer: P256, file: `${first.file}-p256.otab` });
    for (const { spec, signer, file } of jobs) {
      const payloads = await payloadsFor(spec, scratch);
      const out = join(outDir, file);
      const result = await buildBundle(
        {
          name: spec.name,
          version: spec.version,
          securityVersion: spec.securityVersion,
          compatibleHardware: SAMPLE_HARDWARE,
          installType: spec.installType,
          createdAt: SAMPLE_CREATED_AT,
          expiresAt: SAMPLE_EXPIRES_AT,
          minAgentVersion: SAMPLE_MIN_AGENT_VERSION,
          keyId: signer.keyId,
          signatureAlgorithm: signer.algorithm,
          description: spec.description,
          payloads,
        },
        signer,
        out,
      );
      built.push({
        file,
        name: spec.name,
        version: spec.version,
        securityVersion: spec.securityVersion,
        installType: spec.installType,
        behavior: spec.behavior ?? null,
        keyId: signer.keyId,
        sha256: await sha256File(out),
        manifestSha256: createHash('sha256').update(encodeBundleManifest(result.manifest)).digest('hex'),
      });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const trust: { keys: TrustedKey[] } = {
    keys: [ED25519, P256].map((s) => ({
      id: s.keyId,
      algorithm: s.algorithm,
      publicKey: publicKeyPemOf(s.privateKey),
      status: 'active' as const,
    })),
  };
  await writeFile(join(outDir, 'trust.json'), `${JSON.stringify(trust, null, 2)}\n`);
  await writeFile(join(outDir, 'index.json'), `${JSON.stringify({ samples: built }, null, 2)}\n`);
  return built;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const outDir = values.out ?? join(HERE, 'out');
  const started = Date.now();
  const built = await buildSamples(outDir);
  for (const b of built) console.log(`${b.file}  ${b.version}  ${b.sha256}`);
  console.log(`built ${built.length} bundles + trust.json + index.json in ${outDir} (${Date.now() - started} ms)`);
}
