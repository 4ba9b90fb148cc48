/**
 * The configuration shadow (`ota-config`) against a real local IoT core, with a real SQLite journal, a real file
 * and a real application process: desired written while the device was offline is applied on connect; the file
 * is replaced whole and the application gets SIGHUP (or a restart); the answer lands in `reported`; repeated
 * deltas and restarts apply nothing twice; wrong types, too large and malformed input are refused with a
 * specific reason and leave the previous configuration in place.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { OTA_CONFIG_SHADOW_NAME, shadowTopic } from '@otafleet/protocol';
import type { MqttConnection } from '@otafleet/mqtt-client';
import {
  ConfigShadowSync,
  createApplicationSupervisor,
  openSqliteJournal,
  ShadowClient,
  systemAgentClock,
  type ApplicationSupervisor,
  type JournalDatabase,
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
} from './shadow-harness.js';

let core: E2eCore;
let data: IoTDataPlaneClient;
let dir: string;
const closers: (() => Promise<void>)[] = [];

/** An application that writes one line per SIGHUP it receives, and otherwise just runs. */
const HUP_APP = `
const { appendFileSync } = require('node:fs');
process.on('SIGHUP', () => appendFileSync(process.env.HUP_LOG, 'HUP\\n'));
process.on('SIGTERM', () => process.exit(0));
appendFileSync(process.env.HUP_LOG, 'START\\n');
setInterval(() => undefined, 1000);
`;

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
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

interface Device {
  readonly thing: string;
  readonly configPath: string;
  readonly hupLog: string;
  readonly supervisor: ApplicationSupervisor;
  readonly db: JournalDatabase;
  connection: MqttConnection;
  sync: ConfigShadowSync;
  /** Lines the application wrote: START once per start, HUP once per SIGHUP. */
  lines(): Promise<string[]>;
}

async function startDevice(thing: string, onChange: 'sighup' | 'restart' = 'sighup'): Promise<Device> {
  dir ??= mkdtempSync(join(tmpdir(), 'config-shadow-'));
  const base = mkdtempSync(join(dir, `${thing}-`));
  const script = join(base, 'app.cjs');
  await writeFile(script, HUP_APP);
  const hupLog = join(base, 'hup.log');
  const supervisor = createApplicationSupervisor({
    command: [process.execPath, script],
    cwd: base,
    env: { HUP_LOG: hupLog },
    clock: systemAgentClock,
    logger: silent,
  });
  await supervisor.start();
  closers.push(() => supervisor.stop());
  const lines = async () => (await readFile(hupLog, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
  await eventually(async () => ((await lines()).includes('START') ? true : undefined), 'the application started');
  const db = openSqliteJournal(join(base, 'journal.db'));
  closers.push(() => Promise.resolve(db.close()));
  const device: Device = {
    thing,
    configPath: join(base, 'etc', 'app-config.json'),
    hupLog,
    supervisor,
    db,
    connection: await deviceConnection(core, thing),
    sync: undefined as unknown as ConfigShadowSync,
    lines,
  };
  device.sync = startSync(device, onChange);
  return device;
}

const agentSettings: { thing: string; settings: unknown }[] = [];

function startSync(d: Device, onChange: 'sighup' | 'restart' = 'sighup'): ConfigShadowSync {
  const shadow = new ShadowClient({
    connection: d.connection,
    thingName: d.thing,
    shadowName: OTA_CONFIG_SHADOW_NAME,
    clock: systemAgentClock,
    logger: silent,
    updateAnswers: 'at-first-update', // as the agent makes it
  });
  void shadow.start();
  const sync = new ConfigShadowSync({
    shadow,
    connection: d.connection,
    journal: d.db.forThing(d.thing),
    target: { path: d.configPath, onChange },
    supervisor: d.supervisor,
    onAgentSettings: (settings) => void agentSettings.push({ thing: d.thing, settings }),
    clock: systemAgentClock,
    logger: silent,
    retryDelayMs: 200,
  });
  sync.start();
  closers.push(async () => {
    await sync.close();
    shadow.close();
  });
  return sync;
}

const desired = (version: number, greeting = 'hello') => ({
  version,
  settings: { greeting, 'http.port': 8080, 'cache.enabled': true },
  featureFlags: { newCheckout: version % 2 === 0 },
});

const writeDesired = (thing: string, value: unknown) =>
  updateShadow(data, thing, { state: { desired: value } }, OTA_CONFIG_SHADOW_NAME);

const reportedOf = async (thing: string) => (await getShadow(data, thing, OTA_CONFIG_SHADOW_NAME))?.state.reported;

async function waitForAnswer(thing: string, version: number): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const r = await reportedOf(thing);
    return r?.version === version ? r : undefined;
  }, `the answer to version ${version}`);
}

