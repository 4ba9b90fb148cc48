import { createWriteStream } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack as createPack, type Header } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BundleError,
  buildBundle,
  extractTarSafely,
  safeEntryPath,
  symlinkStaysInside,
  unpackBundleFile,
  type BundleErrorCode,
} from '@otafleet/bundle';
import { draftFor, makeKey, tempDir, trustEntry, trustOf } from './helpers.js';

type Entry = Partial<Header> & { name: string; body?: string };

async function makeTar(path: string, entries: readonly Entry[]): Promise<string> {
  const pack = createPack();
  const done = pipeline(pack, createWriteStream(path));
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (e?: Error | null): void => (e ? reject(e) : resolve());
      if (body === undefined) pack.entry(header, cb);
      else pack.entry(header, body, cb);
    });
  }
  pack.finalize();
  await done;
  return path;
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let target: string;
beforeEach(async () => {
  dir = await tempDir();
  target = join(dir.path, 'slot', 'app');
});
afterEach(async () => dir.cleanup());

async function codeOf(p: Promise<unknown>): Promise<BundleErrorCode | 'OK'> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof BundleError) return e.code;
    throw e;
  }
}

/** Nothing was created: no target, no staging directory left beside it, nothing escaped into the temp root. */
async function expectNothingWritten(): Promise<void> {
  expect(await readdir(join(dir.path, 'slot')).catch(() => [])).toEqual([]);
  expect((await readdir(dir.path)).sort()).toEqual(['a.tar', 'slot']);
}

