import { execFile } from 'node:child_process';
import { createPrivateKey, sign } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstPayloadOffset, makeAppDir, patchByte, tempDir } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function otabundle(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', CLI, ...args],
      { cwd: PACKAGE_DIR, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let p: (name: string) => string;
let trustPath: string;
beforeAll(async () => {
  dir = await tempDir();
  p = (name) => join(dir.path, name);
  const gen = await otabundle(
    'keygen',
    '--algorithm',
    'ecdsa-p256-sha256',
    '--key-id',
    'ci-key',
    '--out-dir',
    dir.path,
  );
  expect(gen.code).toBe(0);
  const entry = gen.stdout.trim().split('\n').at(-1) ?? '';
  trustPath = p('trust.json');
  await writeFile(trustPath, JSON.stringify({ keys: [JSON.parse(entry) as unknown] }));
  expect((await readFile(p('ci-key.key.pem'))).toString().startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true);
  await makeAppDir(dir.path, 'cli');
  const build = await otabundle(
    'build',
    '--name',
    'cli-app',
    '--version',
    '2.0.0',
    '--security-version',
    '5',
    '--hardware',
    'rpi4',
    '--install-type',
    'app-dir',
    '--app-dir',
    p('app-src-cli'),
    '--key-id',
    'ci-key',
    '--algorithm',
    'ecdsa-p256-sha256',
    '--key',
    p('ci-key.key.pem'),
    '--expires-in-days',
    '30',
    '--out',
    p('b.otab'),
  );
  expect(build.stderr).toBe('');
  expect(build.code).toBe(0);
}, 60_000);
afterAll(async () => dir.cleanup());

describe('otabundle CLI', () => {
  it('verify: exit 0, says what it verified, extracts on request', async () => {
    const r = await otabundle(
      'verify',
      p('b.otab'),
      '--trust',
      trustPath,
      '--hardware',
      'rpi4',
      '--installed-version',
      '1.9.0',
      '--installed-security-version',
      '5',
      '--agent-version',
      '1.0.0',
      '--extract',
      p('x'),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^OK cli-app 2\.0\.0 securityVersion=5/);
    expect(JSON.parse(await readFile(p('x/app.json'), 'utf8'))).toEqual({ marker: 'cli' });
  });

  it('verify --json is machine readable', async () => {
    const r = await otabundle('verify', p('b.otab'), '--trust', trustPath, '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; manifest: { name: string } };
    expect(out).toMatchObject({ ok: true, manifest: { name: 'cli-app' } });
  });

  it('verify: exit 1 with the code on stderr for a refused bundle', async () => {
    const r = await otabundle(
      'verify',
      p('b.otab'),
      '--trust',
      trustPath,
      '--installed-version',
      '3.0.0',
      '--installed-security-version',
      '1',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error BUNDLE_DOWNGRADE: /);
    const tampered = p('t.otab');
    await writeFile(tampered, await readFile(p('b.otab')));
    await patchByte(tampered, (await firstPayloadOffset(tampered)) + 1000);
    const t = await otabundle('verify', tampered, '--trust', trustPath, '--extract', p('never'));
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/^error BUNDLE_PAYLOAD_DIGEST_MISMATCH: /);
    expect((await readdir(dir.path)).includes('never')).toBe(false);
  });

  it('exit 2 for usage errors', async () => {
    const runs = await Promise.all([
      otabundle('verify'),
      otabundle('frobnicate'),
      otabundle('verify', p('b.otab'), '--bogus-flag'),
    ]);
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2]);
    expect(runs[1]?.stderr).toMatch(/^usage error: unknown command frobnicate/);
  });

  it('inspect prints the unverified manifest', async () => {
    const r = await otabundle('inspect', p('b.otab'), '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verified: false, signature: { keyId: 'ci-key' } });
  });

  it('build unsigned + external DER signature + sign --signature, then verify', async () => {
    const b = await otabundle(
      'build',
      '--name',
      'ext',
      '--version',
      '1.0.0',
      '--security-version',
      '1',
      '--hardware',
      'rpi4',
      '--install-type',
      'rootfs-image',
      '--payload',
      `rootfs.img:image:${p('ci-key.pub.pem')}`,
      '--key-id',
      'ci-key',
      '--algorithm',
      'ecdsa-p256-sha256',
      '--manifest-out',
      p('m.json'),
      '--out',
      p('u.otab'),
    );
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/^UNSIGNED/);
    expect((await otabundle('verify', p('u.otab'), '--trust', trustPath)).stderr).toMatch(/BUNDLE_UNSIGNED/);
    const der = sign('sha256', await readFile(p('m.json')), {
      key: createPrivateKey(await readFile(p('ci-key.key.pem'))),
      dsaEncoding: 'der',
    });
    await writeFile(p('m.sig'), der);
    expect((await otabundle('sign', p('u.otab'), '--signature', p('m.sig'), '--out', p('s.otab'))).code).toBe(0);
    expect((await otabundle('verify', p('s.otab'), '--trust', trustPath)).code).toBe(0);
  });
});
