/**
 * Agent self-update end to end: the launcher (bin/otaagent-launcher.js) runs the real agent from its agent slots;
 * jobs of component `agent` carry signed agent bundles through the same journaled update flow (download, verify,
 * install into the free agent slot, arm, exit 75, the launcher starts the new agent, which must connect and pass its
 * checks before SUCCEEDED and the commit). A new release that crashes at start is tried maxBootAttempts times, then
 * the launcher starts the committed agent again, and that agent reports FAILED with AGENT_START_FAILED. The local
 * IoT core, the bundle server and the processes are real; the launcher is stopped with SIGTERM (exit 0).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAgentSlots } from '../bin/agent-slot-state.js';
import { agentInstallDocument, buildAgentBundle, startLauncher, writeAgentRelease } from './e2e-agent-release.js';
import { isTerminal, startE2eCore, type E2eCore } from './e2e-core.js';
import { buildSampleBundles, enrolledE2eDevice, type Samples } from './e2e-device.js';
import { eventually, freePort, serve } from './e2e-helpers.js';
import { startBundleServer, type BundleServer } from './e2e-net.js';

let core: E2eCore;
let samples: Samples;
let server: BundleServer;
let work: string;

beforeAll(async () => {
  [core, samples, server] = await Promise.all([startE2eCore(), buildSampleBundles(), startBundleServer()]);
  work = await mkdtemp(join(tmpdir(), 'agent-self-update-'));
}, 120_000);

afterAll(async () => {
  await server?.close();
  await core?.close();
  if (samples !== undefined) await rm(samples.dir, { recursive: true, force: true });
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('agent self-update (launcher, real agents, local IoT core)', () => {
  it('an agent job to an agent not started by the launcher is REJECTED with UNSUPPORTED_COMPONENT, nothing changed', async () => {
    const dev = await enrolledE2eDevice(core, samples, 'self-update-plain');
    const agent = dev.start();
    try {
      await agent.waitForLog((l) => l['msg'] === 'agent started');
      const bundle = await serve(
        server,
        'agent-plain-0.2.0.otab',
        await buildAgentBundle(work, { version: '0.2.0', securityVersion: 1, behavior: 'real' }),
      );
      await core.createJob(
        'agent-plain',
        dev.thing,
        agentInstallDocument(bundle, { deadlineSeconds: 60, maxBootAttempts: 2 }),
      );
      const e = await core.waitForExecution('agent-plain', dev.thing, isTerminal, 90_000);
      expect(e.status).toBe('REJECTED');
      expect(e.statusDetails?.detailsMap).toMatchObject({ phase: 'failed', reasonCode: 'UNSUPPORTED_COMPONENT' });
      expect(server.requests.some((r) => r.name === 'agent-plain-0.2.0.otab')).toBe(false); // nothing downloaded
      expect(await dev.slots()).toMatchObject({ booted: 'A', committed: 'A', trial: undefined });
    } finally {
      expect((await agent.stop()).code).toBe(0);
    }
  }, 180_000);

  it('a good agent release ends SUCCEEDED running the new agent; a crashing one falls back with AGENT_START_FAILED', async () => {
    const dev = await enrolledE2eDevice(core, samples, 'self-update-e2e');
    const root = join(work, 'agent');
    await writeAgentRelease(join(root, 'slots', 'A'), '0.1.0', 'real'); // the factory agent, nothing recorded
    const launcher = startLauncher(root, ['--connect-timeout', '120', 'run', '--config', dev.configPath]);
    const { agentStarted, failWith } = launcher;
    try {
      await agentStarted('0.1.0', 0);
      await eventually(() => dev.appServes(), 'the application to answer').catch(failWith);

      // 0.1.0 → 0.2.0: the new agent connects, SUCCEEDED is accepted, then its slot is committed.
      const good = await serve(
        server,
        'agent-0.2.0.otab',
        await buildAgentBundle(work, { version: '0.2.0', securityVersion: 1, behavior: 'real' }),
      );
      let mark = launcher.lines.length;
      await core.createJob(
        'agent-020',
        dev.thing,
        agentInstallDocument(good, { deadlineSeconds: 120, maxBootAttempts: 3 }),
      );
      let e = await core.waitForExecution('agent-020', dev.thing, isTerminal, 150_000).catch(failWith);
      expect(e.status).toBe('SUCCEEDED');
      expect(e.statusDetails?.detailsMap).toMatchObject({
        phase: 'succeeded',
        fromVersion: '0.1.0',
        toVersion: '0.2.0',
        slot: 'B',
      });
      const committed = await eventually(() => {
        const s = readAgentSlots(root);
        return s.committed === 'B' && s.trial === null ? s : undefined;
      }, 'the agent slot commit after SUCCEEDED').catch(failWith);
      expect(committed.versions.B).toMatchObject({ name: 'otaagent', version: '0.2.0', securityVersion: 1 });
      expect(committed.failedTrial).toBeNull();
      // The old agent exited 75 and the launcher started slot B, which runs as 0.2.0.
      expect(launcher.lines.slice(mark).some((l) => l['msg'] === 'the agent exited' && l['code'] === 75)).toBe(true);
      expect(
        launcher.lines
          .slice(mark)
          .some((l) => l['msg'] === 'starting the agent' && l['slot'] === 'B' && l['trial'] === true),
      ).toBe(true);
      await agentStarted('0.2.0', mark);
      await eventually(() => dev.appServes(), 'the application to answer under the new agent').catch(failWith);

      // 0.2.0 → 0.3.0, which exits at start: two starts, then the launcher runs 0.2.0 again, which reports the truth.
      const crash = await serve(
        server,
        'agent-0.3.0.otab',
        await buildAgentBundle(work, { version: '0.3.0', securityVersion: 1, behavior: 'crash' }),
      );
      mark = launcher.lines.length;
      await core.createJob(
        'agent-030',
        dev.thing,
        agentInstallDocument(crash, { deadlineSeconds: 120, maxBootAttempts: 2 }),
      );
      e = await core.waitForExecution('agent-030', dev.thing, isTerminal, 150_000).catch(failWith);
      expect(e.status).toBe('FAILED');
      expect(e.statusDetails?.detailsMap).toMatchObject({
        phase: 'rolled-back',
        reasonCode: 'AGENT_START_FAILED',
        toVersion: '0.3.0',
      });
      const after = readAgentSlots(root);
      expect(after).toMatchObject({
        committed: 'B',
        trial: null,
        failedTrial: { slot: 'A', attempts: 2, maxAttempts: 2, reason: 'attempts-exhausted' },
      });
      expect(after.versions.A?.version).toBe('0.3.0'); // installed, tried, never committed
      const starts = launcher.lines
        .slice(mark)
        .filter((l) => l['msg'] === 'starting the agent')
        .map((l) => l['slot']);
      expect(starts).toEqual(['A', 'A', 'B']);
      await agentStarted('0.2.0', mark);
    } finally {
      launcher.child.kill('SIGTERM');
      expect(await launcher.exited).toBe(0);
    }
  }, 420_000);

  it('a new agent that connects but fails its checks is rolled back: FAILED with HEALTH_CHECK_FAILED, the old agent runs', async () => {
    const dev = await enrolledE2eDevice(core, samples, 'self-update-unhealthy');
    const root = join(work, 'agent-unhealthy');
    await writeAgentRelease(join(root, 'slots', 'A'), '0.1.0', 'real');
    // The local health endpoint on, to read what support staff see of the agent's own slots.
    const endpointPort = await freePort();
    const config = JSON.parse(await readFile(dev.configPath, 'utf8')) as Record<string, unknown>;
    await writeFile(dev.configPath, JSON.stringify({ ...config, localEndpointPort: endpointPort }));
    const launcher = startLauncher(root, ['--connect-timeout', '120', 'run', '--config', dev.configPath]);
    const { agentStarted, failWith } = launcher;
    try {
      await agentStarted('0.1.0', 0);
      const bundle = await serve(
        server,
        'agent-0.4.0.otab',
        await buildAgentBundle(work, { version: '0.4.0', securityVersion: 1, behavior: 'real' }),
      );
      const mark = launcher.lines.length;
      // The new agent starts and connects (mqtt passes); the command check exits 1 every round.
      await core.createJob(
        'agent-040',
        dev.thing,
        agentInstallDocument(bundle, {
          deadlineSeconds: 60,
          maxBootAttempts: 3,
          extraChecks: [{ kind: 'command', argv: [process.execPath, '-e', 'process.exit(1)'], timeoutSeconds: 10 }],
        }),
      );
      const e = await core.waitForExecution('agent-040', dev.thing, isTerminal, 150_000).catch(failWith);
      expect(e.status).toBe('FAILED');
      expect(e.statusDetails?.detailsMap).toMatchObject({
        phase: 'rolled-back',
        reasonCode: 'HEALTH_CHECK_FAILED',
        toVersion: '0.4.0',
      });
      // 0.4.0 did run and reach the broker: this is the checks' verdict, not a failed start.
      await agentStarted('0.4.0', mark);
      const after = await eventually(() => {
        const s = readAgentSlots(root);
        return s.trial === null ? s : undefined;
      }, 'the trial to end').catch(failWith);
      expect(after).toMatchObject({ committed: 'A', failedTrial: { slot: 'B' } });
      expect(after.versions.B?.version).toBe('0.4.0'); // installed, tried, never committed
      await agentStarted('0.1.0', mark);
      await eventually(() => dev.appServes(), 'the application to answer under the old agent').catch(failWith);
      const status = await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${endpointPort}/status`).catch(() => undefined);
        const body = res?.ok === true ? ((await res.json()) as { agentSlots?: Record<string, unknown> }) : undefined;
        return body?.agentSlots?.['failedTrial'] === null ? undefined : body;
      }, 'the local endpoint of the old agent').catch(failWith);
      expect(status.agentSlots).toMatchObject({
        running: 'A',
        committed: 'A',
        trial: null,
        failedTrial: { slot: 'B' },
        releases: { B: { name: 'otaagent', version: '0.4.0', securityVersion: 1 } },
      });
    } finally {
      launcher.child.kill('SIGTERM');
      expect(await launcher.exited).toBe(0);
    }
  }, 300_000);
});
