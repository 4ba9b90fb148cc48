import type { Socket } from 'node:net';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { shadowTopicPrefix, shadowValidators } from '@otafleet/protocol';
import { ShadowHarness, type Inbox } from '../src/testing/shadow-harness.js';

const T0 = 1_750_000_000_000;
let h: ShadowHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const prefix = shadowTopicPrefix;
const publish = async (inbox: Inbox, topic: string, body: unknown): Promise<void> => {
  await inbox.client.publishAsync(
    topic,
    typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    { qos: 1 },
  );
};

/** Sends a request with a clientToken and returns the accepted/rejected answer for it. */
async function request(inbox: Inbox, topic: string, body: Record<string, unknown>, token: string) {
  const answer = inbox.answer(topic, token);
  await publish(inbox, topic, { ...body, clientToken: token });
  return await answer;
}

describe('shadow service over MQTT', () => {
  it('update publishes accepted, delta and documents after commit; get returns the document', async () => {
    h = await ShadowHarness.start({ now: () => T0 });
    const p = prefix('dev1');
    const dev = await h.client('dev1', [`${p}/update/+`, `${p}/get/+`]);
    const r1 = await request(dev, `${p}/update`, { state: { reported: { fw: '1.0', temp: 20 } } }, 't1');
    expect(r1).toEqual({
      topic: `${p}/update/accepted`,
      body: {
        state: { reported: { fw: '1.0', temp: 20 } },
        metadata: { reported: { fw: { timestamp: T0 / 1000 }, temp: { timestamp: T0 / 1000 } } },
        version: 1,
        timestamp: T0 / 1000,
        clientToken: 't1',
      },
    });
    // Durable before acknowledged: another connection to the file already sees it.
    const reader = new Database(h.dbPath, { readonly: true });
    const row = reader.prepare('SELECT version FROM shadow_documents WHERE thing_name = ?').get('dev1') as {
      version: number;
    };
    reader.close();
    expect(row.version).toBe(1);

    const docs1 = await dev.next(`${p}/update/documents`, (b) => b['clientToken'] === 't1');
    expect(docs1['previous']).toBeUndefined();
    expect(shadowValidators.documents.check(docs1)).toBe(true);

    const r2 = await request(dev, `${p}/update`, { state: { desired: { fw: '2.0' } }, version: 1 }, 't2');
    expect(r2.body['version']).toBe(2);
    const delta = await dev.next(`${p}/update/delta`, (b) => b['clientToken'] === 't2');
    expect(delta).toEqual({
      state: { fw: '2.0' },
      metadata: { fw: { timestamp: T0 / 1000 } },
      version: 2,
      timestamp: T0 / 1000,
      clientToken: 't2',
    });
    const docs2 = await dev.next(`${p}/update/documents`, (b) => b['clientToken'] === 't2');
    expect(docs2).toMatchObject({
      previous: { state: { reported: { fw: '1.0', temp: 20 } }, version: 1 },
      current: { state: { desired: { fw: '2.0' }, reported: { fw: '1.0', temp: 20 } }, version: 2 },
    });

    const got = await request(dev, `${p}/get`, {}, 'g1');
    expect(got.topic).toBe(`${p}/get/accepted`);
    expect(got.body).toMatchObject({
      state: { desired: { fw: '2.0' }, reported: { fw: '1.0', temp: 20 }, delta: { fw: '2.0' } },
      version: 2,
      clientToken: 'g1',
    });
    expect(shadowValidators.getAccepted.check(got.body)).toBe(true);
  });

  it('responses go to every subscriber, and an empty /get payload is answered', async () => {
    h = await ShadowHarness.start();
    const p = prefix('dev2');
    const dev = await h.client('dev2', [`${p}/get/accepted`, `${p}/update/accepted`]);
    const app = await h.client('app', [`${p}/update/accepted`, `${p}/update/delta`]);
    await request(dev, `${p}/update`, { state: { desired: { mode: 'eco' } } }, 'u');
    expect((await app.next(`${p}/update/accepted`))['version']).toBe(1);
    expect((await app.next(`${p}/update/delta`))['state']).toEqual({ mode: 'eco' });
    const got = dev.next(`${p}/get/accepted`);
    await publish(dev, `${p}/get`, '');
    expect((await got)['state']).toEqual({ desired: { mode: 'eco' }, delta: { mode: 'eco' } });
  });

  it('named shadows are separate from the classic shadow and from each other', async () => {
    h = await ShadowHarness.start();
    const classic = prefix('dev3');
    const named = prefix('dev3', 'ota');
    const dev = await h.client('dev3', [`${classic}/+/+`, `${prefix('dev3')}/name/+/+/+`]);
    await request(dev, `${named}/update`, { state: { reported: { slot: 'A' } } }, 'n1');
    const c = await request(dev, `${classic}/get`, {}, 'c1');
    expect(c).toEqual({
      topic: `${classic}/get/rejected`,
      body: {
        code: 404,
        message: "No shadow exists with name: 'dev3'",
        timestamp: expect.any(Number),
        clientToken: 'c1',
      },
    });
    const n = await request(dev, `${named}/get`, {}, 'n2');
    expect(n.body).toMatchObject({ state: { reported: { slot: 'A' } }, version: 1 });
    const other = await request(dev, `${prefix('dev3', 'cfg')}/get`, {}, 'n3');
    expect(other.body).toMatchObject({ code: 404, message: "No shadow exists with name: 'dev3~cfg'" });
  });

  it('delete answers with the version; the shadow is gone; re-creation continues the version', async () => {
    h = await ShadowHarness.start({ now: () => T0 });
    const p = prefix('dev4');
    const dev = await h.client('dev4', [`${p}/+/+`]);
    await request(dev, `${p}/update`, { state: { reported: { a: 1 } } }, 'u1');
    await request(dev, `${p}/update`, { state: { reported: { a: 2 } } }, 'u2');
    const del = await request(dev, `${p}/delete`, {}, 'd1');
    expect(del).toEqual({
      topic: `${p}/delete/accepted`,
      body: { version: 2, timestamp: T0 / 1000, clientToken: 'd1' },
    });
    expect((await request(dev, `${p}/get`, {}, 'g')).topic).toBe(`${p}/get/rejected`);
    const again = await request(dev, `${p}/delete`, {}, 'd2');
    expect(again.body).toMatchObject({ code: 404, message: "No shadow exists with name: 'dev4'" });
    const re = await request(dev, `${p}/update`, { state: { reported: { b: 1 } } }, 'u3');
    expect(re.body['version']).toBe(3);
    const got = await request(dev, `${p}/get`, {}, 'g2');
    expect(got.body['state']).toEqual({ reported: { b: 1 } });
  });

  it('a deleted shadow keeps its version 48 h across restarts; after that it starts from 0 and its row is purged', async () => {
    const H = 3600 * 1000;
    let clock = T0;
    h = await ShadowHarness.start({ now: () => clock });
    const tombstones = (): unknown[] => {
      const reader = new Database(h!.dbPath, { readonly: true });
      const rows = reader.prepare('SELECT thing_name, version FROM shadow_documents WHERE deleted = 1').all();
      reader.close();
      return rows;
    };
    const dev = await h.client('gone', [`${prefix('gone')}/+/+`, `${prefix('kept')}/+/+`]);
    for (const thing of ['gone', 'kept']) {
      await request(dev, `${prefix(thing)}/update`, { state: { reported: { a: 1 } } }, `${thing}-1`);
      await request(dev, `${prefix(thing)}/update`, { state: { reported: { a: 2 } } }, `${thing}-2`);
    }
    await request(dev, `${prefix('gone')}/delete`, {}, 'del-gone');
    clock = T0 + 47 * H;
    await request(dev, `${prefix('kept')}/delete`, {}, 'del-kept');
    expect(tombstones()).toHaveLength(2);

    // 47 h after the first delete: both remembered, also after a restart.
    await h.stopService();
    await h.startService({ now: () => clock });
    expect(tombstones()).toHaveLength(2);

    // 49 h: the first tombstone is purged at start; its shadow starts again at version 1, the other continues.
    clock = T0 + 49 * H;
    await h.stopService();
    await h.startService({ now: () => clock });
    expect(tombstones()).toEqual([{ thing_name: 'kept', version: 2 }]);
    const fresh = await request(dev, `${prefix('gone')}/update`, { state: { reported: { b: 1 } } }, 'again-gone');
    expect(fresh.body['version']).toBe(1);
    const continued = await request(dev, `${prefix('kept')}/update`, { state: { reported: { b: 1 } } }, 'again-kept');
    expect(continued.body['version']).toBe(3);
  });

  it('more than 10 requests in flight on one connection are answered 429 and change nothing', async () => {
    h = await ShadowHarness.start();
    const p = prefix('flood');
    const dev = await h.client('flood', [`${p}/update/+`]);
    // All 15 leave in one write, so the service sees them before it can answer any.
    const socket = dev.client.stream as Socket;
    socket.cork();
    const sent = Array.from({ length: 15 }, (_, i) =>
      publish(dev, `${p}/update`, { state: { reported: { n: i } }, clientToken: `f${i}` }),
    );
    socket.uncork();
    await Promise.all(sent);
    const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => dev.answer(`${p}/update`, `f${i}`)));
    const accepted = answers.filter((a) => a.topic.endsWith('/accepted'));
    const rejected = answers.filter((a) => a.topic.endsWith('/rejected'));
    expect(accepted).toHaveLength(10);
    expect(rejected).toHaveLength(5);
    for (const [i, r] of rejected.entries()) {
      expect(r.body).toEqual({
        code: 429,
        message: 'Too Many Requests',
        timestamp: expect.any(Number),
        clientToken: `f${10 + i}`,
      });
    }
    // Nothing of the rejected ones was applied, and once answered the connection may send again.
    const next = await request(dev, `${p}/update`, { state: { reported: { after: true } } }, 'after');
    expect(next.body).toMatchObject({ version: 11 });
    const other = await h.client('flood-2', [`${p}/get/+`]);
    const got = await request(other, `${p}/get`, {}, 'g');
    expect(got.body).toMatchObject({ version: 11, state: { reported: { n: 9, after: true } } });
  });

  it('version conflicts are 409 and leave the shadow unchanged', async () => {
    h = await ShadowHarness.start();
    const p = prefix('dev5');
    const dev = await h.client('dev5', [`${p}/+/+`]);
    await request(dev, `${p}/update`, { state: { desired: { x: 1 } } }, 'a');
    const stale = await request(dev, `${p}/update`, { state: { desired: { x: 2 } }, version: 0 }, 'b');
    expect(stale).toEqual({
      topic: `${p}/update/rejected`,
      body: { code: 409, message: 'Version conflict', timestamp: expect.any(Number), clientToken: 'b' },
    });
    const got = await request(dev, `${p}/get`, {}, 'c');
    expect(got.body).toMatchObject({ state: { desired: { x: 1 } }, version: 1 });
  });

  const nested = (levels: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < levels; i++) v = { n: v };
    return v;
  };

  it.each<[string, string | Buffer, number, string]>([
    ['malformed JSON', '{"state":', 400, 'Invalid JSON'],
    ['missing state', '{"version":1}', 400, 'Missing required node: state'],
    ['state not an object', '{"state":true}', 400, 'State node must be an object'],
    ['desired not an object', '{"state":{"desired":"x"}}', 400, 'Desired node must be an object'],
    ['reported not an object', '{"state":{"reported":[1]}}', 400, 'Reported node must be an object'],
    ['invalid version', '{"state":{},"version":"x"}', 400, 'Invalid version'],
    ['clientToken over 64 bytes', `{"state":{},"clientToken":"${'x'.repeat(65)}"}`, 400, 'Invalid clientToken'],
    [
      'too deep',
      JSON.stringify({ state: { desired: nested(7) } }),
      400,
      'JSON contains too many levels of nesting; maximum is 6',
    ],
    ['null in array', '{"state":{"desired":{"a":[null]}}}', 400, 'State contains an invalid node'],
    [
      'state over 8 KB',
      JSON.stringify({ state: { reported: { big: 'x'.repeat(8200) } } }),
      413,
      'The payload exceeds the maximum size allowed',
    ],
    [
      'payload over the maximum',
      JSON.stringify({ state: { reported: { big: 'x'.repeat(140_000) } } }),
      413,
      'The payload exceeds the maximum size allowed',
    ],
    [
      'non-UTF-8 bytes',
      Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]),
      415,
      'Unsupported documented encoding; supported encoding is UTF-8',
    ],
  ])(
    'update with %s is rejected with its AWS code and message; nothing changes',
    async (_name, payload, code, message) => {
      h ??= await ShadowHarness.start();
      const p = prefix('bad1');
      const dev = await h.client(`bad-${code}-${Math.random()}`, [`${p}/+/+`]);
      await request(dev, `${p}/update`, { state: { reported: { ok: true } } }, 'seed');
      const rejected = dev.next(`${p}/update/rejected`);
      await publish(dev, `${p}/update`, payload);
      const body = await rejected;
      expect(body['code']).toBe(code);
      expect(body['message']).toBe(message);
      expect(typeof body['timestamp']).toBe('number');
      expect(shadowValidators.errorResponse.check(body)).toBe(true);
      const got = await request(dev, `${p}/get`, {}, 'check');
      expect(got.body).toMatchObject({ state: { reported: { ok: true } }, version: 1 });
      expect(dev.on(`${p}/update/accepted`)).toHaveLength(1);
    },
  );

  it('get and delete with a bad body are rejected 400 with AWS messages', async () => {
    h = await ShadowHarness.start();
    const p = prefix('bad2');
    const dev = await h.client('bad2', [`${p}/+/+`]);
    const g = dev.next(`${p}/get/rejected`);
    await publish(dev, `${p}/get`, 'not json');
    expect(await g).toMatchObject({ code: 400, message: 'Invalid JSON' });
    const d = dev.next(`${p}/delete/rejected`);
    await publish(dev, `${p}/delete`, { clientToken: 7 });
    expect(await d).toMatchObject({ code: 400, message: 'Invalid clientToken' });
  });

  it('many updates in flight from several clients are serialised: no lost update, versions 1..N (10 per connection, the most AWS allows)', async () => {
    h = await ShadowHarness.start();
    const p = prefix('busy');
    const clients = await Promise.all(
      [0, 1, 2, 3].map((i) => h!.client(`busy-${i}`, [`${p}/update/accepted`, `${p}/get/+`])),
    );
    const perClient = 10;
    await Promise.all(
      clients.map((c, i) =>
        Promise.all(
          Array.from({ length: perClient }, (_, j) =>
            publish(c, `${p}/update`, { state: { reported: { [`c${i}`]: j } }, clientToken: `c${i}-${j}` }),
          ),
        ),
      ),
    );
    const n = clients.length * perClient;
    await clients[0]!.next(`${p}/update/accepted`, (b) => b['version'] === n);
    const versions = clients[0]!.on(`${p}/update/accepted`).map((m) => m.body['version'] as number);
    expect(new Set(versions).size).toBe(n);
    const got = await request(clients[0]!, `${prefix('busy')}/get`, {}, 'final');
    expect(got.body).toMatchObject({ version: n, state: { reported: { c0: 9, c1: 9, c2: 9, c3: 9 } } });
    // Updates of one shadow in one batch are written as one row: what is on disk is the last of them.
    const reader = new Database(h.dbPath, { readonly: true });
    const row = reader.prepare('SELECT version, state FROM shadow_documents WHERE thing_name = ?').get('busy') as {
      version: number;
      state: string;
    };
    reader.close();
    expect(row.version).toBe(n);
    expect(JSON.parse(row.state)).toEqual({ reported: { c0: 9, c1: 9, c2: 9, c3: 9 } });
  });

  it('a commit that fails answers 500 Internal service failure and publishes no accepted', async () => {
    h = await ShadowHarness.start();
    const p = prefix('locked');
    const dev = await h.client('locked', [`${p}/+/+`]);
    await request(dev, `${p}/update`, { state: { reported: { v: 1 } } }, 'before');
    h.db.pragma('busy_timeout = 20');
    const locker = new Database(h.dbPath);
    locker.exec('BEGIN EXCLUSIVE');
    try {
      const r = await request(dev, `${p}/update`, { state: { reported: { v: 2 } } }, 'during');
      expect(r).toEqual({
        topic: `${p}/update/rejected`,
        body: { code: 500, message: 'Internal service failure', timestamp: expect.any(Number), clientToken: 'during' },
      });
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    const got = await request(dev, `${p}/get`, {}, 'after');
    expect(got.body).toMatchObject({ state: { reported: { v: 1 } }, version: 1 });
  });

  it('shadows survive a service restart on the same SQLite file', async () => {
    h = await ShadowHarness.start();
    const p = prefix('persist', 'cfg');
    const dev = await h.client('persist', [`${prefix('persist')}/name/+/+/+`]);
    await request(dev, `${p}/update`, { state: { desired: { interval: 30 }, reported: { interval: 60 } } }, 'a');
    await request(dev, `${p}/update`, { state: { reported: { interval: 30 } } }, 'b');
    await request(dev, `${prefix('persist', 'gone')}/update`, { state: { reported: { x: 1 } } }, 'c');
    await request(dev, `${prefix('persist', 'gone')}/delete`, {}, 'd');
    await h.stopService();
    await h.startService();
    const got = await request(dev, `${p}/get`, {}, 'e');
    expect(got.body).toMatchObject({
      state: { desired: { interval: 30 }, reported: { interval: 30 } },
      version: 2,
    });
    expect((got.body['state'] as Record<string, unknown>)['delta']).toBeUndefined();
    const re = await request(dev, `${prefix('persist', 'gone')}/update`, { state: {} }, 'f');
    expect(re.body['version']).toBe(2);
  });
});
