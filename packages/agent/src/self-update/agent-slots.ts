import { cp, rm } from 'node:fs/promises';
import type { MqttConnection } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
// The state file's rules live once, in the launcher's plain-JS module (it runs before any build).
import {
  agentSlotDir,
  armAgentTrial,
  commitAgentTrial,
  otherAgentSlot,
  readAgentSlots,
  type AgentSlot,
} from '../../bin/agent-slot-state.js';

export type { AgentSlot, AgentSlotState } from '../../bin/agent-slot-state.js';
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
 * Commits this agent's slot the first time the broker connection is up: a new agent that starts but cannot
 * connect never commits, and the launcher falls back after its attempts.
 */
export function commitAgentSlotOnceConnected(
  connection: MqttConnection,
  running: { readonly root: string; readonly slot: AgentSlot },
  logger: Logger,
): void {
  let done = false;
  const tryCommit = (): void => {
    if (done || connection.state.kind !== 'connected') return;
    done = true;
    try {
      if (commitAgentTrial(running.root, running.slot)) logger.info({ slot: running.slot }, 'new agent committed');
    } catch (e) {
      logger.error({ err: e }, 'committing the agent slot failed; the launcher will fall back');
    }
  };
  connection.onStateChange(tryCommit);
  tryCommit();
}

/**
 * Installs a new agent (an unpacked, verified release directory) into the agent slot that is not committed and
 * arms it for `maxAttempts` starts. The caller then exits with EXIT_RESTART_INTO_TRIAL so the launcher starts it.
 */
export async function installAgentRelease(o: {
  readonly root: string;
  readonly sourceDir: string;
  readonly maxAttempts: number;
}): Promise<AgentSlot> {
  const state = readAgentSlots(o.root);
  const slot = otherAgentSlot(state.committed);
  const dir = agentSlotDir(o.root, slot);
  await rm(dir, { recursive: true, force: true });
  await cp(o.sourceDir, dir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  armAgentTrial(o.root, slot, o.maxAttempts);
  return slot;
}
