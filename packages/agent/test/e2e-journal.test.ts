/**
 * A corrupt journal, end to end with a real agent process: the agent keeps running, starts a fresh journal (the bad
 * file kept aside), reports FAILED with JOURNAL_CORRUPT for the job it was on, and does not switch slots on the
 * strength of the bad record (a trial it finds is rolled back to the committed release).
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, startE2eCore, type E2eCore } from './e2e-core.js';
import { buildSampleBundles, createE2eDevice, installDocument, type AgentProcess, type Samples } from './e2e-device.js';
import { eventually, freePort, serve } from './e2e-helpers.js';
import { startBundleServer, type BundleServer } from './e2e-net.js';

let core: E2eCore;
let samples: Samples;
let server: BundleServer;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  [core, samples, server] = await Promise.all([startE2eCore(), buildSampleBundles(), startBundleServer()]);
}, 120_000);
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await server?.close();
  await core?.close();
  if (samples !== undefined) await rm(samples.dir, { recursive: true, force: true });
});

async function crashedAt(thing: string, step: string) {
  const credentials = await core.addDevice(thing);
  const dev = await createE2eDevice({
    thing,
    samples,
    mqttPort: core.mqttPort,
    credentials,
    appPort: await freePort(),
  });
  const b = await serve(server, `${thing}.otab`, samples.byVersion('1.1.0'));
  const first = dev.start({ OTA_AGENT_CRASH_AT: step });
  agents.push(first);
  await first.waitForLog((l) => l['msg'] === 'agent started');
  await core.createJob(thing, thing, installDocument(b, dev.appPort));
  expect((await first.exited).signal).toBe('SIGKILL');
  return dev;
}

describe('a corrupt journal', () => {
  it('an unreadable file: put aside, a fresh journal, FAILED JOURNAL_CORRUPT for the job it was on', async () => {
    const dev = await crashedAt('jc-file', 'state:Downloading');
    const path = join(dev.dataDir, 'journal.db');
    for (const suffix of ['-wal', '-shm']) rmSync(path + suffix, { force: true });
    writeFileSync(path, Buffer.alloc(16_384, 0x42));
    const second = dev.start();
    agents.push(second);
    const e = await core.waitForExecution('jc-file', dev.thing, isTerminal, 60_000);
    expect(e.status).toBe('FAILED');
    expect(e.statusDetails?.detailsMap?.['reasonCode']).toBe('JOURNAL_CORRUPT');
    expect(readdirSync(dev.dataDir).some((f) => f.startsWith('journal.db.corrupt-'))).toBe(true);
    const slots = await dev.slots();
    expect(slots).toMatchObject({ booted: 'A', committed: 'A', trial: undefined });
    expect(await dev.appServes()).toBe('http-service 1.0.0');
    expect(second.child.exitCode).toBeNull(); // still running
  }, 120_000);

  it('an undecodable record during a trial: the trial is rolled back, FAILED JOURNAL_CORRUPT, no commit', async () => {
    const dev = await crashedAt('jc-row', 'state:HealthChecking');
    const db = new Database(join(dev.dataDir, 'journal.db'));
    db.prepare('UPDATE update_state SET schema_version = 99').run();
    db.close();
    const second = dev.start();
    agents.push(second);
    const e = await core.waitForExecution('jc-row', dev.thing, isTerminal, 60_000);
    expect(e.status).toBe('FAILED');
    expect(e.statusDetails?.detailsMap?.['reasonCode']).toBe('JOURNAL_CORRUPT');
    const slots = await eventually(async () => {
      const s = await dev.slots();
      return s.trial === undefined && s.booted === 'A' ? s : undefined;
    }, 'back on slot A');
    expect(slots.committed).toBe('A');
    expect(
      await eventually(async () => ((await dev.appServes()) === 'http-service 1.0.0' ? 'yes' : undefined), '1.0.0'),
    ).toBe('yes');
    expect(existsSync(join(dev.dataDir, 'journal.db'))).toBe(true);
  }, 120_000);
});
