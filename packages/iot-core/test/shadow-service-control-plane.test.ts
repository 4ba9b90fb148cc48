import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsServiceError } from '@otafleet/iot-core';
import { shadowTopicPrefix } from '@otafleet/protocol';
import { ShadowHarness, silentLogger } from '../src/testing/shadow-harness.js';

const T0 = 1_760_000_000_000;
let h: ShadowHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const json = (b: Buffer): Record<string, unknown> => JSON.parse(b.toString()) as Record<string, unknown>;

/** Asserts the call fails with the AWS exception name, status and message. */
async function expectAwsError(call: () => unknown, name: string, statusCode: number, message?: string): Promise<void> {
  let caught: unknown;
  try {
    await call();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(AwsServiceError);
  const e = caught as AwsServiceError;
  expect({ name: e.name, statusCode: e.statusCode }).toEqual({ name, statusCode });
  if (message !== undefined) expect(e.message).toBe(message);
}

describe('shadow control plane (HTTP data-plane methods)', () => {
  it('GetThingShadow is 404 ResourceNotFoundException for a missing shadow', async () => {
    h = await ShadowHarness.start();
    await expectAwsError(
      () => h!.service.getThingShadow('nope', undefined),
      'ResourceNotFoundException',
      404,
      "No shadow exists with name: 'nope'",
    );
    await expectAwsError(
      () => h!.service.getThingShadow('nope', 'cfg'),
      'ResourceNotFoundException',
      404,
      "No shadow exists with name: 'nope~cfg'",
    );
    await expectAwsError(() => h!.service.getThingShadow('bad name', undefined), 'InvalidRequestException', 400);
    await expectAwsError(() => h!.service.getThingShadow('t', 'bad/name'), 'InvalidRequestException', 400);
  });

  it('UpdateThingShadow returns the accepted document and publishes accepted, delta and documents over MQTT', async () => {
    h = await ShadowHarness.start({ now: () => T0 });
    const p = shadowTopicPrefix('dev', 'ota');
    const dev = await h.client('dev', [`${p}/update/+`]);
    await dev.client.publishAsync(`${p}/update`, JSON.stringify({ state: { reported: { version: '1.0.0' } } }), {
      qos: 1,
    });
    await dev.next(`${p}/update/accepted`);
    const out = await h.service.updateThingShadow(
      'dev',
      'ota',
      Buffer.from(JSON.stringify({ state: { desired: { version: '1.1.0' } } })),
    );
    expect(json(out)).toEqual({
      state: { desired: { version: '1.1.0' } },
      metadata: { desired: { version: { timestamp: T0 / 1000 } } },
      version: 2,
      timestamp: T0 / 1000,
    });
    expect(await dev.next(`${p}/update/delta`)).toMatchObject({ state: { version: '1.1.0' }, version: 2 });
    expect(await dev.next(`${p}/update/accepted`, (b) => b['version'] === 2)).toEqual(json(out));
    expect(
      await dev.next(`${p}/update/documents`, (b) => (b['current'] as { version: number }).version === 2),
    ).toMatchObject({
      previous: { version: 1 },
    });
    expect(json(h.service.getThingShadow('dev', 'ota'))).toEqual({
      state: { desired: { version: '1.1.0' }, reported: { version: '1.0.0' }, delta: { version: '1.1.0' } },
      metadata: { desired: { version: { timestamp: T0 / 1000 } }, reported: { version: { timestamp: T0 / 1000 } } },
      version: 2,
      timestamp: T0 / 1000,
    });
  });

  it('UpdateThingShadow rejections are AWS exceptions and publish nothing over MQTT', async () => {
    h = await ShadowHarness.start();
    const p = shadowTopicPrefix('dev2');
    const dev = await h.client('dev2', [`${p}/update/+`]);
    await h.service.updateThingShadow('dev2', undefined, Buffer.from('{"state":{"reported":{"a":1}}}'));
    const u = (s: string | Buffer) => () =>
      h!.service.updateThingShadow('dev2', undefined, Buffer.isBuffer(s) ? s : Buffer.from(s));
    await expectAwsError(u('{"state":{},"version":7}'), 'ConflictException', 409, 'Version conflict');
    await expectAwsError(u('nope'), 'InvalidRequestException', 400, 'Invalid JSON');
    await expectAwsError(
      u('{"state":{"desired":5}}'),
      'InvalidRequestException',
      400,
      'Desired node must be an object',
    );
    await expectAwsError(
      u(`{"state":{"reported":{"x":"${'y'.repeat(9000)}"}}}`),
      'RequestEntityTooLargeException',
      413,
    );
    await expectAwsError(u(Buffer.from([0xff, 0xfe])), 'UnsupportedDocumentEncodingException', 415);
    await new Promise((r) => setTimeout(r, 100));
    expect(dev.on(`${p}/update/rejected`)).toHaveLength(0);
    expect(dev.on(`${p}/update/accepted`)).toHaveLength(1);
    expect(json(h.service.getThingShadow('dev2', undefined))['version']).toBe(1);
  });

  it('DeleteThingShadow returns {version, timestamp}, publishes /delete/accepted and is 404 the second time', async () => {
    h = await ShadowHarness.start({ now: () => T0 });
    const p = shadowTopicPrefix('dev3');
    const dev = await h.client('dev3', [`${p}/delete/+`]);
    await h.service.updateThingShadow('dev3', undefined, Buffer.from('{"state":{"reported":{"a":1}}}'));
    const out = await h.service.deleteThingShadow('dev3', undefined);
    expect(json(out)).toEqual({ version: 1, timestamp: T0 / 1000 });
    expect(await dev.next(`${p}/delete/accepted`)).toEqual({ version: 1, timestamp: T0 / 1000 });
    await expectAwsError(() => h!.service.deleteThingShadow('dev3', undefined), 'ResourceNotFoundException', 404);
    await expectAwsError(() => h!.service.getThingShadow('dev3', undefined), 'ResourceNotFoundException', 404);
  });

  it('ListNamedShadowsForThing pages by nextToken, omits the classic shadow and deleted shadows', async () => {
    h = await ShadowHarness.start({ now: () => T0 });
    const s = h.service;
    const body = Buffer.from('{"state":{"reported":{"on":true}}}');
    await s.updateThingShadow('lst', undefined, body);
    for (const name of ['e', 'a', 'd', 'b', 'c']) await s.updateThingShadow('lst', name, body);
    await s.updateThingShadow('other', 'zzz', body);
    await s.deleteThingShadow('lst', 'd');

    const p1 = s.listNamedShadowsForThing('lst', { pageSize: 2 });
    expect(p1.results).toEqual(['a', 'b']);
    expect(p1.timestamp).toBe(T0 / 1000);
    expect(p1.nextToken).toEqual(expect.any(String));
    const p2 = s.listNamedShadowsForThing('lst', { pageSize: 2, nextToken: p1.nextToken! });
    expect(p2.results).toEqual(['c', 'e']);
    expect(p2.nextToken).toBeUndefined();
    expect(s.listNamedShadowsForThing('lst', {})).toEqual({ results: ['a', 'b', 'c', 'e'], timestamp: T0 / 1000 });
    expect(s.listNamedShadowsForThing('unknown', {})).toEqual({ results: [], timestamp: T0 / 1000 });

    await expectAwsError(() => s.listNamedShadowsForThing('lst', { pageSize: 0 }), 'InvalidRequestException', 400);
    await expectAwsError(() => s.listNamedShadowsForThing('lst', { pageSize: 101 }), 'InvalidRequestException', 400);
    await expectAwsError(
      () => s.listNamedShadowsForThing('lst', { nextToken: 'garbage!' }),
      'InvalidRequestException',
      400,
      'Invalid nextToken: it is not a token this service handed out',
    );
  });

  it('a corrupt stored row is a 500 on HTTP and on MQTT, not a crash', async () => {
    h = await ShadowHarness.start();
    const p = shadowTopicPrefix('corrupt');
    const dev = await h.client('corrupt', [`${p}/get/+`]);
    // Written behind the service's back before it ever read this shadow (it caches what it has read).
    const other = new Database(h.dbPath);
    other
      .prepare(
        `INSERT INTO shadow_documents (thing_name, shadow_name, version, deleted, state, metadata, updated_at)
         VALUES ('corrupt', '', 1, 0, '{not json', '{}', 0)`,
      )
      .run();
    other.close();
    await expectAwsError(
      () => h!.service.getThingShadow('corrupt', undefined),
      'InternalFailureException',
      500,
      'Internal service failure',
    );
    await expectAwsError(
      () => h!.service.updateThingShadow('corrupt', undefined, Buffer.from('{"state":{}}')),
      'InternalFailureException',
      500,
    );
    const rejected = dev.next(`${p}/get/rejected`);
    await dev.client.publishAsync(`${p}/get`, '', { qos: 1 });
    expect(await rejected).toMatchObject({ code: 500, message: 'Internal service failure' });
  });

  it('invalid limits fail at start with the option named', async () => {
    h = await ShadowHarness.start();
    const { createShadowService, ShadowServiceOptionsError } = await import('../src/shadow/index.js');
    const start = (limits: Record<string, unknown>) =>
      createShadowService({ db: h!.db, bus: h!.bus, logger: silentLogger, limits: limits });
    await expect(start({ maxDepth: 0 })).rejects.toBeInstanceOf(ShadowServiceOptionsError);
    await expect(start({ maxDepth: 0 })).rejects.toThrow(/maxDepth/);
    await expect(start({ maxStateBytes: 'big' })).rejects.toThrow(/maxStateBytes/);
    await expect(start({ maxSize: 1 })).rejects.toThrow(/Invalid shadow limits/);
  });

  it('after close, requests are refused and MQTT requests are ignored', async () => {
    h = await ShadowHarness.start();
    const p = shadowTopicPrefix('closing');
    const dev = await h.client('closing', [`${p}/+/+`]);
    await h.service.close();
    await expectAwsError(
      () => h!.service.updateThingShadow('closing', undefined, Buffer.from('{"state":{}}')),
      'ServiceUnavailableException',
      503,
    );
    await dev.client.publishAsync(`${p}/update`, '{"state":{}}', { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(dev.messages).toHaveLength(0);
  });
});
