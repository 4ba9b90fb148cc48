import type { MqttConnection } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
// The state file's rules live once, in the launcher's plain-JS module (it runs before any build).
import { markAgentTrialConnected, type AgentSlot } from '../../bin/agent-slot-state.js';

export type { AgentRelease, AgentSlot, AgentSlotState } from '../../bin/agent-slot-state.js';
export { EXIT_RESTART_INTO_TRIAL, readAgentSlots } from '../../bin/agent-slot-state.js';

/** The agent slot this process runs from, when the launcher started it (OTAAGENT_SLOTS_ROOT, OTAAGENT_SLOT). */
export function runningAgentSlot(
  env: NodeJS.ProcessEnv,
): { readonly root: string; readonly slot: AgentSlot } | undefined {
  const root = env.OTAAGENT_SLOTS_ROOT;
  const slot = env.OTAAGENT_SLOT;
  if (root === undefined || root === '' || (slot !== 'A' && slot !== 'B')) return undefined;
  return { root, slot };
}

/**
 * Tells the launcher, the first time the broker connection is up, that this trial agent connected: its connect
 * timeout stops and the update flow's health deadline decides. The commit is the flow's (after SUCCEEDED was
 * accepted), never this: a new agent that connects but fails its checks still goes back.
 */
export function markTrialConnectedOnce(
  connection: MqttConnection,
  running: { readonly root: string; readonly slot: AgentSlot },
  logger: Logger,
): void {
  let done = false;
  const tryMark = (): void => {
    if (done || connection.state.kind !== 'connected') return;
    done = true;
    try {
      if (markAgentTrialConnected(running.root, running.slot)) {
        logger.info({ slot: running.slot }, 'new agent connected; told the launcher');
      }
    } catch (e) {
      logger.error({ err: e }, 'marking the agent trial connected failed; the launcher may stop this agent');
    }
  };
  connection.onStateChange(tryMark);
  tryMark();
}
