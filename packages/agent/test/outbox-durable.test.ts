/**
 * The durable outbox against a real broker over a real socket (the embedded aedes broker behind a TCP proxy that
 * plays "broker down"), with a real SQLite journal file: messages written while the broker is unreachable, and
 * across a restart of the publisher, arrive once each, in order, and leave the journal only after their PUBACK.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMqttConnection, mqttJsTransport, systemClock, type MqttConnection } from '@otafleet/mqtt-client';
import { startEmbeddedBroker, type EmbeddedBroker } from '@otafleet/iot-core';
import { DurableOutbox, openSqliteJournal } from '@otafleet/agent';
import { silent } from './e2e-device.js';
import { eventually } from './e2e-helpers.js';
import { startTcpProxy, type TcpProxy } from './e2e-net.js';

let dir: string;
let broker: EmbeddedBroker;
let proxy: TcpProxy;
const closers: (() => Promise<void>)[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outbox-test-'));
  broker = await startEmbeddedBroker({ logger: silent, requireClientIdIsThingName: false });
  proxy = await startTcpProxy(broker.port);
});
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await proxy.close();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

function connect(clientId: string, port: number): MqttConnection {
  const c = createMqttConnection({
    transport: mqttJsTransport({ url: `mqtt://127.0.0.1:${port}` }),
    clientId,
    clock: systemClock,
    logger: silent,
    backoff: { baseMs: 50, capMs: 200 },
  });
  c.start();
  closers.push(() => c.close());
  return c;
}

describe('DurableOutbox', () => {
  it('delivers what was written while the broker was down, and across a restart, once each and in order', async () => {
    const received: string[] = [];
    const watcher = connect('watcher', broker.port);
    await watcher.subscribe('dt/pi-1/health', (m) => void received.push(m.payload.toString()));

    const path = join(dir, 'journal.db');
    let db = openSqliteJournal(path);
    let conn = connect('pi-1', proxy.port);
    await conn.waitFor('connected');
    let outbox = new DurableOutbox({
      journal: db.forThing('pi-1'),
      connection: conn,
      clock: systemClock,
      logger: silent,
      retryDelayMs: 50,
    });
    outbox.start();
    await outbox.publish('dt/pi-1/health', 'm1');
    await eventually(() => (received.length === 1 ? true : undefined), 'm1');

    proxy.down();
    await conn.waitFor('backoff');
    // Acknowledged as soon as they are on disk, although nothing can be sent.
    for (const m of ['m2', 'm3', 'm4']) await outbox.publish('dt/pi-1/health', m);
    expect((await db.forThing('pi-1').pendingMessages(10)).map((r) => r.payload)).toEqual(['m2', 'm3', 'm4']);

    // The publisher restarts (process gone) before the broker comes back.
    await outbox.close();
    await conn.close();
    db.close();
    db = openSqliteJournal(path);
    proxy.up();
    conn = connect('pi-1', proxy.port);
    outbox = new DurableOutbox({
      journal: db.forThing('pi-1'),
      connection: conn,
      clock: systemClock,
      logger: silent,
      retryDelayMs: 50,
    });
    outbox.start();
    await outbox.publish('dt/pi-1/health', 'm5');
    await outbox.drained();
    await eventually(() => (received.length >= 5 ? true : undefined), 'all five');
    expect(received).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(await db.forThing('pi-1').pendingMessages(10)).toEqual([]);
    await outbox.close();
    db.close();
  });

  it('reads the journal once per message sent alone, and loses none of a burst written while it sends', async () => {
    const received: string[] = [];
    const watcher = connect('watcher', broker.port);
    await watcher.subscribe('dt/pi-2/health', (m) => void received.push(m.payload.toString()));
    const db = openSqliteJournal(join(dir, 'journal.db'));
    const journal = db.forThing('pi-2');
    let reads = 0;
    // The real journal, the delivery loop's reads (a batch of 4; drained() asks for 1) counted.
    const counted = new Proxy(journal, {
      get(target, key) {
        if (key === 'pendingMessages')
          return (limit: number) => {
            if (limit === 4) reads++;
            return target.pendingMessages(limit);
          };
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const conn = connect('pi-2', broker.port);
    await conn.waitFor('connected');
    const outbox = new DurableOutbox({
      journal: counted,
      connection: conn,
      clock: systemClock,
      logger: silent,
      batch: 4,
    });
    outbox.start();
    await outbox.drained();
    const readsAtStart = reads;
    for (const m of ['a1', 'a2', 'a3']) {
      await outbox.publish('dt/pi-2/health', m);
      await eventually(() => (received.includes(m) ? true : undefined), m);
      await outbox.drained();
    }
    // One read found each message; none came back to find the journal empty after it.
    expect(reads - readsAtStart).toBe(3);

    // A burst larger than a batch, written while earlier ones are being sent.
    const burst = Array.from({ length: 30 }, (_v, i) => `b${i}`);
    await Promise.all(burst.map((m) => outbox.publish('dt/pi-2/health', m)));
    await outbox.drained();
    await eventually(() => (received.length >= 33 ? true : undefined), 'the burst');
    expect(received).toEqual(['a1', 'a2', 'a3', ...burst]);
    expect(await journal.pendingMessages(100)).toEqual([]);
    await outbox.close();
    db.close();
  });
});
