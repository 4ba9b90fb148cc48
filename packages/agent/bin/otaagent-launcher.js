#!/usr/bin/env node
// The agent launcher for self-update: `otaagent-launcher --root /opt/otaagent/agent run --config agent.json`.
// It starts the agent of the committed slot, or of an armed trial slot while that has attempts left, and falls back
// to the committed one when the new agent fails to start or to connect `maxAttempts` times (the trial agent marks
// itself connected, and its update flow commits it once the Jobs service accepted SUCCEEDED). Exit 75 from an agent
// means "start again now" (into a trial just armed, or back after a rollback). Stop signals are passed on; its exit
// code is the agent's.
// Environment for the agent: OTAAGENT_SLOTS_ROOT and OTAAGENT_SLOT (what it commits).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { clearInterval, setInterval } from 'node:timers';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT_RESTART_INTO_TRIAL, agentSlotDir, beginAgentStart, readAgentSlots } from './agent-slot-state.js';

const log = (msg, fields = {}) =>
  process.stderr.write(`${JSON.stringify({ time: Date.now(), name: 'otaagent-launcher', msg, ...fields })}\n`);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: { root: { type: 'string' }, 'connect-timeout': { type: 'string' } },
});
if (typeof values.root !== 'string') {
  process.stderr.write('usage: otaagent-launcher --root DIR [--connect-timeout SECONDS] <otaagent arguments>\n');
  process.exit(2);
}
const root = values.root;
// The agent's own arguments: everything except the launcher's options.
const agentArgs = process.argv.slice(2).filter((a, i, all) => {
  const launcherOption = a === '--root' || a === '--connect-timeout';
  const launcherValue = i > 0 && (all[i - 1] === '--root' || all[i - 1] === '--connect-timeout');
  return !(launcherOption || launcherValue || a.startsWith('--root=') || a.startsWith('--connect-timeout='));
});
void positionals;
const connectTimeoutMs = Number(values['connect-timeout'] ?? 120) * 1000;

let current;
let stopping;
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(signal, () => {
    stopping = signal;
    current?.kill(signal);
  });
}

const exitCodeOf = (code, signal) => code ?? 128 + (constants.signals[signal] ?? 0);

for (;;) {
  const start = beginAgentStart(root);
  if (start.fellBack) log('the new agent never committed; back to the committed slot', { failedTrial: start.fellBack });
  const entry = join(agentSlotDir(root, start.slot), 'bin', 'otaagent.js');
  log('starting the agent', { slot: start.slot, trial: start.trial });
  // The agent runs with the launcher's own node flags (the unit's ExecStart: the memory flags apply to the agent).
  current = spawn(process.execPath, [...process.execArgv, entry, ...agentArgs], {
    stdio: 'inherit',
    env: { ...process.env, OTAAGENT_SLOTS_ROOT: root, OTAAGENT_SLOT: start.slot },
  });
  const exited = new Promise((resolve) => {
    current.once('error', (e) => resolve({ code: 127, signal: null, error: e.message }));
    current.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // A trial that runs but never commits (cannot connect) is stopped after the connect timeout: a failed attempt.
  let watch;
  if (start.trial) {
    const startedAt = Date.now();
    watch = setInterval(() => {
      const s = readAgentSlots(root);
      // Committed, rolled back, or connected: from here the update flow's health deadline decides, not us.
      if (s.trial?.slot !== start.slot || s.trial.connectedAt !== undefined) return clearInterval(watch);
      if (Date.now() - startedAt >= connectTimeoutMs) {
        log('the new agent did not connect in time; stopping it', { slot: start.slot, connectTimeoutMs });
        clearInterval(watch);
        current.kill('SIGTERM');
      }
    }, 250);
  }
  const { code, signal, error } = await exited;
  clearInterval(watch);
  if (stopping !== undefined) process.exit(exitCodeOf(code, signal));
  log('the agent exited', { slot: start.slot, code, signal, ...(error === undefined ? {} : { error }) });
  if (code === EXIT_RESTART_INTO_TRIAL) continue;
  // A trial that ended without committing is a failed attempt: start again (the next start counts, or falls back).
  const s = readAgentSlots(root);
  if (start.trial && s.committed !== start.slot) continue;
  process.exit(exitCodeOf(code, signal));
}
