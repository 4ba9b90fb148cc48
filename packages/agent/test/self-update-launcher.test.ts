/**
 * The self-update launcher as real processes: bin/otaagent-launcher.js starting "agents" from the agent slots,
 * the persisted attempt counter, the fallback to the committed agent, the connect timeout, signal passing, and one
 * trial that is the real agent with no agent job, which disarms itself and has the launcher start the committed one.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { armAgentTrial, readAgentSlots } from '../bin/agent-slot-state.js';
import { startE2eCore } from './e2e-core.js';
import { buildSampleBundles, enrolledE2eDevice } from './e2e-device.js';
import { eventually } from './e2e-helpers.js';

const LAUNCHER = fileURLToPath(new URL('../bin/otaagent-launcher.js', import.meta.url));
const AGENT_PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const STATE_MODULE = pathToFileURL(fileURLToPath(new URL('../bin/agent-slot-state.js', import.meta.url))).href;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A stand-in agent: 'good' commits its slot after 100 ms and runs until SIGTERM; 'crash' exits 1; 'mute' never commits. */
const fakeAgent = (mode: 'good' | 'crash' | 'mute', log: string): string => `
import { appendFileSync } from 'node:fs';
import { commitAgentTrial } from ${JSON.stringify(STATE_MODULE)};
const slot = process.env.OTAAGENT_SLOT;
appendFileSync(${JSON.stringify(log + '.pids')}, process.pid + '\\n');
appendFileSync(${JSON.stringify(log + '.argv')}, JSON.stringify(process.execArgv) + '\\n');
appendFileSync(${JSON.stringify(log)}, 'start ' + slot + ' ' + process.argv.slice(2).join(' ') + '\\n');
process.on('SIGTERM', () => { appendFileSync(${JSON.stringify(log)}, 'term ' + slot + '\\n'); process.exit(0); });
if (${JSON.stringify(mode)} === 'crash') process.exit(1);
if (${JSON.stringify(mode)} === 'good') setTimeout(() => commitAgentTrial(process.env.OTAAGENT_SLOTS_ROOT, slot), 100);
setInterval(() => undefined, 1000);
`;

