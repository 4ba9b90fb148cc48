import { parseArgs } from 'node:util';
import { createProcessLogger, lockDataDir, runUntilSignal } from '@otafleet/runtime';
import { createAgent } from './agent.js';
import { loadAgentConfig } from './config/load.js';
import { crashHookFromEnv } from './crash-hook.js';

/**
 * The agent process: `node main.ts --config agent.json`. Exit codes: 0 after SIGTERM/SIGINT (the update in flight
 * journaled), 1 when shutdown failed, 2 for a bad configuration or a data directory in use.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  if (values.config === undefined) {
    process.stderr.write('usage: otaagent --config <agent.json>\n');
    return 2;
  }
  const loaded = await loadAgentConfig(values.config);
  if (!loaded.ok) {
    process.stderr.write(`${loaded.error.message}\n`);
    for (const i of loaded.error.issues) process.stderr.write(`  ${i.path}: ${i.message}\n`);
    return 2;
  }
  const config = loaded.value;
  const logger = createProcessLogger({ name: 'otaagent', level: config.logLevel ?? 'info' });
  let lock;
  try {
    lock = lockDataDir(config.dataDir, 'otaagent', 'give each agent its own dataDir');
  } catch (e) {
    logger.error({ err: e }, 'data directory in use');
    return 2;
  }
  const onStep = crashHookFromEnv(process.env, (step) => logger.warn({ step }, 'crash hook: SIGKILL'));
  const agent = await createAgent(config, { logger, ...(onStep === undefined ? {} : { onStep }) });
  await agent.start();
  logger.info({ thingName: config.thingName }, 'agent started');
  const code = await runUntilSignal(agent, { logger });
  lock.release();
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`otaagent: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
