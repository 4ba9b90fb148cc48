import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleError, loadTrustStore, unpackBundleFile, verifyBundleFile, type TrustStore } from '@otafleet/bundle';
import { buildSamples, type BuiltSample } from '../../../firmware-bundles/build.js';
import { tempDir } from './helpers.js';

const DEVICE = { hardware: 'sim', agentVersion: '0.1.0' } as const;

let dir: Awaited<ReturnType<typeof tempDir>>;
let first: BuiltSample[];
let trust: TrustStore;
const out = (name: string): string => join(dir.path, 'a', name);

beforeAll(async () => {
  dir = await tempDir();
  first = await buildSamples(join(dir.path, 'a'));
  trust = await loadTrustStore(out('trust.json'));
});
afterAll(async () => dir.cleanup());

/** Starts the extracted app on a free port; resolves with its port, or its exit code if it dies first. */
function startApp(appDir: string): Promise<{ port: number; stop: () => void } | { exitCode: number | null }> {
  const child = spawn(process.execPath, ['server.js'], { cwd: appDir, env: { ...process.env, PORT: '0' } });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  return new Promise((resolve) => {
    createInterface({ input: child.stdout }).once('line', (line) => {
      const { port } = JSON.parse(line) as { port: number };
      resolve({ port, stop: () => (clearTimeout(timer), child.kill('SIGTERM')) });
    });
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode });
    });
  });
}

describe('firmware-bundles samples', () => {
  it('are byte-for-byte reproducible (Ed25519-signed ones)', async () => {
    const second = await buildSamples(join(dir.path, 'b'));
    const ed = (list: BuiltSample[]): string[] =>
      list.filter((s) => s.keyId === 'otafleet-test-ed25519').map((s) => `${s.file}:${s.sha256}`);
    expect(ed(second)).toEqual(ed(first));
    expect(ed(first)).toHaveLength(6);
  });

  it('all verify against the generated trust set, for a sim device', async () => {
    for (const s of first) {
      const v = await verifyBundleFile(out(s.file), { trust, policy: DEVICE });
      expect(v.manifest.version).toBe(s.version);
      expect(v.manifestSha256).toBe(s.manifestSha256);
    }
    const index = JSON.parse(await readFile(out('index.json'), 'utf8')) as { samples: unknown[] };
    expect(index.samples).toHaveLength(first.length);
  });

  it('upgrade 1.0.0 -> 1.1.0 is allowed; 1.1.0 -> 1.0.0 is refused by the security version', async () => {
    const v = await verifyBundleFile(out('http-service-1.1.0.otab'), {
      trust,
      policy: { ...DEVICE, installed: { version: '1.0.0', securityVersion: 1 } },
    });
    expect(v.manifest.securityVersion).toBe(2);
    const back = verifyBundleFile(out('http-service-1.0.0.otab'), {
      trust,
      policy: { ...DEVICE, installed: { version: '1.1.0', securityVersion: 2 }, allowDowngrade: true },
    });
    await expect(back).rejects.toSatisfy(
      (e) => e instanceof BundleError && e.code === 'BUNDLE_SECURITY_VERSION_ROLLBACK',
    );
  });

  it.each([
    ['http-service-1.0.0.otab', 200],
    ['http-service-1.1.0.otab', 200],
    ['http-service-1.2.0-unhealthy.otab', 503],
  ])('%s starts and its /health answers %i', async (file, status) => {
    const target = join(dir.path, 'apps', file);
    await unpackBundleFile(out(file), target, { trust, policy: DEVICE });
    const app = await startApp(target);
    if (!('port' in app)) throw new Error(`app exited with ${String(app.exitCode)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${app.port}/health`);
      expect(res.status).toBe(status);
    } finally {
      app.stop();
    }
  });

  it('the crash sample exits non-zero on start', async () => {
    const target = join(dir.path, 'apps', 'crash');
    await unpackBundleFile(out('http-service-1.3.0-crash.otab'), target, { trust, policy: DEVICE });
    expect(await startApp(target)).toEqual({ exitCode: 1 });
  });
});