/** The configuration shadow's update filters the broker holds for `thing`'s session, sorted. */
function configUpdateFilters(thing: string): string[] {
  const aedes = core.core.broker?.aedes as
    { clients: Record<string, { subscriptions?: Record<string, unknown> } | undefined> } | undefined;
  const prefix = shadowTopic({ thingName: thing, shadowName: OTA_CONFIG_SHADOW_NAME, operation: 'update' });
  return Object.keys(aedes?.clients[thing]?.subscriptions ?? {})
    .filter((f) => f.startsWith(`${prefix}/`))
    .sort();
}

describe('ConfigShadowSync', () => {
  it('subscribes to its update answers only once it answers a configuration', async () => {
    const d = await startDevice('config-lazy');
    d.connection.start();
    await d.connection.waitFor('connected');
    const answerTopic = (responseType: 'accepted' | 'rejected' | 'delta'): string =>
      shadowTopic({ thingName: 'config-lazy', shadowName: OTA_CONFIG_SHADOW_NAME, operation: 'update', responseType });
    await eventually(() => (configUpdateFilters('config-lazy').length > 0 ? true : undefined), 'the delta filter');
    expect(configUpdateFilters('config-lazy')).toEqual([answerTopic('delta')]);
    await writeDesired('config-lazy', desired(1));
    expect(await waitForAnswer('config-lazy', 1)).toEqual({ version: 1, status: 'applied', appliedVersion: 1 });
    expect(configUpdateFilters('config-lazy')).toEqual(
      [answerTopic('accepted'), answerTopic('delta'), answerTopic('rejected')].sort(),
    );
  });

  it('applies what was desired while offline on connect: file replaced, SIGHUP, answer reported', async () => {
    await writeDesired('config-1', desired(1));
    const d = await startDevice('config-1');
    expect(await d.lines()).toEqual(['START']);
    d.connection.start();
    expect(await waitForAnswer('config-1', 1)).toEqual({ version: 1, status: 'applied', appliedVersion: 1 });
    expect(JSON.parse(await readFile(d.configPath, 'utf8'))).toEqual(desired(1));
    await eventually(async () => ((await d.lines()).includes('HUP') ? true : undefined), 'SIGHUP');
    expect(await d.lines()).toEqual(['START', 'HUP']);
  });

  it('applies a change on its delta, once: a repeated delta and a restart apply nothing again', async () => {
    const d = await startDevice('config-2');
    d.connection.start();
    await d.connection.waitFor('connected');
    await writeDesired('config-2', desired(1));
    await waitForAnswer('config-2', 1);
    await writeDesired('config-2', desired(2, 'hi'));
    await waitForAnswer('config-2', 2);
    expect(JSON.parse(await readFile(d.configPath, 'utf8'))).toEqual(desired(2, 'hi'));
    await eventually(async () => ((await d.lines()).length === 3 ? true : undefined), 'two SIGHUPs');
    const shadowVersion = (await getShadow(data, 'config-2', OTA_CONFIG_SHADOW_NAME))!.version;
    const mtime = (await stat(d.configPath)).mtimeMs;

    // The same delta again (as a lost PUBACK would redeliver it), then a restart of the sync on the same journal.
    const watcher = await serviceConnection(core, 'config-test-watcher');
    const delta = shadowTopic({
      thingName: 'config-2',
      shadowName: OTA_CONFIG_SHADOW_NAME,
      operation: 'update',
      responseType: 'delta',
    });
    await watcher.publish(
      delta,
      JSON.stringify({ state: desired(2, 'hi'), metadata: {}, version: shadowVersion, timestamp: 1 }),
    );
    await new Promise((r) => setTimeout(r, 500));
    await d.sync.idle();
    await d.sync.close();
    d.sync = startSync(d);
    await new Promise((r) => setTimeout(r, 500));
    await d.sync.idle();
    expect(await d.lines()).toEqual(['START', 'HUP', 'HUP']);
    expect((await stat(d.configPath)).mtimeMs).toBe(mtime);
    expect((await getShadow(data, 'config-2', OTA_CONFIG_SHADOW_NAME))!.version).toBe(shadowVersion);
  });

  it('refuses wrong types and an oversized configuration with the reason, keeping the previous file', async () => {
    const d = await startDevice('config-3');
    d.connection.start();
    await writeDesired('config-3', desired(1));
    await waitForAnswer('config-3', 1);
    const before = await readFile(d.configPath, 'utf8');
    await eventually(async () => ((await d.lines()).length === 2 ? true : undefined), 'one SIGHUP');

    await writeDesired('config-3', {
      version: 2,
      settings: { greeting: { nested: true } },
      featureFlags: { x: 'yes' },
    });
    const wrongTypes = await waitForAnswer('config-3', 2);
    expect(wrongTypes).toMatchObject({ version: 2, status: 'rejected', appliedVersion: 1 });
    expect(wrongTypes.error).toMatch(/^INVALID_FIELDS: invalid config desired state: .*\/settings\/greeting/);

    // desired is replaced whole by the operator: null the old keys, as the fleet service does.
    const big = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`blob${i}`, 'x'.repeat(950)]));
    await writeDesired('config-3', { version: 3, settings: big, featureFlags: null });
    const tooLarge = await waitForAnswer('config-3', 3);
    expect(tooLarge).toMatchObject({ version: 3, status: 'rejected', appliedVersion: 1 });
    expect(tooLarge.error).toMatch(/^PAYLOAD_TOO_LARGE: config desired state is \d+ bytes; the limit is 6144/);

    expect(await readFile(d.configPath, 'utf8')).toBe(before);
    expect(await d.lines()).toEqual(['START', 'HUP']);
  });

  it('ignores a malformed delta, and the next good version clears the earlier error', async () => {
    const d = await startDevice('config-4');
    d.connection.start();
    await writeDesired('config-4', { version: 1, settings: 'not an object', featureFlags: {} });
    expect(await waitForAnswer('config-4', 1)).toMatchObject({ status: 'rejected', appliedVersion: 0 });
    const watcher = await serviceConnection(core, 'config-test-watcher-2');
    const delta = shadowTopic({
      thingName: 'config-4',
      shadowName: OTA_CONFIG_SHADOW_NAME,
      operation: 'update',
      responseType: 'delta',
    });
    await watcher.publish(delta, '{"state": {"version": 2,');
    await new Promise((r) => setTimeout(r, 300));
    await d.sync.idle();
    await expect(stat(d.configPath)).rejects.toMatchObject({ code: 'ENOENT' });

    await writeDesired('config-4', desired(2));
    // The answer replaces the section exactly: the earlier rejection's error is gone.
    expect(await waitForAnswer('config-4', 2)).toEqual({ version: 2, status: 'applied', appliedVersion: 2 });
    expect(JSON.parse(await readFile(d.configPath, 'utf8'))).toEqual(desired(2));
  });

  it('restarts the application instead when the agent configuration says so', async () => {
    const d = await startDevice('config-5', 'restart');
    const pid = d.supervisor.running().pid;
    d.connection.start();
    await writeDesired('config-5', desired(1));
    await waitForAnswer('config-5', 1);
    expect(d.supervisor.running().pid).not.toBe(pid);
    await eventually(async () => ((await d.lines()).length === 2 ? true : undefined), 'a second start');
    expect(await d.lines()).toEqual(['START', 'START']);
  });

  it("hands the configuration's agent part to the agent, only when the whole configuration is applied", async () => {
    const d = await startDevice('config-6');
    d.connection.start();
    await writeDesired('config-6', { ...desired(1), agent: { healthReportIntervalSeconds: 30, logLevel: 'debug' } });
    await waitForAnswer('config-6', 1);
    await writeDesired('config-6', { ...desired(2), agent: { healthReportIntervalSeconds: 5 } }); // below 10: refused
    expect(await waitForAnswer('config-6', 2)).toMatchObject({ status: 'rejected', appliedVersion: 1 });
    expect(agentSettings.filter((a) => a.thing === 'config-6').map((a) => a.settings)).toEqual([
      { healthReportIntervalSeconds: 30, logLevel: 'debug' },
    ]);
  });
});
