/**
 * The reported shadow against a real local IoT core: a device connection over mTLS, answers from the core's Shadow
 * service, documents read back with AWS's own GetThingShadow. Reported on connect, replaced exactly on change (a key
 * that went away is removed), a 409 Version conflict re-read and retried, a delta collected while offline seen on
 * connect, a malformed answer ignored.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { shadowTopic, type LastUpdate } from '@otafleet/protocol';
import {
  buildReportedState,
  ReportedStateSync,
  ShadowClient,
  systemAgentClock,
  type SlotStatus,
  type UpdateStatus,
} from '@otafleet/agent';
import { startE2eCore, type E2eCore } from './e2e-core.js';
import { silent } from './e2e-device.js';
import { eventually } from './e2e-helpers.js';
import {
  closeConnections,
  dataPlane,
  deviceConnection,
  getShadow,
  serviceConnection,
  updateShadow,
  type SeenInbound,
} from './shadow-harness.js';

let core: E2eCore;
let data: IoTDataPlaneClient;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  core = await startE2eCore();
  data = dataPlane(core);
}, 60_000);
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await closeConnections();
});
afterAll(async () => {
  data?.destroy();
  await core?.close();
});

const release = (version: string, securityVersion = 1) => ({ name: 'http-service', version, securityVersion });
const boot = { bootId: '6f1c2b8e-3d4a-4e5f-9a0b-1c2d3e4f5a6b', bootCount: 3 };
const device = (thingName: string) => ({ thingName, hardwareType: 'generic-linux', agentVersion: '0.1.0' });

/** The device's state as the update flow would show it; tests change it as an update would. */
function deviceState() {
  let slots: SlotStatus = {
    activeSlot: 'A',
    running: release('1.0.0'),
    previous: undefined,
    slots: { A: release('1.0.0') },
  };
  let update: UpdateStatus = { current: undefined, lastUpdate: undefined, rollbackCount: 0 };
  return {
    source: { slots: () => slots, update: () => update },
    set(s: SlotStatus, u: UpdateStatus) {
      slots = s;
      update = u;
    },
  };
}

async function startSync(
  thing: string,
  state = deviceState(),
  connectNow = true,
  build = (b: () => ReturnType<typeof buildReportedState>) => b(),
) {
  const inbound: SeenInbound[] = [];
  const connection = await deviceConnection(core, thing, (p) => void inbound.push(p));
  const shadow = new ShadowClient({ connection, thingName: thing, clock: systemAgentClock, logger: silent });
  void shadow.start(); // made while idle: active once connected
  const deltas: Record<string, unknown>[] = [];
  const sync = new ReportedStateSync({
    shadow,
    connection,
    build: () => build(() => buildReportedState(device(thing), boot, state.source)),
    clock: systemAgentClock,
    logger: silent,
    debounceMs: 50,
    retryDelayMs: 200,
    onDelta: (d) => void deltas.push({ ...d }),
  });
  sync.start();
  closers.push(() => sync.close());
  if (connectNow) connection.start();
  return { connection, shadow, sync, state, deltas, inbound };
}

