import mqemitter from 'mqemitter';
import { afterEach, describe, expect, it } from 'vitest';
import { TopicEmitter, type EmittedPacket } from '../src/bus/topic-emitter.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../src/broker/embedded-broker.js';
import { tcpClientPool } from '../src/testing/mqtt.js';
import { silentLogger } from '../src/testing/silent-logger.js';
import { sleep } from '../src/testing/tls-clients.js';

type Done = () => void;
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Who heard one emit: listener ids, sorted (the two routers need not call them in the same order). */
async function heard(
  emitter: { emit(p: EmittedPacket, cb: () => void): unknown },
  log: string[],
  topic: string,
): Promise<string[]> {
  log.length = 0;
  await new Promise<void>((resolve) => emitter.emit({ topic }, resolve));
  return [...log].sort();
}

describe('TopicEmitter', () => {
  it('delivers to the same listeners as mqemitter over seeded filters, topics and removals', async () => {
    let seed = 3;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const words = ['a', 'b', 'things', 'sim-1', ''];
    const level = (wild: boolean): string =>
      wild && rand(3) === 0 ? (rand(2) ? '+' : '#') : words[rand(words.length)]!;
    const filter = (): string => {
      const n = 1 + rand(4);
      const out = Array.from({ length: n }, () => level(true));
      const hash = out.indexOf('#');
      return (hash === -1 ? out : out.slice(0, hash + 1)).join('/') || 'a'; // MQTT has no empty filter
    };
    const topic = (): string => Array.from({ length: 1 + rand(4) }, () => level(false)).join('/') || 'b';

    const ours = new TopicEmitter();
    const theirs = mqemitter({ matchEmptyLevels: true });
    const log: string[] = [];
    const registered: { filter: string; fn: (p: EmittedPacket, done: Done) => void }[] = [];
    let compared = 0;
    for (let step = 0; step < 1_500; step++) {
      const op = rand(10);
      if (op < 4 || registered.length === 0) {
        const f = filter();
        const id = `${registered.length}:${f}`;
        // Some listeners on two filters, some filters with two listeners: both must count each registration.
        const reuse = registered.length > 0 && rand(5) === 0 ? registered[rand(registered.length)]!.fn : undefined;
        const fn =
          reuse ??
          ((_p: EmittedPacket, done: Done): void => {
            log.push(id);
            done();
          });
        registered.push({ filter: f, fn });
        ours.on(f, fn);
        theirs.on(f, fn);
      } else if (op < 6) {
        const [gone] = registered.splice(rand(registered.length), 1);
        ours.removeListener(gone!.filter, gone!.fn);
        theirs.removeListener(gone!.filter, gone!.fn);
        await nextTurn();
      } else {
        const t = topic();
        const want = await heard(theirs, log, t);
        expect({ t, ours: await heard(ours, log, t) }).toEqual({ t, ours: want });
        expect({ t, any: ours.hasListeners(t) }).toEqual({ t, any: want.length > 0 });
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(400);
  });

  it('keeps topics starting with $ from filters that start with a wildcard (MQTT 4.7.2)', async () => {
    const e = new TopicEmitter();
    const log: string[] = [];
    for (const f of [
      '#',
      '+/things/t1/jobs/notify',
      '$aws/#',
      '$aws/things/+/jobs/notify',
      '$aws/things/t1/jobs/notify',
    ])
      e.on(f, (_p: EmittedPacket, done: Done) => {
        log.push(f);
        done();
      });
    expect(await heard(e, log, '$aws/things/t1/jobs/notify')).toEqual(
      ['$aws/#', '$aws/things/+/jobs/notify', '$aws/things/t1/jobs/notify'].sort(),
    );
    expect(await heard(e, log, 'dt/t1')).toEqual(['#']);
  });

  it('matches a/# on a itself, and + on an empty level', async () => {
    const e = new TopicEmitter();
    const log: string[] = [];
    for (const f of ['dt/t1/#', 'a/+/c'])
      e.on(f, (_p: EmittedPacket, done: Done) => {
        log.push(f);
        done();
      });
    expect(await heard(e, log, 'dt/t1')).toEqual(['dt/t1/#']);
    expect(await heard(e, log, 'dt/t1/health/x')).toEqual(['dt/t1/#']);
    expect(await heard(e, log, 'dt/t2')).toEqual([]);
    expect(await heard(e, log, 'a//c')).toEqual(['a/+/c']);
  });

  it('calls back once every listener has, however late, and at once with no listener', async () => {
    const e = new TopicEmitter();
    const waiting: Done[] = [];
    e.on('t', (_p: EmittedPacket, done: Done) => waiting.push(done));
    e.on('t', (done: Done) => waiting.push(done)); // a one-argument listener is given the callback alone
    let finished = 0;
    e.emit({ topic: 't' }, () => finished++);
    expect(waiting).toHaveLength(2);
    waiting[0]!();
    expect(finished).toBe(0);
    waiting[1]!();
    expect(finished).toBe(1);
    e.emit({ topic: 'nobody' }, () => finished++);
    expect(finished).toBe(2);
    await nextTurn();
  });

  it('lets a delivery under way reach a listener removed during it, and not the next one', async () => {
    const e = new TopicEmitter();
    const log: string[] = [];
    const second = (_p: EmittedPacket, done: Done): void => {
      log.push('second');
      done();
    };
    e.on('t', (_p: EmittedPacket, done: Done) => {
      log.push('first');
      e.removeListener('t', second);
      done();
    });
    e.on('t', second);
    expect(await heard(e, log, 't')).toEqual(['first', 'second']);
    await nextTurn();
    expect(await heard(e, log, 't')).toEqual(['first']);
  });

  it('refuses to emit once closed, saying so', async () => {
    const e = new TopicEmitter();
    await new Promise<void>((r) => e.close(r));
    const err = await new Promise<Error | undefined>((r) => e.emit({ topic: 't' }, r));
    expect(err?.message).toBe('mqemitter is closed');
  });

  describe('as the embedded broker routes', () => {
    let broker: EmbeddedBroker | undefined;
    const pool = tcpClientPool(() => broker!.port);
    afterEach(async () => {
      await pool.endAll();
      await broker?.close();
    });

    it('delivers real publishes to exact and wildcard subscribers, and stops after an unsubscribe', async () => {
      broker = await startEmbeddedBroker({ logger: silentLogger });
      const sub = await pool.connect('sub');
      const pub = await pool.connect('pub');
      const got: string[] = [];
      sub.on('message', (topic) => got.push(topic));
      await sub.subscribeAsync(['room/1/temp', 'room/+/hum', 'logs/#'], { qos: 1 });
      for (const t of ['room/1/temp', 'room/2/hum', 'room/2/temp', 'logs', 'logs/a/b'])
        await pub.publishAsync(t, 'x', { qos: 1 });
      for (let i = 0; i < 100 && got.length < 4; i++) await sleep(10);
      expect(got.sort()).toEqual(['logs', 'logs/a/b', 'room/1/temp', 'room/2/hum']);
      await sub.unsubscribeAsync('room/+/hum');
      got.length = 0;
      await pub.publishAsync('room/3/hum', 'x', { qos: 1 });
      await pub.publishAsync('room/1/temp', 'x', { qos: 1 });
      for (let i = 0; i < 100 && got.length < 1; i++) await sleep(10);
      await sleep(50);
      expect(got).toEqual(['room/1/temp']);
    });
  });
});