function agentSlots(modes: { A: 'good' | 'crash' | 'mute'; B: 'good' | 'crash' | 'mute' }) {
  const root = mkdtempSync(join(tmpdir(), 'agent-slots-'));
  dirs.push(root);
  const log = join(root, 'agents.log');
  writeFileSync(log, '');
  for (const slot of ['A', 'B'] as const) {
    mkdirSync(join(root, 'slots', slot, 'bin'), { recursive: true });
    writeFileSync(join(root, 'slots', slot, 'bin', 'otaagent.js'), fakeAgent(modes[slot], log));
  }
  const lines = (): string[] =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  const pids = (): number[] =>
    readFileSync(`${log}.pids`, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
  return { root, lines, pids };
}

function launch(
  root: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  nodeFlags: readonly string[] = [],
) {
  const child = spawn(process.execPath, [...nodeFlags, LAUNCHER, '--root', root, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe('otaagent-launcher', { timeout: 90_000 }, () => {
  it('starts the committed agent with the agent arguments and passes SIGTERM on (exit 0)', async () => {
    const { root, lines } = agentSlots({ A: 'good', B: 'crash' });
    const l = launch(root, ['run', '--config', '/etc/otaagent/agent.json'], {}, ['--max-semi-space-size=1']);
    await eventually(() => (lines().length > 0 ? true : undefined), 'the agent to start');
    expect(lines()[0]).toBe('start A run --config /etc/otaagent/agent.json');
    // The unit's node flags are on the launcher's command line: the agent gets them too.
    expect(readFileSync(join(root, 'agents.log.argv'), 'utf8')).toBe('["--max-semi-space-size=1"]\n');
    l.child.kill('SIGTERM');
    expect(await l.exited).toBe(0);
    expect(lines()).toContain('term A');
    expect(readAgentSlots(root)).toMatchObject({ committed: 'A', trial: null });
  });

  it('a new agent that crashes at start is tried maxAttempts times, then the committed one runs again', async () => {
    const { root, lines } = agentSlots({ A: 'good', B: 'crash' });
    armAgentTrial(root, 'B', 3);
    const l = launch(root, ['run']);
    await eventually(() => (lines().includes('start A run') ? true : undefined), 'the fallback to A');
    expect(lines().slice(0, 4)).toEqual(['start B run', 'start B run', 'start B run', 'start A run']);
    expect(readAgentSlots(root)).toMatchObject({
      committed: 'A',
      trial: null,
      failedTrial: { slot: 'B', attempts: 3, maxAttempts: 3, reason: 'attempts-exhausted' },
    });
    l.child.kill('SIGTERM');
    expect(await l.exited).toBe(0);
  });

  it('counts a start cut short by SIGKILL of the launcher (a power cut): the attempts survive restarts', async () => {
    const { root, lines, pids } = agentSlots({ A: 'good', B: 'mute' });
    armAgentTrial(root, 'B', 2);
    for (let i = 1; i <= 2; i++) {
      const l = launch(root, ['run']);
      await eventually(() => (lines().length === i ? true : undefined), `start ${i}`);
      expect(readAgentSlots(root).trial).toMatchObject({ slot: 'B', attempts: i });
      l.child.kill('SIGKILL');
      await l.exited;
      // the orphaned trial agent goes too, as the unit's cgroup would end it
      process.kill(pids().at(-1)!, 'SIGKILL');
    }
    const l = launch(root, ['run']);
    await eventually(() => (lines().includes('start A run') ? true : undefined), 'the fallback to A');
    expect(readAgentSlots(root).failedTrial).toMatchObject({ slot: 'B', reason: 'attempts-exhausted' });
    l.child.kill('SIGTERM');
    expect(await l.exited).toBe(0);
  });

  it('a new agent that never connects is stopped after the connect timeout and counts as a failed attempt', async () => {
    const { root, lines } = agentSlots({ A: 'good', B: 'mute' });
    armAgentTrial(root, 'B', 1);
    // 5 s: a loaded machine can take more than a second just to start node
    const l = launch(root, ['--connect-timeout', '5', 'run']);
    await eventually(() => (lines().includes('start A run') ? true : undefined), 'the fallback to A', 20_000);
    expect(lines().slice(0, 3)).toEqual(['start B run', 'term B', 'start A run']);
    expect(l.output()).toContain('the new agent did not connect in time');
    l.child.kill('SIGTERM');
    expect(await l.exited).toBe(0);
  });

  it('a new agent that commits itself stays: later starts run it', async () => {
    const { root, lines } = agentSlots({ A: 'crash', B: 'good' });
    writeFileSync(join(root, 'agent-slots.json'), JSON.stringify({ schemaVersion: 1, committed: 'A', trial: null }));
    armAgentTrial(root, 'B', 3);
    const l = launch(root, ['run']);
    await eventually(() => (readAgentSlots(root).committed === 'B' ? true : undefined), 'B to commit');
    l.child.kill('SIGTERM');
    expect(await l.exited).toBe(0);
    const again = launch(root, ['run']);
    await eventually(() => (lines().filter((x) => x === 'start B run').length === 2 ? true : undefined), 'B again');
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('the real agent on trial without an agent job goes back to the committed agent (exit 75, rolled-back)', async () => {
    const [core, samples] = await Promise.all([startE2eCore(), buildSampleBundles()]);
    try {
      const dev = await enrolledE2eDevice(core, samples, 'self-update-pi');
      const { root, lines } = agentSlots({ A: 'good', B: 'crash' });
      rmSync(join(root, 'slots', 'B'), { recursive: true });
      symlinkSync(AGENT_PACKAGE, join(root, 'slots', 'B')); // slot B holds this agent package
      armAgentTrial(root, 'B', 2);
      const l = launch(root, ['run', '--config', dev.configPath], { LOG_FORMAT: 'json' });
      // Only an agent job's update flow commits a new agent; one that nothing vouches for is not kept.
      await eventually(
        () => (lines().some((x) => x.startsWith('start A')) ? true : undefined),
        'the fallback to the committed agent',
        120_000,
      ).catch((e: unknown) => {
        throw new Error(`${String(e)}; launcher and agent output: ${l.output().slice(-3000)}`);
      });
      expect(readAgentSlots(root)).toMatchObject({
        committed: 'A',
        trial: null,
        failedTrial: { slot: 'B', attempts: 1, reason: 'rolled-back' },
      });
      expect(l.output()).toContain('an agent trial runs without an agent job; going back');
      l.child.kill('SIGTERM');
      expect(await l.exited).toBe(0);
    } finally {
      await core.close();
      rmSync(samples.dir, { recursive: true, force: true });
    }
  }, 240_000);
});
