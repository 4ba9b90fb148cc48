import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { err, ok, type Result } from '@otafleet/protocol';
import { parseScenario, ScenarioError } from './parse.js';
import type { Scenario } from './schema.js';

/** simulator/scenarios: the presets shipped with the simulator. */
export const PRESETS_DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url));

/** The preset names (file names without .yaml), sorted. */
export function presetNames(): string[] {
  return readdirSync(PRESETS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}

export interface LoadedScenario {
  readonly scenario: Scenario;
  /** The file it came from, as given or resolved from a preset name. */
  readonly file: string;
}

/**
 * A scenario by path, or by preset name (`bad-canary`) when no such file exists. Errors: the file cannot be read
 * (naming the presets), or the scenario is invalid (every issue with its line).
 */
export async function loadScenario(ref: string, cwd = process.cwd()): Promise<Result<LoadedScenario, ScenarioError>> {
  const asPath = resolve(cwd, ref);
  const file = existsSync(asPath) ? asPath : resolve(PRESETS_DIR, `${ref}.yaml`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return err(
      new ScenarioError([
        {
          file: ref,
          line: 1,
          column: 1,
          path: '',
          message: `no scenario file ${ref} and no preset of that name (presets: ${presetNames().join(', ')})`,
        },
      ]),
    );
  }
  const parsed = parseScenario(text, file === asPath ? ref : `${ref}.yaml`);
  return parsed.ok ? ok({ scenario: parsed.value, file }) : parsed;
}
