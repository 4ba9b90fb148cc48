/**
 * The job status reporter against the local IoT core's Jobs service (mTLS, the device's own identity): a queued
 * update whose earlier send was applied but whose answer was lost is recognised as applied (not applied twice), and
 * an update that finds the execution canceled is dropped and the cancel passed on.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelJobCommand } from '@aws-sdk/client-iot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMqttConnection, mqttJsTransport, systemClock, type MqttConnection } from '@otafleet/mqtt-client';
import { JobReporter, JobsClient, openSqliteJournal, type JournalDatabase } from '@otafleet/agent';
import { startE2eCore, type E2eCore } from './e2e-core.js';
import { silent } from './e2e-device.js';

let core: E2eCore;
let dir: string;
let db: JournalDatabase;
const closers: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  core = await startE2eCore();
  dir = mkdtempSync(join(tmpdir(), 'reporter-test-'));
  db = openSqliteJournal(join(dir, 'journal.db'));
}, 60_000);
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  db?.close();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function deviceParts(thing: string) {
  const cred = await core.addDevice(thing);
  const connection: MqttConnection = createMqttConnection({
    transport: mqttJsTransport({
      url: `mqtts://127.0.0.1:${core.mqttPort}`,
      tls: {
        ca: readFileSync(cred.caPath, 'utf8'),
        cert: readFileSync(cred.certPath, 'utf8'),
        key: readFileSync(cred.keyPath, 'utf8'),
      },
    }),
    clientId: thing,
    clock: systemClock,
    logger: silent,
  });
  connection.start();
  closers.push(() => connection.close());
  const jobs = new JobsClient({ connection, thingName: thing, clock: systemClock, logger: silent });
  await jobs.start();
  const journal = db.forThing(thing);
  const reporter = new JobReporter({
    journal,
    jobs,
    connection,
    clock: systemClock,
    logger: silent,
    retryDelayMs: 100,
  });
  reporter.start();
  closers.push(() => reporter.close());
  return { jobs, reporter };
}

describe('JobReporter', () => {
  it('recognises an update that was applied but whose answer was lost, and applies nothing twice', async () => {
    const { jobs, reporter } = await deviceParts('rep-lost');
    await core.createJob('rep-lost', 'rep-lost', { operation: 'test' });
    const started = await jobs.startNext();
    expect(started.kind).toBe('accepted');
    const execution = started.kind === 'accepted' ? started.response : undefined;
    if (execution === undefined) throw new Error('no execution');
    await reporter.rememberVersion('rep-lost', execution.executionNumber, execution.versionNumber);
    // The "earlier send": applied by the service, its answer never reached the reporter.
    const update = { status: 'SUCCEEDED', statusDetails: { phase: 'succeeded' } } as const;
    const direct = await jobs.update('rep-lost', { ...update, expectedVersion: execution.versionNumber });
    expect(direct.kind).toBe('accepted');
    const before = await core.describeExecution('rep-lost', 'rep-lost');
    const id = await reporter.report({ jobId: 'rep-lost', executionNumber: execution.executionNumber, ...update });
    expect(await reporter.delivered(id)).toEqual({ kind: 'applied', via: 'already-held' });
    const after = await core.describeExecution('rep-lost', 'rep-lost');
    expect(after.status).toBe('SUCCEEDED');
    expect(after.versionNumber).toBe(before.versionNumber);
  });

  it('drops an update that finds the execution canceled, and tells who listens', async () => {
    const { jobs, reporter } = await deviceParts('rep-cancel');
    await core.createJob('rep-cancel', 'rep-cancel', { operation: 'test' });
    const started = await jobs.startNext();
    const execution = started.kind === 'accepted' ? started.response : undefined;
    if (execution === undefined) throw new Error('no execution');
    await reporter.rememberVersion('rep-cancel', execution.executionNumber, execution.versionNumber);
    await core.iot.send(new CancelJobCommand({ jobId: 'rep-cancel', force: true }));
    const told: string[] = [];
    reporter.onTerminal((jobId, status) => told.push(`${jobId}:${status ?? '?'}`));
    const id = await reporter.report({
      jobId: 'rep-cancel',
      executionNumber: execution.executionNumber,
      status: 'IN_PROGRESS',
      statusDetails: { phase: 'downloading' },
    });
    expect(await reporter.delivered(id)).toEqual({ kind: 'terminal', status: 'CANCELED' });
    expect(told).toEqual(['rep-cancel:CANCELED']);
    expect(await reporter.isQueued(id)).toBe(false);
  });
});
