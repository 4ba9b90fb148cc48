import { createProcessLogger, lockDataDir, startUntilSignal } from '@otafleet/runtime';
import { createAgent } from '../agent.js';
import { crashHookFromEnv } from '../crash-hook.js';
import { markTrialConnectedOnce, runningAgentSlot } from '../self-update/agent-slots.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { configOrExit } from './load-config.js';
import { systemdNotifier } from './sd-notify.js';

/**
 * `otaagent run --config FILE`: the agent process until SIGTERM/SIGINT/SIGHUP. Exit 0 after a clean shutdown (the
 * update in flight journaled at its state), 1 when shutdown failed, 2 for a bad configuration or a data directory
 * in use. Under systemd (NOTIFY_SOCKET) it says READY=1 once started, pings the watchdog, STOPPING=1 on the way out.
 */
export async function runAgentProcess(configPath: string): Promise<ExitCode> {
  const config = await configOrExit(configPath);
  const logger = createProcessLogger({ name: 'otaagent', level: config.logLevel ?? 'info' });
  let lock;
  try {
    lock = lockDataDir(config.dataDir, 'otaagent', 'give each agent its own dataDir');
  } catch (e) {
    throw new CliError('DATA_DIR_LOCKED', e instanceof Error ? e.message : String(e), EXIT.usage);
  }
  const onStep = crashHookFromEnv(process.env, (step) => logger.warn({ step }, 'crash hook: SIGKILL'));
  const agentSlot = runningAgentSlot(process.env);
  const notifier = systemdNotifier({ env: process.env, logger });
  // A switch of the agent's own slots: shut down as on SIGTERM (the update journaled), then exit 75 so the
  // launcher starts the other agent.
  let restartRequested = false;
  const restartAgent = (): void => {
    restartRequested = true;
    process.kill(process.pid, 'SIGTERM');
  };
  // The signals are caught before the agent starts (startUntilSignal): systemd stopping a unit still coming up
  // gets the same clean shutdown as later.
  const { started, stopped, stopping } = startUntilSignal(
    async () => {
      const agent = await createAgent(config, {
        logger,
        ...(onStep === undefined ? {} : { onStep }),
        ...(agentSlot === undefined ? {} : { agentSlots: { ...agentSlot, restartAgent } }),
      });
      await agent.start();
      return {
        agent,
        close: async () => {
          await notifier?.stopping();
          notifier?.close();
          await agent.close();
        },
      };
    },
    { logger },
  );
  const { agent } = await started;
  logger.info({ thingName: config.thingName, agentVersion: agent.device.agentVersion }, 'agent started');
  if (!stopping()) {
    if (agentSlot !== undefined) markTrialConnectedOnce(agent.connection, agentSlot, logger);
    const watchdogMs = notifier?.startWatchdog();
    await notifier?.ready(`running as ${config.thingName}`);
    if (notifier !== undefined) logger.info({ watchdogMs }, 'told systemd the agent is ready');
  }
  const code = await stopped;
  lock.release();
  if (code !== 0) return EXIT.failure;
  if (restartRequested) logger.info('exiting for the launcher to start the other agent');
  return restartRequested ? EXIT.restartAgent : EXIT.ok;
}
