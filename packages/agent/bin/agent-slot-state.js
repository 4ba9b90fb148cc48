// The agent's own A/B slots (self-update), as plain JS so the launcher runs before any build and the agent (TS)
// reads and writes the same file through the same code. Layout under `root`:
//   slots/A, slots/B   each a complete agent installation (its bin/otaagent.js is what the launcher starts)
//   agent-slots.json   { schemaVersion, committed, trial: { slot, attempts, maxAttempts } | null, failedTrial }
// The attempt counter is persisted before each start of a trial, so crashes and power cuts count too.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const AGENT_SLOTS_FILE = 'agent-slots.json';
export const AGENT_SLOTS_SCHEMA_VERSION = 1;
/** The agent exits with this after arming a new agent slot: the launcher starts again at once, into the trial. */
export const EXIT_RESTART_INTO_TRIAL = 75;

const SLOTS = ['A', 'B'];
const initial = () => ({ schemaVersion: AGENT_SLOTS_SCHEMA_VERSION, committed: 'A', trial: null, failedTrial: null });

export const agentSlotDir = (root, slot) => join(root, 'slots', slot);
export const otherAgentSlot = (slot) => (slot === 'A' ? 'B' : 'A');

/** The state; a missing file is a fresh install on slot A. A file that does not parse is an error (never guessed). */
export function readAgentSlots(root) {
  const path = join(root, AGENT_SLOTS_FILE);
  if (!existsSync(path)) return initial();
  const s = JSON.parse(readFileSync(path, 'utf8'));
  if (s?.schemaVersion !== AGENT_SLOTS_SCHEMA_VERSION || !SLOTS.includes(s.committed)) {
    throw new Error(`${path} is not an agent slot state of schema ${AGENT_SLOTS_SCHEMA_VERSION}`);
  }
  return { ...initial(), ...s };
}

/** Replaces the state file durably: a temporary file, fsync, rename, fsync of the directory. */
export function writeAgentSlots(root, state) {
  mkdirSync(root, { recursive: true });
  const path = join(root, AGENT_SLOTS_FILE);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify(state)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(root, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** Arms `slot` (holding a new agent) for at most `maxAttempts` starts that do not end in a commit. */
export function armAgentTrial(root, slot, maxAttempts) {
  const s = readAgentSlots(root);
  if (slot === s.committed) throw new Error(`slot ${slot} is the committed agent slot`);
  writeAgentSlots(root, { ...s, trial: { slot, attempts: 0, maxAttempts }, failedTrial: null });
}

/**
 * Called by the launcher before each start: the slot to start. A trial with attempts left gets one more (persisted
 * first); one without is given up (failedTrial, reason `attempts-exhausted`) and the committed slot starts.
 */
export function beginAgentStart(root, now = Date.now()) {
  const s = readAgentSlots(root);
  if (s.trial === null) return { slot: s.committed, trial: false };
  if (s.trial.attempts >= s.trial.maxAttempts) {
    const failedTrial = { ...s.trial, reason: 'attempts-exhausted', at: now };
    writeAgentSlots(root, { ...s, trial: null, failedTrial });
    return { slot: s.committed, trial: false, fellBack: failedTrial };
  }
  writeAgentSlots(root, { ...s, trial: { ...s.trial, attempts: s.trial.attempts + 1 } });
  return { slot: s.trial.slot, trial: true };
}

/** Called by the agent of the trial slot once it is connected: it becomes the committed agent. */
export function commitAgentTrial(root, runningSlot) {
  const s = readAgentSlots(root);
  if (s.trial === null || s.trial.slot !== runningSlot) return false;
  writeAgentSlots(root, { ...s, committed: runningSlot, trial: null, failedTrial: null });
  return true;
}
