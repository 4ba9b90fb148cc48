import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { IdentityError } from '../identity/identity-error.js';

const PLUGIN_FILE = 'mosquitto_dynamic_security.so';
// Where Debian/Ubuntu (multiarch), Alpine/Fedora, source builds and Homebrew put the plugin.
const CANDIDATE_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib/arm-linux-gnueabihf',
  '/usr/lib',
  '/usr/lib64',
  '/usr/local/lib',
  '/opt/homebrew/lib',
];

const readable = (path: string): boolean => {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
};

/** Path of Mosquitto's dynamic-security plugin (shipped with the broker since 2.0). */
export function findDynamicSecurityPlugin(candidates: readonly string[] = CANDIDATE_DIRS): string {
  const found = candidates.map((dir) => join(dir, PLUGIN_FILE)).find(readable);
  if (found === undefined)
    throw new IdentityError(
      'DynamicSecurityPluginNotFound',
      `Mosquitto's ${PLUGIN_FILE} was not found in ${candidates.join(', ')}: install Mosquitto 2 or pass its path with --dynsec-plugin.`,
    );
  return found;
}
