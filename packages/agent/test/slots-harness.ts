import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { InstallSource, SlotBackend, SlotContents, SlotId, SlotState } from '../src/slots/index.js';

/** A device under test with one backend, and the hands that play its bootloader and power. */
export interface SlotHarness {
  readonly kind: SlotBackend['kind'];
  /** The backend object of the agent running now. */
  backend: SlotBackend;
  /** The factory release in slot A. */
  readonly factory: SlotContents;
  /** A verified release's install source for this backend, standing for `contents`. */
  makeSource(contents: SlotContents): Promise<InstallSource>;
  /** What a slot physically holds (tree or partition bytes), to prove a slot was left untouched. */
  fingerprint(slot: SlotId): Promise<string>;
  /**
   * The agent process ends (crash, power cut, or the reboot/restart `activate()` asked for) and starts
   * again: the bootloader boots if there is one, a new backend object reads the device, and the start is
   * recorded. Returns what recordBootAttempt() returned.
   */
  restart(): Promise<SlotState>;
  /** How many times activate() asked for a restart/reboot. */
  activations(): number;
  /** Ways to damage the device's records, each then read as SLOT_STATE_CORRUPT. */
  readonly corruptions: Readonly<Record<string, () => Promise<void>>>;
  close(): Promise<void>;
}

export const silentLogger = pino({ level: 'silent' });

export function release(version: string, securityVersion = 1): SlotContents {
  return {
    name: 'demo-app',
    version,
    securityVersion,
    manifestSha256: createHash('sha256').update(`manifest ${version}`).digest('hex'),
  };
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A small application tree for `contents`: nested files, a symlink, a marker naming the release. */
export async function writeAppTree(dir: string, contents: SlotContents, files = 3): Promise<void> {
  await mkdir(join(dir, 'lib', 'deep'), { recursive: true });
  await writeFile(join(dir, 'RELEASE'), `${contents.name}@${contents.version}\n`);
  await writeFile(join(dir, 'app.js'), `console.log(${JSON.stringify(contents.version)});\n`);
  for (let i = 0; i < files; i++) {
    await writeFile(join(dir, 'lib', 'deep', `part-${i}.txt`), `${contents.version} part ${i}\n`.repeat(50));
  }
  await symlink('app.js', join(dir, 'main.js'));
}

/** Paths, symlink targets and file bytes of a tree, hashed in a stable order. */
export async function treeFingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const entries = (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const e of entries) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        hash.update(`d ${path}\n`);
        await walk(path);
      } else if (e.isSymbolicLink()) {
        hash.update(`l ${path} ${await readlink(join(dir, path))}\n`);
      } else {
        hash
          .update(`f ${path} `)
          .update(await readFile(join(dir, path)))
          .update('\n');
      }
    }
  };
  await walk('');
  return hash.digest('hex');
}

/** Bytes standing for a rootfs image of `contents` (deterministic, so a slot's bytes can be predicted). */
export function imageBytes(contents: SlotContents, size = 96 * 1024): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(contents.version).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
