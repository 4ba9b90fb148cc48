import { parseArgs } from 'node:util';
import { runAgentProcess } from './cli/run-command.js';
import { createOutput } from './cli/output.js';

/**
 * The agent process: `node main.ts --config agent.json`, the same as `otaagent run --config agent.json`. Exit
 * codes: 0 after SIGTERM/SIGINT (the update in flight journaled), 1 when shutdown failed, 2 for a bad configuration
 * or a data directory in use.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  if (values.config === undefined) {
    process.stderr.write('usage: otaagent --config <agent.json>\n');
    return 2;
  }
  try {
    return await runAgentProcess(values.config);
  } catch (e) {
    return createOutput(false).failure(e);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`otaagent: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