describe('safe extraction', () => {
  it('extracts files, directories, inside symlinks and hard links; strips setuid bits', async () => {
    const tar = await makeTar(join(dir.path, 'a.tar'), [
      { name: './', type: 'directory', mode: 0o755 },
      { name: 'bin/', type: 'directory', mode: 0o755 },
      { name: 'bin/run', body: '#!/bin/sh\n', mode: 0o4755 },
      { name: 'conf/app.json', body: '{}', mode: 0o644 },
      { name: 'current', type: 'symlink', linkname: 'bin/run' },
      { name: 'conf/up', type: 'symlink', linkname: '../bin' },
      { name: 'bin/run2', type: 'link', linkname: 'bin/run' },
    ]);
    const r = await extractTarSafely(tar, target, { expectedEntries: 6 });
    expect(r.entries).toBe(6);
    expect((await stat(join(target, 'bin/run'))).mode & 0o7777).toBe(0o755);
    expect(await readlink(join(target, 'current'))).toBe('bin/run');
    expect((await stat(join(target, 'bin/run2'))).ino).toBe((await stat(join(target, 'bin/run'))).ino);
    expect(await readFile(join(target, 'conf/app.json'), 'utf8')).toBe('{}');
    expect((await stat(target)).mode & 0o777).toBe(0o755);
    expect(await readdir(join(dir.path, 'slot'))).toEqual(['app']);
  });

  const cases: ReadonlyArray<[string, BundleErrorCode, Entry[]]> = [
    [
      'a .. path',
      'BUNDLE_UNSAFE_ENTRY',
      [
        { name: 'ok.txt', body: 'x' },
        { name: '../escape.txt', body: 'x' },
      ],
    ],
    ['a .. in the middle', 'BUNDLE_UNSAFE_ENTRY', [{ name: 'a/../../escape.txt', body: 'x' }]],
    ['an absolute path', 'BUNDLE_UNSAFE_ENTRY', [{ name: '/tmp/escape.txt', body: 'x' }]],
    ['a symlink pointing out', 'BUNDLE_UNSAFE_ENTRY', [{ name: 'x/link', type: 'symlink', linkname: '../../etc' }]],
    ['an absolute symlink', 'BUNDLE_UNSAFE_ENTRY', [{ name: 'link', type: 'symlink', linkname: '/etc/passwd' }]],
    [
      'a file written through an (inside) symlink',
      'BUNDLE_UNSAFE_ENTRY',
      [
        { name: 'd/', type: 'directory' },
        { name: 'l', type: 'symlink', linkname: 'd' },
        { name: 'l/f.txt', body: 'x' },
      ],
    ],
    [
      'a symlink whose target walks through another symlink (order-independent)',
      'BUNDLE_UNSAFE_ENTRY',
      [
        { name: 'l', type: 'symlink', linkname: 'd/a/../../x' },
        { name: 'd/a', type: 'symlink', linkname: '..' },
      ],
    ],
    ['a hard link pointing out', 'BUNDLE_UNSAFE_ENTRY', [{ name: 'h', type: 'link', linkname: '../outside' }]],
    ['a hard link to nothing extracted', 'BUNDLE_UNSAFE_ENTRY', [{ name: 'h', type: 'link', linkname: 'missing' }]],
    [
      'a duplicate entry',
      'BUNDLE_DUPLICATE_ENTRY',
      [
        { name: 'a.txt', body: '1' },
        { name: './a.txt', body: '2' },
      ],
    ],
    [
      'a character device',
      'BUNDLE_SPECIAL_FILE',
      [{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }],
    ],
    ['a block device', 'BUNDLE_SPECIAL_FILE', [{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }]],
    ['a fifo', 'BUNDLE_SPECIAL_FILE', [{ name: 'pipe', type: 'fifo' }]],
  ];

  it.each(cases)('refuses %s (%s), leaving nothing behind', async (_label, code, entries) => {
    const tar = await makeTar(join(dir.path, 'a.tar'), entries);
    expect(await codeOf(extractTarSafely(tar, target))).toBe(code);
    await expectNothingWritten();
  });

  it('refuses more entries than the manifest declares', async () => {
    const tar = await makeTar(join(dir.path, 'a.tar'), [
      { name: 'a', body: '1' },
      { name: 'b', body: '2' },
      { name: 'c', body: '3' },
    ]);
    expect(await codeOf(extractTarSafely(tar, target, { expectedEntries: 2 }))).toBe('BUNDLE_TOO_MANY_ENTRIES');
    await expectNothingWritten();
    expect(await codeOf(extractTarSafely(tar, target, { expectedEntries: 4 }))).toBe('BUNDLE_ARCHIVE_INVALID');
    await expectNothingWritten();
  });

  it('refuses a corrupt archive', async () => {
    const tar = join(dir.path, 'a.tar');
    await writeFile(tar, Buffer.alloc(1024, 0x41));
    expect(await codeOf(extractTarSafely(tar, target))).toBe('BUNDLE_ARCHIVE_INVALID');
    await expectNothingWritten();
  });

  it('refuses an archive cut short in the middle of a file', async () => {
    const tar = await makeTar(join(dir.path, 'a.tar'), [{ name: 'big.bin', body: 'x'.repeat(10_000) }]);
    await writeFile(tar, (await readFile(tar)).subarray(0, 3000));
    expect(await codeOf(extractTarSafely(tar, target))).toBe('BUNDLE_ARCHIVE_INVALID');
    await expectNothingWritten();
  });

  it('refuses an existing target', async () => {
    const tar = await makeTar(join(dir.path, 'a.tar'), [{ name: 'a', body: '1' }]);
    await extractTarSafely(tar, target);
    expect(await codeOf(extractTarSafely(tar, target))).toBe('BUNDLE_TARGET_EXISTS');
  });

  it('accepts only ../-prefixed or downward symlink targets within the link depth', () => {
    expect(symlinkStaysInside('a/b/l', '../../x/y')).toBe(true);
    expect(symlinkStaysInside('a/b/l', '../../../x')).toBe(false);
    expect(symlinkStaysInside('a/l', 'x/../y')).toBe(false);
    expect(symlinkStaysInside('l', './x')).toBe(true);
    expect(symlinkStaysInside('l', '')).toBe(false);
  });

  it('normalises entry paths', () => {
    expect(safeEntryPath('./a//b/./c')).toBe('a/b/c');
    expect(safeEntryPath('./')).toBe('');
    expect(() => safeEntryPath('a/../b')).toThrow(BundleError);
    expect(() => safeEntryPath('a\\..\\b')).toThrow(BundleError);
  });
});

describe('a signed bundle carrying a malicious archive', () => {
  it('verifies (the key signed it) but is refused at extraction, with the work area cleaned', async () => {
    const key = makeKey('k', 'ed25519');
    const tar = await makeTar(join(dir.path, 'a.tar'), [
      { name: 'ok.txt', body: 'fine' },
      { name: 'evil', type: 'symlink', linkname: '../../../root/.ssh' },
    ]);
    const bundle = join(dir.path, 'b.otab');
    await buildBundle(draftFor(key, [{ name: 'app.tar', kind: 'tar', path: tar }]), key, bundle);
    const trust = trustOf(trustEntry(key));
    const code = await codeOf(unpackBundleFile(bundle, target, { trust, now: new Date('2026-06-01T00:00:00Z') }));
    expect(code).toBe('BUNDLE_UNSAFE_ENTRY');
    expect(await readdir(join(dir.path, 'slot'))).toEqual([]);
    await expect(lstat(join(dir.path, 'root'))).rejects.toThrow();
  });
});
