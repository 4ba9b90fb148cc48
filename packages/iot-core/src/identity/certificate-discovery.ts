import { watch, type FSWatcher } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CertificateRegistry } from './certificate-registry.js';

const CLIENT_KINDS = ['things', 'services'] as const;

async function registerFile(registry: CertificateRegistry, path: string, logger: Logger): Promise<void> {
  try {
    registry.register(await readFile(path, 'utf8'));
  } catch (e) {
    // A file being written (the CLI writes atomically, others may not) or not a certificate: not ours to judge.
    logger.debug({ path, err: e instanceof Error ? e.message : String(e) }, 'skipped a file that is no certificate');
  }
}

/**
 * Registers every client certificate the local CA wrote under `pkiDir` (things/*.pem, services/*.pem), now and,
 * while the returned watcher lives, each new one as it appears. AWS registers a certificate when it is created;
 * here the CA CLI may run while the core is down, so the core catches up from the files.
 */
export async function discoverCertificates(
  pkiDir: string,
  registry: CertificateRegistry,
  logger: Logger,
): Promise<{ close(): void }> {
  const watchers: FSWatcher[] = [];
  for (const kind of CLIENT_KINDS) {
    const dir = join(pkiDir, kind);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) if (name.endsWith('.pem')) await registerFile(registry, join(dir, name), logger);
    try {
      const watcher = watch(dir, (_event, name) => {
        if (name?.endsWith('.pem') === true) void registerFile(registry, join(dir, name), logger);
      });
      watcher.on('error', (e) => logger.warn({ dir, err: e.message }, 'stopped watching for new certificates'));
      watchers.push(watcher);
    } catch {
      // No such directory yet: certificates issued into it later register at connect (embedded broker).
    }
  }
  return {
    close() {
      for (const watcher of watchers) watcher.close();
    },
  };
}
