import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../slots/durable-fs.js';
import type { ApplicationSupervisor } from '../contracts.js';
import type { ConfigDesired } from '@otafleet/protocol';

/** How the application learns of a new configuration file: SIGHUP to its process, or a restart. */
export type ConfigChangeSignal = 'sighup' | 'restart';

export interface ConfigTarget {
  /** Where the application reads its configuration (JSON: version, settings, featureFlags). */
  readonly path: string;
  readonly onChange: ConfigChangeSignal;
}

/** What the application's configuration file holds: the desired configuration minus the agent's own part. */
export const applicationConfigFile = (desired: ConfigDesired): string =>
  `${JSON.stringify({ version: desired.version, settings: desired.settings, featureFlags: desired.featureFlags }, null, 2)}\n`;

/**
 * Writes the file so that a power cut leaves the old one or the new one, never a mix (temp file, fsync, rename,
 * fsync of the directory), then tells the application. Returns how it was told ('not-running': it reads the file
 * when it starts).
 */
export async function applyApplicationConfig(
  desired: ConfigDesired,
  target: ConfigTarget,
  supervisor: Pick<ApplicationSupervisor, 'running' | 'restart'>,
): Promise<'signaled' | 'restarted' | 'not-running'> {
  await mkdir(dirname(target.path), { recursive: true });
  await writeFileAtomic(target.path, applicationConfigFile(desired));
  if (target.onChange === 'restart') {
    await supervisor.restart();
    return 'restarted';
  }
  const { running, pid } = supervisor.running();
  if (!running || pid === undefined) return 'not-running';
  process.kill(pid, 'SIGHUP');
  return 'signaled';
}
