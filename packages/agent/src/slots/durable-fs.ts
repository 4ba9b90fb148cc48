import { randomBytes } from 'node:crypto';
import { cp, lstat, open, readdir, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * The file-system moves a power cut cannot tear: a new name is made complete and synced under a temporary
 * name, then `rename(2)`d over the old one, then the directory holding both is synced so the rename itself
 * is on disk. See rename(2) ("If newpath already exists, it will be atomically replaced") and fsync(2)
 * ("Calling fsync() does not necessarily ensure that the entry in the directory containing the file has
 * also reached disk. For that an explicit fsync() on a file descriptor for the directory is also needed").
 */

/** fsync a file or a directory by path. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export const tempSibling = (path: string): string =>
  join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);

/** Replaces `path` with `data`: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = tempSibling(path);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  await fsyncPath(dirname(path));
}

/** Points the symlink `linkPath` at `target` in one atomic step (temp link + rename), then syncs the directory. */
export async function replaceSymlink(linkPath: string, target: string): Promise<void> {
  const temp = tempSibling(linkPath);
  try {
    await symlink(target, temp);
    await rename(temp, linkPath);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  await fsyncPath(dirname(linkPath));
}

/**
 * fsyncs every regular file and directory under `root` (children before their directory), so a tree
 * extracted without syncs is on disk before anything points at it. Symlinks are entries of their
 * directory, covered by its sync.
 */
export async function fsyncTree(root: string): Promise<void> {
  const info = await lstat(root);
  if (info.isDirectory()) {
    for (const entry of await readdir(root, { withFileTypes: true })) {
      const child = join(root, entry.name);
      if (entry.isDirectory()) await fsyncTree(child);
      else if (entry.isFile()) await fsyncPath(child);
    }
    await fsyncPath(root);
  } else if (info.isFile()) {
    await fsyncPath(root);
  }
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Moves the tree `source` to `dest` (which must not exist): a rename on one file system, else a copy that
 * keeps symlinks as they are, then removal of the source. Not synced: follow with fsyncTree.
 */
export async function moveTree(source: string, dest: string): Promise<void> {
  try {
    await rename(source, dest);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await cp(source, dest, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
    await rm(source, { recursive: true, force: true });
  }
}
