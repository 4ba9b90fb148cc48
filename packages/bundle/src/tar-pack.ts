import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack as createPack, type Header, type Pack } from 'tar-stream';

export interface PackOptions {
  /** Every entry's mtime, so the same tree gives the same bytes (SOURCE_DATE_EPOCH style). */
  readonly mtime?: Date;
}

/**
 * Packs a directory into a reproducible tar: entries in sorted order, owner 0:0, fixed mtime, modes
 * normalised to 0755/0644. Regular files, directories and symlinks only. Returns the entry count,
 * which the manifest binds.
 */
export async function packDirectory(
  dir: string,
  outPath: string,
  options: PackOptions = {},
): Promise<{ entries: number }> {
  const mtime = options.mtime ?? new Date(0);
  const pack = createPack();
  const written = pipeline(pack, createWriteStream(outPath));
  let entries = 0;
  const base = { uid: 0, gid: 0, uname: '', gname: '', mtime };

  async function walk(rel: string): Promise<void> {
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const abs = join(dir, relPath);
      const st = await lstat(abs);
      entries++;
      if (st.isDirectory()) {
        await addEntry(pack, { ...base, name: `${relPath}/`, type: 'directory', mode: 0o755 });
        await walk(relPath);
      } else if (st.isSymbolicLink()) {
        await addEntry(pack, { ...base, name: relPath, type: 'symlink', linkname: await readlink(abs), mode: 0o777 });
      } else if (st.isFile()) {
        const mode = (st.mode & 0o111) !== 0 ? 0o755 : 0o644;
        const sink = pack.entry({ ...base, name: relPath, type: 'file', size: st.size, mode });
        await pipeline(createReadStream(abs), sink);
      } else {
        throw new Error(`cannot pack ${abs}: not a file, directory or symlink`);
      }
    }
  }

  await walk('');
  pack.finalize();
  await written;
  return { entries };
}

function addEntry(pack: Pack, header: Partial<Header> & { name: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(header, (e) => (e ? reject(e) : resolve()));
  });
}
