import type { AgentConfig } from '../config/schema.js';
import { loadAgentConfig } from '../config/load.js';
import { CliError, EXIT } from './exit-codes.js';

/** The configuration file, or a CliError (exit 2) naming every bad field by its JSON pointer. */
export async function configOrExit(path: string): Promise<AgentConfig> {
  const loaded = await loadAgentConfig(path);
  if (loaded.ok) return loaded.value;
  throw new CliError(
    loaded.error.code,
    loaded.error.issues.length === 0 ? loaded.error.message : `invalid agent configuration in ${path}`,
    EXIT.usage,
    loaded.error.issues.map((i) => `${i.path}: ${i.message}`),
  );
}
