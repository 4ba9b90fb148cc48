// The agent's own A/B slots (self-update), as plain JS so the launcher runs before any build and the agent (TS)
// reads and writes the same file through the same code. Layout under `root`:
//   slots/A, slots/B   each a complete agent installation (its bin/otaagent.js is what the launcher starts)
//   agent-slots.json   { schemaVersion, committed, trial: { slot, attempts, maxAttempts, connectedAt? } | null,
//                        failedTrial, versions: { A?, B? } (the release each slot holds, as its signed bundle said) }
// The attempt counter is persisted before each start of a trial, so crashes and power cuts count too. The trial is
// committed by the update flow (after the Jobs service accepted SUCCEEDED); `connectedAt` only tells the launcher
// that the new agent reached the broker, so its connect timeout stops (the job's health deadline takes over).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const AGENT_SLOTS_FILE = 'agent-slots.json';
export const AGENT_SLOTS_SCHEMA_VERSION = 1;
/** The agent exits with this after arming a new agent slot: the launcher starts again at once, into the trial. */
export const EXIT_RESTART_INTO_TRIAL = 75;

const SLOTS = ['A', 'B'];
const initial = () => ({
  schemaVersion: AGENT_SLOTS_SCHEMA_VERSION,
  committed: 'A',
  trial: null,
  failedTrial: null,
  versions: {},
});

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

/** Records what `slot` holds (`null`: empty, or an install into it has not finished). */
export function recordAgentRelease(root, slot, release) {
  const s = readAgentSlots(root);
  const versions = { ...s.versions };
  if (release === null) delete versions[slot];
  else versions[slot] = release;
  writeAgentSlots(root, { ...s, versions });
}

/** Arms `slot` (holding a new agent) for at most `maxAttempts` starts that do not end in a commit. */
export function armAgentTrial(root, slot, maxAttempts) {
  const s = readAgentSlots(root);
  if (slot === s.committed) throw new Error(`slot ${slot} is the committed agent slot`);
  writeAgentSlots(root, { ...s, trial: { slot, attempts: 0, maxAttempts }, failedTrial: null });
}

/** Called by the trial agent once connected: the launcher's connect timeout no longer applies to this start. */
export function markAgentTrialConnected(root, runningSlot, now = Date.now()) {
  const s = readAgentSlots(root);
  if (s.trial === null || s.trial.slot !== runningSlot || s.trial.connectedAt !== undefined) return false;
  writeAgentSlots(root, { ...s, trial: { ...s.trial, connectedAt: now } });
  return true;
}

/** Disarms the trial (the agent decided: failed health checks, cancel): the committed agent starts next. */
export function rollBackAgentTrial(root, now = Date.now()) {
  const s = readAgentSlots(root);
  if (s.trial === null) return false;
  const { connectedAt: _connectedAt, ...trial } = s.trial;
  writeAgentSlots(root, { ...s, trial: null, failedTrial: { ...trial, reason: 'rolled-back', at: now } });
  return true;
}

/**
 * Called by the launcher before each start: the slot to start. A trial with attempts left gets one more (persisted
 * first); one without is given up (failedTrial, reason `attempts-exhausted`) and the committed slot starts.
 */
export function beginAgentStart(root, now = Date.now()) {
  const s = readAgentSlots(root);
  if (s.trial === null) return { slot: s.committed, trial: false };
  if (s.trial.attempts >= s.trial.maxAttempts) {
    const { connectedAt: _connectedAt, ...trial } = s.trial;
    const failedTrial = { ...trial, reason: 'attempts-exhausted', at: now };
    writeAgentSlots(root, { ...s, trial: null, failedTrial });
    return { slot: s.committed, trial: false, fellBack: failedTrial };
  }
  // A new start must connect again before the connect timeout: connectedAt belongs to the start that set it.
  const { connectedAt: _connectedAt, ...trial } = s.trial;
  writeAgentSlots(root, { ...s, trial: { ...trial, attempts: trial.attempts + 1 } });
  return { slot: s.trial.slot, trial: true };
}

/** The trial becomes the committed agent (the update flow's commit, after the Jobs service accepted SUCCEEDED). */
export function commitAgentTrial(root, runningSlot) {
  const s = readAgentSlots(root);
  if (s.trial === null || s.trial.slot !== runningSlot) return false;
  writeAgentSlots(root, { ...s, committed: runningSlot, trial: null, failedTrial: null });
  return true;
}
