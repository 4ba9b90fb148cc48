/**
 * The download and the status updates end to end, with a real agent process against the local IoT core: a SIGKILL
 * mid-download resumes from the journaled offset; a URL refused as expired is refreshed by re-reading the job
 * document; job status updates written while the broker is unreachable are applied exactly once after it returns.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { isTerminal, startE2eCore, type E2eCore } from './e2e-core.js';
import {
  buildCustomBundle,
  buildSampleBundles,
  createE2eDevice,
  installDocument,
  type AgentProcess,
  type Samples,
} from './e2e-device.js';
import { eventually, freePort, serve } from './e2e-helpers.js';
import { startBundleServer, startTcpProxy, type BundleServer, type TcpProxy } from './e2e-net.js';

let core: E2eCore;
let samples: Samples;
let server: BundleServer;
const agents: AgentProcess[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  [core, samples, server] = await Promise.all([startE2eCore(), buildSampleBundles(), startBundleServer()]);
}, 120_000);
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await Promise.all(proxies.map((p) => p.close()));
  await server?.close();
  await core?.close();
  if (samples !== undefined) await rm(samples.dir, { recursive: true, force: true });
});

async function device(thing: string, viaProxy = false) {
  const credentials = await core.addDevice(thing);
  const proxy = viaProxy ? await startTcpProxy(core.mqttPort) : undefined;
  if (proxy !== undefined) proxies.push(proxy);
  const dev = await createE2eDevice({
    thing,
    samples,
    mqttPort: proxy?.port ?? core.mqttPort,
    credentials,
    appPort: await freePort(),
  });
  const start = (env?: Record<string, string>): AgentProcess => {
    const a = dev.start(env);
    agents.push(a);
    return a;
  };
  return { dev, proxy, start };
}

const journaledOffset = (dataDir: string, jobId: string): number | undefined => {
  try {
    const db = new Database(join(dataDir, 'journal.db'), { readonly: true, fileMustExist: true });
    try {
      return (
        db.prepare('SELECT offset FROM download_offset WHERE job_id = ?').get(jobId) as { offset: number } | undefined
      )?.offset;
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
};

describe('download and status updates end to end', () => {
  it('resumes a download from the journaled offset after the agent is killed with SIGKILL', async () => {
    const { dev, start } = await device('dl-resume');
    const big = await buildCustomBundle(samples.dir, {
      version: '1.1.0',
      securityVersion: 2,
      padBytes: 4 * 1024 * 1024,
    });
    const b = await serve(server, 'resume.otab', { ...big, version: '1.1.0', securityVersion: 2 });
    server.throttle('resume.otab', 1024 * 1024);
    const first = start();
    await first.waitForLog((l) => l['msg'] === 'agent started');
    await core.createJob('dl-resume', dev.thing, installDocument(b, dev.appPort));
    const offset = await eventually(() => {
      const o = journaledOffset(dev.dataDir, 'dl-resume');
      return o !== undefined && o >= 1024 * 1024 ? o : undefined;
    }, 'an offset of at least 1 MiB in the journal');
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    server.throttle('resume.otab', 0);
    const second = start();
    const e = await core.waitForExecution('dl-resume', dev.thing, isTerminal, 120_000);
    expect(e.status).toBe('SUCCEEDED');
    await second.waitForLog((l) => l['msg'] === 'update finished');
    const ranges = server.requests.filter((r) => r.name === 'resume.otab').map((r) => r.range);
    expect(ranges[0]).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThanOrEqual(offset);
    expect(resumedAt).toBeLessThan(b.size);
    expect(ranges).toHaveLength(2);
    expect(journaledOffset(dev.dataDir, 'dl-resume')).toBeUndefined();
  }, 180_000);

  it('on SIGTERM stops mid-download with everything received journaled, exits 0, and resumes at the next start', async () => {
    const { dev, start } = await device('dl-sigterm');
    const big = await buildCustomBundle(samples.dir, {
      version: '1.1.0',
      securityVersion: 2,
      padBytes: 3 * 1024 * 1024,
    });
    const b = await serve(server, 'sigterm.otab', { ...big, version: '1.1.0', securityVersion: 2 });
    server.throttle('sigterm.otab', 1024 * 1024);
    const first = start();
    await first.waitForLog((l) => l['msg'] === 'agent started');
    await core.createJob('dl-sigterm', dev.thing, installDocument(b, dev.appPort));
    await first.waitForLog((l) => l['msg'] === 'update transition' && l['to'] === 'Downloading');
    await eventually(() => (server.sentBytes('sigterm.otab') >= 512 * 1024 ? true : undefined), '512 KiB sent');
    expect(await first.stop()).toEqual({ code: 0, signal: null });
    const offset = journaledOffset(dev.dataDir, 'dl-sigterm');
    expect(offset).toBeGreaterThan(0);
    server.throttle('sigterm.otab', 0);
    const second = start();
    const e = await core.waitForExecution('dl-sigterm', dev.thing, isTerminal, 120_000);
    expect(e.status).toBe('SUCCEEDED');
    await second.waitForLog((l) => l['msg'] === 'update finished');
    const ranges = server.requests.filter((r) => r.name === 'sigterm.otab').map((r) => r.range);
    expect(ranges).toEqual([undefined, `bytes=${offset}-`]);
  }, 180_000);

  it('retries a retryable download failure the job’s maxRetries times, then FAILED; a refusal is not retried', async () => {
    const { dev, start } = await device('dl-retries');
    const agent = start();
    await agent.waitForLog((l) => l['msg'] === 'agent started');
    const b = await serve(server, 'unavailable.otab', samples.byVersion('1.1.0'));
    server.failWith('unavailable.otab', 503);
    await core.createJob('dl-503', dev.thing, installDocument(b, dev.appPort, { maxRetries: 1 }));
    let e = await core.waitForExecution('dl-503', dev.thing, isTerminal, 120_000);
    expect(e.status).toBe('FAILED');
    expect(e.statusDetails?.detailsMap).toMatchObject({ reasonCode: 'DOWNLOAD_FAILED', phase: 'failed', attempt: '2' });
    const retried = agent.logs.filter((l) => l['msg'] === 'download failed; retrying' && l['jobId'] === 'dl-503');
    expect(retried).toHaveLength(1);

    const refused = await serve(server, 'forbidden.otab', samples.byVersion('1.1.0'));
    server.failWith('forbidden.otab', 404);
    await core.createJob('dl-404', dev.thing, installDocument(refused, dev.appPort, { maxRetries: 3 }));
    e = await core.waitForExecution('dl-404', dev.thing, isTerminal, 60_000);
    expect(e.status).toBe('FAILED');
    expect(e.statusDetails?.detailsMap).toMatchObject({ reasonCode: 'DOWNLOAD_REFUSED', attempt: '1' });
    expect(server.requests.filter((r) => r.name === 'forbidden.otab')).toHaveLength(1);
    expect(await dev.appServes()).toBe('http-service 1.0.0');
  }, 180_000);

  it('refreshes an expired download URL by re-reading the job document, and continues at the same offset', async () => {
    const { dev, start } = await device('dl-expired');
    const big = await buildCustomBundle(samples.dir, { version: '1.1.0', securityVersion: 2, padBytes: 1024 * 1024 });
    const b = await serve(server, 'expired.otab', { ...big, version: '1.1.0', securityVersion: 2 });
    server.dropOnceAfter('expired.otab', Math.floor(b.size / 2));
    // The first response is cut halfway, and then the URL "expires": the request after it is refused 403.
    server.expireOnce('expired.otab', 1);
    const agent = start();
    await agent.waitForLog((l) => l['msg'] === 'agent started');
    await core.createJob('dl-expired', dev.thing, installDocument(b, dev.appPort));
    const e = await core.waitForExecution('dl-expired', dev.thing, isTerminal, 120_000);
    expect(e.status).toBe('SUCCEEDED');
    await agent.waitForLog((l) => l['msg'] === 'download URL refused as expired: re-reading the job document');
    const seen = server.requests.filter((r) => r.name === 'expired.otab');
    expect(seen.map((r) => r.status)).toEqual([200, 403, 206]);
    expect(seen[1]?.range).toBe(seen[2]?.range);
  }, 180_000);

  it('delivers the status updates written while the broker is down exactly once when it returns', async () => {
    const { dev, proxy, start } = await device('dl-broker-down', true);
    const b = await serve(server, 'down.otab', samples.byVersion('1.1.0'));
    const agent = start();
    await agent.waitForLog((l) => l['msg'] === 'agent started');
    await core.createJob('dl-down', dev.thing, installDocument(b, dev.appPort));
    const started = await agent.waitForLog((l) => l['msg'] === 'job started');
    await agent.waitForLog((l) => l['msg'] === 'update transition' && l['to'] === 'HealthChecking');
    const queuedStatuses = (): string[] => {
      const db = new Database(join(dev.dataDir, 'journal.db'), { readonly: true });
      try {
        return (db.prepare('SELECT body FROM job_update').all() as { body: string }[]).map(
          (r) => (JSON.parse(r.body) as { status: string }).status,
        );
      } finally {
        db.close();
      }
    };
    // The link goes down once the health-checking update was applied and answered: downed while that update is in
    // flight, its answer is lost and SUCCEEDED supersedes it unanswered, so no log line would count its version step.
    await eventually(
      async () =>
        (await core.describeExecution('dl-down', dev.thing)).statusDetails?.detailsMap?.['phase'] ===
          'health-checking' && queuedStatuses().length === 0
          ? true
          : undefined,
      'the health-checking update applied and answered',
    );
    proxy!.down();
    // SUCCEEDED is decided and journaled while nothing can be sent…
    await eventually(
      () => (queuedStatuses().includes('SUCCEEDED') ? true : undefined),
      'SUCCEEDED in the journal',
      60_000,
    );
    expect((await core.describeExecution('dl-down', dev.thing)).status).toBe('IN_PROGRESS');
    // …and nothing is committed before the Jobs service took it.
    expect((await dev.slots()).committed).toBe('A');
    proxy!.up();
    const e = await core.waitForExecution('dl-down', dev.thing, isTerminal, 60_000);
    expect(e.status).toBe('SUCCEEDED');
    await agent.waitForLog((l) => l['msg'] === 'update finished');
    expect((await dev.slots()).committed).toBe('B');
    // Exactly once: every version step of the execution is one update the agent sent and saw applied.
    const applied = agent.logs.filter(
      (l) =>
        l['msg'] === 'job update delivered' &&
        ['accepted', 'already-held'].includes((l['outcome'] as { via?: string }).via ?? ''),
    );
    expect((e.versionNumber ?? 0) - Number(started['versionNumber'])).toBe(applied.length);
    const statuses = applied.map((l) => l['status']);
    expect(statuses.filter((s) => s === 'SUCCEEDED')).toHaveLength(1);
    expect(
      await eventually(async () => ((await dev.appServes()) === 'http-service 1.1.0' ? 'yes' : undefined), '1.1.0'),
    ).toBe('yes');
  }, 180_000);
});
