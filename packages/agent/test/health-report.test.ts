/**
 * Health report parts with a real SQLite journal file: the boot identity (the kernel's boot id when readable, else
 * a random one; count and previous id journaled), a sequence that never repeats within a boot across restarts, and
 * the reporter's schedule, its report right after an update outcome, and reports exactly as the fleet parses them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@otafleet/mqtt-client';
import { parseHealthReport, type LastUpdate } from '@otafleet/protocol';
import {
  HealthReporter,
  openSqliteJournal,
  readKernelBootId,
  resolveBootIdentity,
  takeSequence,
  type AgentStatusSource,
  type JournalDatabase,
  type UpdateStatus,
} from '@otafleet/agent';
import { silent } from './e2e-device.js';

let dir: string;
let db: JournalDatabase;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'health-report-'));
  db = openSqliteJournal(join(dir, 'journal.db'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const KERNEL_A = '0b9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c';
const KERNEL_B = '6f1c2b8e-3d4a-4e5f-9a0b-1c2d3e4f5a6b';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('resolveBootIdentity', () => {
  it("takes the kernel's boot id, keeps it across agent restarts, counts a new one as the next boot", async () => {
    const path = join(dir, 'boot_id');
    const journal = db.forThing('pi-1');
    await writeFile(path, `${KERNEL_A}\n`);
    // With the kernel's id the clock's boot time is not needed, so the uptime is never asked.
    const noUptime = (): number => {
      throw new Error('uptime asked');
    };
    const first = await resolveBootIdentity(journal, { kernelBootId: readKernelBootId(path), uptimeSeconds: noUptime });
    expect(first).toEqual({ bootId: KERNEL_A, bootCount: 1 });
    expect(await resolveBootIdentity(journal, { kernelBootId: readKernelBootId(path) })).toEqual(first); // the agent restarted
    await writeFile(path, `${KERNEL_B}\n`);
    expect(await resolveBootIdentity(journal, { kernelBootId: readKernelBootId(path) })).toEqual({
      bootId: KERNEL_B,
      bootCount: 2,
      previousBootId: KERNEL_A,
    });
  });

  it('without a kernel boot id, keeps a random id for as long as the boot time stays the same', async () => {
    const journal = db.forThing('pi-2');
    const absent = join(dir, 'absent');
    await writeFile(join(dir, 'garbage'), 'not-a-uuid\n');
    const at = (now: number, uptimeSeconds: number) => ({
      kernelBootId: readKernelBootId(absent),
      now: () => now,
      uptimeSeconds: () => uptimeSeconds,
    });
    const first = await resolveBootIdentity(journal, at(1_000_000, 100));
    expect(first.bootId).toMatch(UUID);
    // The agent restarted 5 minutes later in the same boot; a garbage kernel file is no boot id either.
    expect(await resolveBootIdentity(journal, at(1_300_000, 400))).toEqual(first);
    expect(
      await resolveBootIdentity(journal, {
        ...at(1_300_000, 400),
        kernelBootId: readKernelBootId(join(dir, 'garbage')),
      }),
    ).toEqual(first);
    // A reboot: the uptime starts again.
    const second = await resolveBootIdentity(journal, at(2_000_000, 20));
    expect(second.bootId).toMatch(UUID);
    expect(second).toMatchObject({ bootCount: 2, previousBootId: first.bootId });
    expect(second.bootId).not.toBe(first.bootId);
  });
});

describe('takeSequence', () => {
  it('counts from 0 per boot and never repeats a number within a boot across a reopened journal', async () => {
    const journal = db.forThing('pi-3');
    expect([await takeSequence(journal, KERNEL_A), await takeSequence(journal, KERNEL_A)]).toEqual([0, 1]);
    db.close();
    db = openSqliteJournal(join(dir, 'journal.db'));
    expect(await takeSequence(db.forThing('pi-3'), KERNEL_A)).toBe(2);
    expect(await takeSequence(db.forThing('pi-3'), KERNEL_B)).toBe(0);
  });
});

describe('HealthReporter', () => {
  const release = (version: string) => ({ name: 'http-service', version, securityVersion: 1 });
  const outcome: LastUpdate = {
    jobId: 'job-9',
    operation: 'ota.install',
    component: 'application',
    result: 'rolled-back',
    reasonCode: 'CRASH_LOOP',
    fromVersion: '1.0.0',
    toVersion: '1.3.0',
    at: 1_767_225_000_000,
  };

  function harness() {
    const clock = new ManualClock(1_767_225_600_000);
    let update: UpdateStatus = { current: undefined, lastUpdate: undefined, rollbackCount: 0 };
    let connected = true;
    const status: AgentStatusSource = {
      update: () => update,
      slots: () => ({
        activeSlot: 'A',
        running: release('1.0.0'),
        previous: release('1.3.0'),
        slots: { A: release('1.0.0') },
      }),
      broker: () => ({ connected, shadowSynced: connected }),
    };
    const published: { topic: string; payload: string }[] = [];
    let written = 0;
    const reporter = new HealthReporter({
      device: { thingName: 'pi-4', hardwareType: 'generic-linux', agentVersion: '0.1.0' },
      boot: { bootId: KERNEL_A, bootCount: 5, previousBootId: KERNEL_B },
      status,
      supervisor: { running: () => ({ running: true, pid: 1 }) },
      counters: { counters: () => ({ processRestarts: 1, crashes: 2, errors: 3, requests: 40 }) },
      startedAt: clock.now() - 90_000,
      journal: db.forThing('pi-4'),
      publish: (topic, payload) => {
        published.push({ topic, payload });
        written += 1;
        return Promise.resolve();
      },
      clock,
      logger: silent,
      intervalSeconds: 60,
    });
    const reports = () =>
      published.map((p) => {
        const parsed = parseHealthReport(p.payload, 'pi-4');
        if (!parsed.ok) throw new Error(parsed.error.message);
        expect(p.topic).toBe('dt/pi-4/health');
        return parsed.value as Extract<typeof parsed.value, { schemaVersion: 2 }>;
      });
    const settle = async (n: number) => {
      for (let i = 0; i < 50 && written < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    return {
      clock,
      reporter,
      reports,
      settle,
      finish: () => (update = { current: undefined, lastUpdate: outcome, rollbackCount: 1 }),
      downloading: () =>
        (update = {
          current: {
            jobId: 'job-10',
            operation: 'ota.install',
            phase: 'downloading',
            toVersion: '1.4.0',
            progress: 42.4,
          },
          lastUpdate: undefined,
          rollbackCount: 0,
        }),
      disconnect: () => (connected = false),
    };
  }

  it('reports at start and then every interval, each a valid v2 report with the next sequence', async () => {
    const h = harness();
    h.reporter.start();
    await h.settle(1);
    h.clock.advance(60_000);
    await h.settle(2);
    h.disconnect();
    h.clock.advance(60_000);
    await h.settle(3);
    await h.reporter.close();
    const r = h.reports();
    expect(r.map((x) => x.sequence)).toEqual([0, 1, 2]);
    expect(r[0]).toMatchObject({
      schemaVersion: 2,
      thingName: 'pi-4',
      bootId: KERNEL_A,
      previousBootId: KERNEL_B,
      bootCount: 5,
      firmwareVersion: '1.0.0',
      previousFirmwareVersion: '1.3.0',
      activeSlot: 'A',
      status: 'healthy',
      uptimeSeconds: 90,
      counters: { processRestarts: 1, crashes: 2, errors: 3, requests: 40 },
      rollbackCount: 0,
    });
    expect(r[2]).toMatchObject({ status: 'degraded', uptimeSeconds: 210 });
    expect(r[2]?.checks).toContainEqual({ name: 'broker', status: 'degraded', detail: 'disconnected' });
  });

  it('reports right after an update outcome, once, with lastUpdate and the rollback count', async () => {
    const h = harness();
    h.reporter.start();
    await h.settle(1);
    h.reporter.updateFinished(); // nothing new: no report
    h.finish();
    h.reporter.updateFinished();
    h.reporter.updateFinished(); // the same outcome again: no second report
    await h.settle(2);
    await new Promise((r) => setTimeout(r, 50));
    await h.reporter.close();
    const r = h.reports();
    expect(r).toHaveLength(2);
    expect(r[1]).toMatchObject({ sequence: 1, lastUpdate: outcome, rollbackCount: 1 });
  });

  it('takes a new interval from the remote configuration: the next report is one new interval away', async () => {
    const h = harness();
    h.reporter.start();
    await h.settle(1);
    h.reporter.setIntervalSeconds(10);
    h.clock.advance(9_999);
    await new Promise((r) => setTimeout(r, 30));
    expect(h.reports()).toHaveLength(1);
    h.clock.advance(1);
    await h.settle(2);
    await h.reporter.close();
    expect(h.reports().map((r) => r.sequence)).toEqual([0, 1]);
  });

  it('carries the job in progress as its ota section', async () => {
    const h = harness();
    h.downloading();
    h.reporter.start();
    await h.settle(1);
    await h.reporter.close();
    expect(h.reports()[0]?.ota).toEqual({
      jobId: 'job-10',
      operation: 'ota.install',
      phase: 'downloading',
      progress: 42,
    });
  });
});