describe('ReportedStateSync', () => {
  it('reports the state on connect, and shadowSynced turns true only once it is accepted', async () => {
    const { sync, connection } = await startSync('shadow-1');
    expect(sync.synced).toBe(false);
    await connection.waitFor('connected');
    await eventually(() => (sync.synced ? true : undefined), 'synced');
    const doc = await getShadow(data, 'shadow-1');
    expect(doc?.state.reported).toEqual({
      schemaVersion: 1,
      firmwareVersion: '1.0.0',
      agentVersion: '0.1.0',
      hardwareType: 'generic-linux',
      activeSlot: 'A',
      slots: { A: release('1.0.0') },
      rollbackCount: 0,
      bootId: boot.bootId,
      bootCount: 3,
    });
  });

  it('receives the answers to its own requests but not update/documents, which the service publishes on every update', async () => {
    const watcher = await serviceConnection(core, 'documents-watcher');
    const documents: string[] = [];
    const documentsTopic = shadowTopic({ thingName: 'shadow-docs', operation: 'update', responseType: 'documents' });
    await watcher.subscribe(documentsTopic, (m) => void documents.push(m.topic));
    const { sync, connection, inbound } = await startSync('shadow-docs');
    await connection.waitFor('connected');
    await eventually(
      () => (sync.synced && documents.length > 0 ? true : undefined),
      'synced, and a documents message out',
    );
    const accepted = shadowTopic({ thingName: 'shadow-docs', operation: 'update', responseType: 'accepted' });
    const topics = inbound.map((p) => p.topic);
    expect(topics).toContain(accepted);
    expect(topics).not.toContain(documentsTopic);
    // Every answer came at the QoS the agent subscribed at (0, ANSWER_SUBSCRIPTION): the core delivers at the
    // granted QoS, so an answer costs no PUBACK.
    expect(inbound.filter((p) => p.qos !== 0)).toEqual([]);
  });

  it('reports a change once, replacing the section exactly (a rolled-back update names its reason)', async () => {
    const s = await startSync('shadow-2');
    await eventually(() => (s.sync.synced ? true : undefined), 'synced');
    const first = (await getShadow(data, 'shadow-2'))!.version;
    const rolledBack: LastUpdate = {
      jobId: 'job-1',
      operation: 'ota.install',
      component: 'application',
      result: 'rolled-back',
      reasonCode: 'HEALTH_CHECK_FAILED',
      reason: 'http check failed: 500',
      fromVersion: '1.0.0',
      toVersion: '1.2.0',
      at: 1_767_225_000_000,
    };
    s.state.set(
      {
        activeSlot: 'A',
        running: release('1.0.0'),
        previous: release('1.2.0', 2),
        slots: { A: release('1.0.0'), B: release('1.2.0', 2) },
      },
      { current: undefined, lastUpdate: rolledBack, rollbackCount: 1 },
    );
    s.sync.changed();
    s.sync.changed(); // within the debounce: one update
    const doc = await eventually(async () => {
      const d = await getShadow(data, 'shadow-2');
      return (d?.state.reported?.rollbackCount as number) === 1 ? d : undefined;
    }, 'the rollback reported');
    expect(doc.state.reported?.lastUpdate).toEqual(rolledBack);
    expect(doc.version).toBe(first + 1);
    // The B slot emptied again and lastUpdate without a reason: those keys leave the shadow, not linger.
    const { reason: _reason, ...withoutReason } = rolledBack;
    s.state.set(
      { activeSlot: 'A', running: release('1.0.0'), previous: undefined, slots: { A: release('1.0.0') } },
      { current: undefined, lastUpdate: withoutReason, rollbackCount: 1 },
    );
    s.sync.changed();
    const after = await eventually(async () => {
      const d = await getShadow(data, 'shadow-2');
      return d !== undefined && d.version === first + 2 ? d : undefined;
    }, 'the replacement');
    expect(after.state.reported?.slots).toEqual({ A: release('1.0.0') });
    expect(after.state.reported?.lastUpdate).toEqual(withoutReason);
    // Nothing changed: nothing is sent.
    s.sync.changed();
    await new Promise((r) => setTimeout(r, 400));
    await s.sync.idle();
    expect((await getShadow(data, 'shadow-2'))!.version).toBe(first + 2);
  });

  it('re-reads the shadow after a 409 Version conflict and retries on the new version', async () => {
    const s = await startSync('shadow-3');
    await eventually(() => (s.sync.synced ? true : undefined), 'synced');
    // Someone else writes the shadow: the device's known version is now stale.
    await updateShadow(data, 'shadow-3', { state: { desired: { note: 'from the operator' } } });
    const stale = (await getShadow(data, 'shadow-3'))!.version;
    s.state.set(
      {
        activeSlot: 'B',
        running: release('1.1.0', 2),
        previous: release('1.0.0'),
        slots: { A: release('1.0.0'), B: release('1.1.0', 2) },
      },
      { current: undefined, lastUpdate: undefined, rollbackCount: 0 },
    );
    s.sync.changed();
    const doc = await eventually(async () => {
      const d = await getShadow(data, 'shadow-3');
      return d?.state.reported?.firmwareVersion === '1.1.0' ? d : undefined;
    }, 'the retried update');
    expect(s.sync.conflicts).toBe(1);
    expect(doc.version).toBe(stale + 1);
    expect(doc.state.desired).toEqual({ note: 'from the operator' }); // the operator's section untouched
  });

  it('on connect, reads the delta collected while offline', async () => {
    await updateShadow(data, 'shadow-4', { state: { desired: { firmwareVersion: '9.9.9' } } });
    const s = await startSync('shadow-4');
    await eventually(() => (s.sync.synced ? true : undefined), 'synced');
    expect(s.deltas[0]).toEqual({ firmwareVersion: '9.9.9' });
    // The agent reports its truth, not the wish.
    expect((await getShadow(data, 'shadow-4'))?.state.reported?.firmwareVersion).toBe('1.0.0');
  });

  it("ignores a malformed answer and another client's answer, and goes on working", async () => {
    const s = await startSync('shadow-5');
    await eventually(() => (s.sync.synced ? true : undefined), 'synced');
    const watcher = await serviceConnection(core, 'shadow-test-watcher');
    const accepted = shadowTopic({ thingName: 'shadow-5', operation: 'update', responseType: 'accepted' });
    const delta = shadowTopic({ thingName: 'shadow-5', operation: 'update', responseType: 'delta' });
    await watcher.publish(accepted, '{not json');
    await watcher.publish(accepted, JSON.stringify({ clientToken: 'someone-else', version: 1 }));
    await watcher.publish(delta, JSON.stringify({ state: 'not an object' }));
    await watcher.publish(delta, Buffer.from([0xff, 0xfe]));
    // A valid delta after them, on the same topic: once it is seen, the bad ones were seen (and dropped) before it.
    await watcher.publish(delta, JSON.stringify({ state: { x: 1 }, metadata: {}, version: 1, timestamp: 1 }));
    await eventually(() => (s.deltas.length > 0 ? true : undefined), 'the valid delta');
    expect(s.deltas).toEqual([{ x: 1 }]);
    // A delta answers no request: subscribed at QoS 1, so it comes at QoS 1 (acknowledged once handled).
    expect(new Set(s.inbound.filter((p) => p.topic === delta).map((p) => p.qos))).toEqual(new Set([1]));
    s.state.set(
      {
        activeSlot: 'B',
        running: release('1.1.0', 2),
        previous: release('1.0.0'),
        slots: { A: release('1.0.0'), B: release('1.1.0', 2) },
      },
      { current: undefined, lastUpdate: undefined, rollbackCount: 0 },
    );
    s.sync.changed();
    await eventually(async () => {
      const d = await getShadow(data, 'shadow-5');
      return d?.state.reported?.firmwareVersion === '1.1.0' ? true : undefined;
    }, 'the next update');
  });

  it('says false while disconnected and true again after the next accepted report', async () => {
    const s = await startSync('shadow-6');
    await eventually(() => (s.sync.synced ? true : undefined), 'synced');
    const before = (await getShadow(data, 'shadow-6'))!.version;
    // The core kicks the client when another connects with the same client id.
    const twin = await deviceConnection(core, 'shadow-6');
    twin.start();
    await twin.waitFor('connected');
    await eventually(() => (s.sync.synced ? undefined : true), 'unsynced after the drop');
    await twin.close();
    await eventually(() => (s.sync.synced ? true : undefined), 'synced again', 30_000);
    expect((await getShadow(data, 'shadow-6'))!.version).toBeGreaterThan(before);
  });

  it('a report the Shadow service refuses as too large is not resent in a loop; the next good one syncs', async () => {
    let oversized = true;
    const watcher = await serviceConnection(core, 'shadow-test-watcher-7');
    const requests: string[] = [];
    await watcher.subscribe(shadowTopic({ thingName: 'shadow-7', operation: 'update' }), (m) => {
      requests.push(m.payload.toString('utf8'));
    });
    const s = await startSync('shadow-7', deviceState(), false, (b) => {
      const state = b();
      // Not something buildReportedState makes: the service's own size limit is what is exercised here.
      return oversized && state !== undefined ? { ...state, padding: 'x'.repeat(9_000) } : state;
    });
    s.connection.start();
    await s.connection.waitFor('connected');
    await new Promise((r) => setTimeout(r, 1_000));
    await s.sync.idle();
    expect(s.sync.synced).toBe(false);
    expect(requests).toHaveLength(1);
    expect(await getShadow(data, 'shadow-7')).toBeUndefined(); // nothing stored, nothing half-written
    oversized = false;
    s.sync.changed();
    await eventually(() => (s.sync.synced ? true : undefined), 'synced with a good report');
    expect((await getShadow(data, 'shadow-7'))?.version).toBe(1);
  });
});
