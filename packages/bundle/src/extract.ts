import { constants, createReadStream } from 'node:fs';
import { chmod, link, lstat, mkdir, mkdtemp, open, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract as createExtract, type Header } from 'tar-stream';
import { asBundleError, BundleError } from './errors.js';
import type { VerifiedBundle } from './verify.js';

export interface ExtractOptions {
  /** Exactly this many entries (the manifest's `entries`); more is BUNDLE_TOO_MANY_ENTRIES. */
  readonly expectedEntries?: number;
  /** Hard cap when no count is declared. Default 100,000. */
  readonly maxEntries?: number;
}

export interface ExtractResult {
  readonly targetDir: string;
  readonly entries: number;
  readonly bytes: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The entry's path relative to the extraction root, or a BUNDLE_UNSAFE_ENTRY; '' is the root itself. */
export function safeEntryPath(name: string): string {
  if (name.includes('\0') || name.includes('\\'))
    throw new BundleError('BUNDLE_UNSAFE_ENTRY', `entry ${JSON.stringify(name)}: bad characters`);
  if (name.startsWith('/')) throw new BundleError('BUNDLE_UNSAFE_ENTRY', `entry ${name}: absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new BundleError('BUNDLE_UNSAFE_ENTRY', `entry ${name}: '..' component`);
  return parts.join('/');
}

/**
 * Extracts a tar into a fresh staging directory beside `targetDir`, then renames it into place, so the
 * target either does not exist or is complete. Refused, with nothing left behind: paths with '..' or
 * absolute, links (symbolic or hard) resolving outside the root, entries under a symlink, duplicate
 * paths, device/fifo files, more entries than declared. Modes keep only the permission bits.
 */
export async function extractTarSafely(
  tarPath: string,
  targetDir: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  if (await exists(targetDir)) throw new BundleError('BUNDLE_TARGET_EXISTS', `${targetDir} already exists`);
  const parent = dirname(targetDir);
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, `.${basename(targetDir)}.staging-`));
  try {
    const result = await extractInto(tarPath, staging, options);
    await chmod(staging, 0o755);
    await rename(staging, targetDir);
    return { targetDir, ...result };
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw asBundleError(e);
  }
}

/**
 * A symlink target is accepted only as `../` * k followed by plain names, with k no deeper than the
 * link's own directory. Lexical normalisation alone is unsound: in `a/../x`, if `a` is (or later
 * becomes) a symlink, the kernel resolves `..` from wherever `a` points. With this shape, every
 * component walked is a real directory of the tree or a link that was itself checked the same way.
 */
export function symlinkStaysInside(entryPath: string, target: string): boolean {
  if (target === '' || target.startsWith('/') || target.includes('\\') || target.includes('\0')) return false;
  const parts = target.split('/').filter((p) => p !== '' && p !== '.');
  let up = 0;
  while (parts[up] === '..') up++;
  if (parts.slice(up).includes('..')) return false;
  const depth = entryPath.split('/').length - 1;
  return up <= depth;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function extractInto(
  tarPath: string,
  root: string,
  options: ExtractOptions,
): Promise<{ entries: number; bytes: number }> {
  const limit = options.expectedEntries ?? options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const seen = new Set<string>();
  const symlinks = new Set<string>();
  const files = new Set<string>();
  let entries = 0;
  let bytes = 0;
  const extractor = createExtract();
  const feeding = pipeline(createReadStream(tarPath, { highWaterMark: 1024 * 1024 }), extractor);
  // The pipeline's own rejection is surfaced through the iterator below; this keeps it from going unhandled.
  feeding.catch(() => undefined);
  try {
    for await (const entry of extractor) {
      const header: Header = entry.header;
      const rel = safeEntryPath(header.name);
      if (rel === '' && header.type === 'directory') {
        entry.resume();
        continue;
      }
      if (rel === '') throw new BundleError('BUNDLE_UNSAFE_ENTRY', `entry ${header.name}: names the root`);
      entries++;
      if (entries > limit) throw new BundleError('BUNDLE_TOO_MANY_ENTRIES', `archive has more than ${limit} entries`);
      if (seen.has(rel)) throw new BundleError('BUNDLE_DUPLICATE_ENTRY', `entry ${rel} appears twice`);
      seen.add(rel);
      const parts = rel.split('/');
      for (let i = 1; i < parts.length; i++) {
        if (symlinks.has(parts.slice(0, i).join('/'))) {
          throw new BundleError('BUNDLE_UNSAFE_ENTRY', `entry ${rel}: path goes through a symlink`);
        }
      }
      const dest = join(root, rel);
      switch (header.type) {
        case 'directory':
          await mkdir(dest, { recursive: true, mode: 0o755 });
          entry.resume();
          break;
        case 'file': {
          await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
          const fh = await open(dest, WRITE_FLAGS, 0o600);
          try {
            for await (const chunk of entry as AsyncIterable<Buffer>) {
              bytes += chunk.byteLength;
              await fh.write(chunk);
            }
            await fh.chmod(header.mode & 0o777);
          } finally {
            await fh.close();
          }
          files.add(rel);
          break;
        }
        case 'symlink': {
          const target = header.linkname;
          if (!symlinkStaysInside(rel, target)) {
            throw new BundleError('BUNDLE_UNSAFE_ENTRY', `symlink ${rel} -> ${target} may point outside the target`);
          }
          await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
          await symlink(target, dest);
          symlinks.add(rel);
          entry.resume();
          break;
        }
        case 'link': {
          // Hard link names are archive paths; only a regular file extracted earlier may be linked.
          const target = safeEntryPath(header.linkname);
          if (!files.has(target)) {
            throw new BundleError(
              'BUNDLE_UNSAFE_ENTRY',
              `hard link ${rel} -> ${header.linkname} is not to an extracted file`,
            );
          }
          await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
          await link(join(root, target), dest);
          entry.resume();
          break;
        }
        case 'block-device':
        case 'character-device':
        case 'fifo':
        case 'contiguous-file':
          throw new BundleError('BUNDLE_SPECIAL_FILE', `entry ${rel} is a ${header.type}`);
        default:
          throw new BundleError('BUNDLE_SPECIAL_FILE', `entry ${rel} has unsupported type ${String(header.type)}`);
      }
    }
  } catch (e) {
    extractor.destroy();
    if (e instanceof BundleError) throw e;
    // File-system failures carry a syscall; anything else (tar-stream's parse errors, a stream destroyed
    // mid-entry by a truncated archive) means the archive itself is bad.
    if ((e as NodeJS.ErrnoException).syscall === undefined)
      throw new BundleError('BUNDLE_ARCHIVE_INVALID', `not a valid tar: ${String(e)}`, { cause: e });
    throw e;
  }
  await feeding;
  if (options.expectedEntries !== undefined && entries !== options.expectedEntries) {
    throw new BundleError(
      'BUNDLE_ARCHIVE_INVALID',
      `archive has ${entries} entries, manifest declares ${options.expectedEntries}`,
    );
  }
  return { entries, bytes };
}

/** Extracts a verified app-dir bundle's tar payload into `targetDir` (which must not exist yet). */
export async function extractVerifiedBundle(bundle: VerifiedBundle, targetDir: string): Promise<ExtractResult> {
  const first = bundle.payloads[0];
  if (bundle.manifest.installType !== 'app-dir' || first === undefined || first.kind !== 'tar') {
    throw new BundleError(
      'BUNDLE_MANIFEST_INVALID',
      `installType ${bundle.manifest.installType} has nothing to extract`,
    );
  }
  if (first.path === null) throw new BundleError('BUNDLE_IO_ERROR', 'bundle was verified without a workDir');
  return extractTarSafely(first.path, targetDir, first.entries === undefined ? {} : { expectedEntries: first.entries });
}
