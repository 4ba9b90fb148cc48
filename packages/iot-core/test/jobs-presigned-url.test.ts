import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUNDLE_URL_EXPIRES_PARAM, verifyBundleUrl } from '@otafleet/protocol';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import {
  createAedesBus,
  createJobsService,
  openDatabase,
  startEmbeddedBroker,
  type EmbeddedBroker,
  type JobsService,
} from '../src/index.js';
import { ARN, Inbox, request, TestClock, thingTarget } from '../src/testing/jobs-env.js';
import { JobsTestRegistry } from '../src/testing/jobs-test-registry.js';
import { connectClient } from '../src/testing/mqtt.js';

/** Protocol's check (signature rules are tested in protocol), as a verdict these tests can compare. */
const verify = (url: string, key: Uint8Array, nowMs: number) => {
  const u = new URL(url, 'http://bundle-store.invalid');
  const r = verifyBundleUrl(u.pathname, u.searchParams, key, nowMs);
  return r.ok
    ? { ok: true as const, path: u.pathname }
    : { ok: false as const, reason: r.code === 'URL_EXPIRED' ? 'expired' : r.code };
};

const KEY = randomBytes(32);
const NOW = Date.UTC(2026, 0, 1);

describe('presigned-URL placeholders in job documents, on the test clock', () => {
  // The Jobs service with a known key, on a real broker and SQLite file, its clock moved by hand.
  let env: {
    clock: TestClock;
    jobs: JobsService;
    device(thingName: string): Promise<MqttClient>;
    close(): Promise<void>;
  };
  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobs-presign-'));
    const logger = pino({ level: 'silent' });
    const broker: EmbeddedBroker = await startEmbeddedBroker({ logger });
    const bus = createAedesBus(broker.aedes, logger);
    const db = openDatabase(join(dir, 'core.db'));
    const registry = new JobsTestRegistry(db, ARN);
    registry.createThing('dev1');
    const clock = new TestClock(NOW);
    const jobs = await createJobsService({
      db,
      bus,
      registry,
      arn: ARN,
      logger,
      now: clock.now,
      tickIntervalMs: 20,
      presignedUrlKey: KEY,
    });
    const clients: MqttClient[] = [];
    env = {
      clock,
      jobs,
      async device(thingName) {
        const c = await connectClient(broker.port, thingName);
        clients.push(c);
        return c;
      },
      async close() {
        await Promise.all(clients.map((c) => c.endAsync(true)));
        await jobs.close();
        await bus.close();
        await broker.close();
        db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
  afterEach(async () => {
    await env.close();
  });

  const document = JSON.stringify({
    operation: 'ota',
    files: [{ url: '${aws:iot:s3-presigned-url:https://bundles.example/fw/app-2.0.0.bundle}', size: 10 }],
    note: 'not a ${placeholder}',
  });
  const urlIn = (doc: unknown): string => ((doc as { files: { url: string }[] }).files[0] ?? { url: '' }).url;

  it('replaces the placeholder in every document a device reads; a re-read after expiry gets a fresh URL', async () => {
    const client = await env.device('dev1');
    const inbox = new Inbox(client);
    await client.subscribeAsync('$aws/things/dev1/jobs/#', { qos: 1 });
    await env.jobs.createJob({
      jobId: 'ota',
      targets: [thingTarget('dev1')],
      document,
      presignedUrlConfig: { expiresInSec: 60 },
    });

    const notified = await inbox.wait('$aws/things/dev1/jobs/notify-next');
    const first = urlIn((notified as { execution: { jobDocument: unknown } }).execution.jobDocument);
    expect(first.startsWith('https://bundles.example/fw/app-2.0.0.bundle?')).toBe(true);
    expect(verify(first, KEY, env.clock.ms)).toMatchObject({ ok: true, path: '/fw/app-2.0.0.bundle' });

    const described = await request(client, inbox, '$aws/things/dev1/jobs/ota/get', { includeJobDocument: true });
    const doc = (described.body as { execution: { jobDocument: Record<string, unknown> } }).execution.jobDocument;
    expect(doc.note).toBe('not a ${placeholder}');
    expect(verify(urlIn(doc), KEY, env.clock.ms).ok).toBe(true);
    expect(urlIn(doc)).toBe(first); // signed once per second: reads within it share the URL

    // 60 s later the first URL has expired; reading the document again signs a new one.
    env.clock.advance(60_000);
    expect(verify(first, KEY, env.clock.ms)).toEqual({ ok: false, reason: 'expired' });
    const started = await request(client, inbox, '$aws/things/dev1/jobs/start-next', {});
    const fresh = urlIn((started.body as { execution: { jobDocument: unknown } }).execution.jobDocument);
    expect(fresh).not.toBe(first);
    expect(verify(fresh, KEY, env.clock.ms).ok).toBe(true);
    expect(verify(fresh, KEY, env.clock.ms + 60_000)).toEqual({ ok: false, reason: 'expired' });

    const updated = await request(client, inbox, '$aws/things/dev1/jobs/ota/update', {
      status: 'IN_PROGRESS',
      includeJobDocument: true,
    });
    expect(verify(urlIn((updated.body as { jobDocument: unknown }).jobDocument), KEY, env.clock.ms).ok).toBe(true);
  });

  it('uses AWS default of 3600 s without presignedUrlConfig, and leaves documents without placeholders alone', async () => {
    const client = await env.device('dev1');
    const inbox = new Inbox(client);
    await client.subscribeAsync('$aws/things/dev1/jobs/#', { qos: 1 });
    await env.jobs.createJob({ jobId: 'ota', targets: [thingTarget('dev1')], document });
    await env.jobs.createJob({ jobId: 'plain', targets: [thingTarget('dev1')], document: '{"url":"https://x/y"}' });
    const r = await request(client, inbox, '$aws/things/dev1/jobs/ota/get', {});
    const url = urlIn((r.body as { execution: { jobDocument: unknown } }).execution.jobDocument);
    expect(new URL(url).searchParams.get(BUNDLE_URL_EXPIRES_PARAM)).toBe(String(env.clock.ms / 1000 + 3600));
    const plain = await request(client, inbox, '$aws/things/dev1/jobs/plain/get', {});
    expect((plain.body as { execution: { jobDocument: unknown } }).execution.jobDocument).toEqual({
      url: 'https://x/y',
    });
  });
});
