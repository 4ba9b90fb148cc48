import {
  connectMqtt,
  ManualClock,
  type InboundMessage,
  type MqttConnection,
  type MqttTransport,
} from '@otafleet/mqtt-client';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { logger, THING, type BrokerFixture } from './brokers.js';
import {
  backoffOf,
  BACKOFF,
  counted,
  expectedDelay,
  HALF,
  harness,
  settleThroughBackoff,
  until,
  type Harness,
} from './harness.js';

/** What a transport under test is, against which broker, and what that broker refuses. */
export interface ContractTarget {
  readonly broker: BrokerFixture;
  /** The device's transport (thing-a's credentials where the broker authenticates). */
  transport(): MqttTransport;
  /** A transport to where nothing answers. */
  deadTransport(): Promise<MqttTransport>;
  /** Credentials the broker refuses (NotAuthorized). */
  refusedCredentials?(): { readonly transport: MqttTransport; readonly clientId: string };
}

export interface ContractCapabilities {
  readonly protocolVersion: 4 | 5 | 'auto';
  /** The version the session ends up with. */
  readonly expectedVersion: 4 | 5;
  /** The transport holds a QoS 1 PUBACK back until the handler's promise settles. */
  readonly acksAfterHandler: boolean;
  /** A filter the broker refuses the device (aedes and Mosquitto with the dynamic-security plugin do). */
  readonly refusedFilter?: string;
  /** A topic the broker refuses the device's publishes to. */
  readonly refusedTopic: string;
  /** MQTT 3.1.1 brokers refuse a publish by closing the connection (PublishRefused after maxPublishAttempts). */
  readonly refusesPublishByDisconnect: boolean;
  readonly refusesCredentials: boolean;
  readonly sharedSubscriptions: boolean;
}

const SERVICE_ID = 'svc.fleet';
const text = (m: InboundMessage): string => `${m.topic} ${m.payload.toString()}`;

/** The one contract every transport meets, run against a real broker. */
export function describeMqttContract(
  name: string,
  caps: ContractCapabilities,
  setup: () => Promise<ContractTarget>,
): void {
  describe(`MQTT client contract: ${name}`, () => {
    let target: ContractTarget;
    let brokerDown = false;
    const connections: MqttConnection[] = [];
    const raws: MqttClient[] = [];
    const make = (options: Parameters<typeof harness>[1] = {}, transport?: MqttTransport): Harness =>
      harness(transport ?? target.transport(), { protocolVersion: caps.protocolVersion, ...options }, connections);
    const connected = async (options: Parameters<typeof harness>[1] = {}): Promise<Harness> => {
      const h = make(options);
      h.connection.start();
      await h.connection.waitFor('connected');
      return h;
    };
    const peer = async (): Promise<MqttClient> => {
      const raw = await target.broker.rawClient({ identity: 'service', clientId: SERVICE_ID });
      raws.push(raw);
      return raw;
    };
    const kill = async (): Promise<void> => {
      brokerDown = true;
      await target.broker.kill();
    };
    const restart = async (): Promise<void> => {
      await target.broker.restart();
      brokerDown = false;
    };

    beforeAll(async () => {
      target = await setup();
    });
    afterEach(async () => {
      await Promise.all(raws.splice(0).map((r) => r.endAsync(true)));
      await Promise.all(connections.splice(0).map((c) => c.close()));
      if (brokerDown) await restart();
    });
    afterAll(async () => {
      await target?.broker.stop();
    });

    it(`connects: idle → connecting → connected, over MQTT ${caps.expectedVersion === 5 ? '5' : '3.1.1'}`, async () => {
      const h = make();
      expect(h.connection.state).toEqual({ kind: 'idle' });
      expect(h.connection.protocolVersion).toBeUndefined();
      h.connection.start();
      const up = await h.connection.waitFor('connected');
      expect(h.kinds()).toEqual(['connecting', 'connected']);
      expect(up).toMatchObject({
        protocolVersion: caps.expectedVersion,
        sessionPresent: false,
        connectionCount: 1,
        since: h.clock.now(),
      });
      expect(h.connection.protocolVersion).toBe(caps.expectedVersion);
      expect(h.transport.opens.maxInFlight).toBe(1);
      h.connection.start(); // no effect once started
      expect(h.transport.opens.total).toBe(caps.protocolVersion === 'auto' && caps.expectedVersion === 4 ? 2 : 1);
    });

    it('subscribes and receives; a QoS 1 publish resolves on PUBACK and reaches a subscriber', async () => {
      const h = await connected();
      const got: string[] = [];
      await h.connection.subscribe(`dt/${THING}/in/+`, (m) => {
        got.push(text(m));
      });
      const other = await peer();
      await other.publishAsync(`dt/${THING}/in/1`, 'hello', { qos: 1 });
      await until(() => got.length === 1, 'the message');
      expect(got).toEqual([`dt/${THING}/in/1 hello`]);

      const seen: string[] = [];
      other.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
      await other.subscribeAsync(`dt/${THING}/out`, { qos: 1 });
      await h.connection.publish(`dt/${THING}/out`, 'qos1');
      await h.connection.publish(`dt/${THING}/out`, Buffer.from('qos0'), { qos: 0 });
      await until(() => seen.length === 2, 'both publishes at the peer');
      // The broker may forward the QoS 0 message before the QoS 1 one it stores first: no order across QoS.
      expect(seen.sort()).toEqual([`dt/${THING}/out qos0`, `dt/${THING}/out qos1`]);
    });

    it(
      caps.acksAfterHandler
        ? "a handler's promise holds the PUBACK back: unacknowledged, the message goes to the session's next owner"
        : 'aws-crt 3.1.1 acknowledges on receipt: the session taken over mid-handler has nothing to redeliver',
      async () => {
        const h = await connected({ cleanSession: false, sessionExpirySeconds: 300 });
        let release = (): void => undefined;
        const handled: string[] = [];
        await h.connection.subscribe(`dt/${THING}/held`, (m) => {
          handled.push(m.payload.toString());
          return new Promise<void>((resolve) => (release = resolve));
        });
        const other = await peer();
        await other.publishAsync(`dt/${THING}/held`, 'm1', { qos: 1 });
        await until(() => handled.length === 1, 'the handler to start');
        // Another client takes the persistent session over: the broker drops ours and resends what it holds.
        const next = await target.broker.rawClient({ identity: 'device', clientId: THING, clean: false });
        raws.push(next);
        const redelivered: string[] = [];
        next.on('message', (_t, payload) => redelivered.push(payload.toString()));
        await backoffOf(h, 0);
        await other.publishAsync(`dt/${THING}/held`, 'm2', { qos: 1 });
        await until(() => redelivered.includes('m2'), 'm2 at the new owner');
        expect(redelivered).toEqual(caps.acksAfterHandler ? ['m1', 'm2'] : ['m2']);
        release();
      },
    );

    if (caps.acksAfterHandler)
      it('pipelined: every message is handed over before the first settles; PUBACKs go out in arrival order', async () => {
        const h = await connected({ cleanSession: false, sessionExpirySeconds: 300 });
        const releases = new Map<string, () => void>();
        await h.connection.subscribe(
          `dt/${THING}/batch`,
          (m) => new Promise<void>((resolve) => releases.set(m.payload.toString(), resolve)),
          { pipelined: true },
        );
        const other = await peer();
        for (const m of ['m1', 'm2', 'm3', 'm4']) await other.publishAsync(`dt/${THING}/batch`, m, { qos: 1 });
        await until(() => releases.size === 4, 'all four handlers running at once');
        // m4 and m2 done, m1 not: nothing may be acknowledged yet (m2's PUBACK would overtake m1's).
        releases.get('m4')?.();
        releases.get('m2')?.();
        releases.get('m1')?.();
        // m1, m2 acknowledged in order; m3 still running, so m4 (settled) waits behind it.
        await new Promise((r) => setTimeout(r, 200));
        const next = await target.broker.rawClient({ identity: 'device', clientId: THING, clean: false });
        raws.push(next);
        const redelivered: string[] = [];
        next.on('message', (_t, payload) => redelivered.push(payload.toString()));
        await backoffOf(h, 0);
        await other.publishAsync(`dt/${THING}/batch`, 'm5', { qos: 1 });
        await until(() => redelivered.includes('m5'), 'm5 at the new owner');
        expect(redelivered).toEqual(['m3', 'm4', 'm5']);
        releases.get('m3')?.();
      });

    it('one filter, one way: subscribing it pipelined after in order is refused InvalidOptions', async () => {
      const h = await connected();
      await h.connection.subscribe(`dt/${THING}/mixed`, () => undefined);
      await expect(
        h.connection.subscribe(`dt/${THING}/mixed`, () => undefined, { pipelined: true }),
      ).rejects.toMatchObject({
        code: 'InvalidOptions',
      });
    });

    if (caps.refusedFilter !== undefined) {
      const refused = caps.refusedFilter;
      it('a refused subscription rejects SubscribeRefused; the others keep working', async () => {
        const h = await connected();
        const got: string[] = [];
        await h.connection.subscribe(`dt/${THING}/ok`, (m) => {
          got.push(text(m));
        });
        await expect(h.connection.subscribe(refused, () => undefined)).rejects.toMatchObject({
          code: 'SubscribeRefused',
        });
        const other = await peer();
        await other.publishAsync(`dt/${THING}/ok`, 'still', { qos: 1 });
        await until(() => got.length === 1, 'the message on the granted filter');
        expect(h.connection.state.kind).toBe('connected');
      });
    }

    it('filters subscribed together go out together, at most 8 per SUBSCRIBE (AWS IoT Core quota), before and after connecting', async () => {
      const h = make();
      const early = Array.from({ length: 10 }, (_v, i) => `dt/${THING}/early/${i}`);
      const got: string[] = [];
      const earlyGranted = Promise.all(early.map((f) => h.connection.subscribe(f, (m) => void got.push(text(m)))));
      h.connection.start();
      await h.connection.waitFor('connected');
      await earlyGranted;
      expect(h.transport.subscribes.map((b) => b.length)).toEqual([8, 2]);
      expect(h.transport.subscribes.flat()).toEqual(early);

      // While connected: one component's filters subscribed in one go share SUBSCRIBEs; a refused one fails alone.
      const late = Array.from({ length: 9 }, (_v, i) => `dt/${THING}/late/${i}`);
      const wanted =
        caps.refusedFilter === undefined ? late : [...late.slice(0, 4), caps.refusedFilter, ...late.slice(4)];
      const outcomes = await Promise.allSettled(
        wanted.map((f) => h.connection.subscribe(f, (m) => void got.push(text(m)))),
      );
      expect(h.transport.subscribes.slice(2).map((b) => b.length)).toEqual([8, wanted.length - 8]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(late.length);
      if (caps.refusedFilter !== undefined)
        expect(outcomes[4]).toMatchObject({ status: 'rejected', reason: { code: 'SubscribeRefused' } });
      const other = await peer();
      await other.publishAsync(`dt/${THING}/early/9`, 'e', { qos: 1 });
      await other.publishAsync(`dt/${THING}/late/8`, 'l', { qos: 1 });
      await until(() => got.length === 2, 'a message on the last filter of each batch');
      expect(got.sort()).toEqual([`dt/${THING}/early/9 e`, `dt/${THING}/late/8 l`]);
      expect(h.connection.state.kind).toBe('connected');
    });

    it('a refused publish rejects PublishRefused; publishing elsewhere still works', async () => {
      const h = await connected();
      const outcome = await settleThroughBackoff(h, h.connection.publish(caps.refusedTopic, 'forged'));
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'PublishRefused' } });
      // By disconnect: one dropped session per attempt (maxPublishAttempts, 3); by PUBACK: none.
      const losses = h.states.filter((s) => s.kind === 'backoff').length;
      expect(losses).toBe(caps.refusesPublishByDisconnect ? 3 : 0);
      await settleThroughBackoff(h, h.connection.waitFor('connected'));
      await h.connection.publish(`dt/${THING}/fine`, 'ok');
    });

    if (caps.refusesCredentials) {
      it('refused credentials: NotAuthorized, closed for good without a retry', async () => {
        const refused = target.refusedCredentials?.();
        if (refused === undefined) throw new Error('target declares refusesCredentials without refusedCredentials()');
        const h = make({ clientId: refused.clientId }, refused.transport);
        h.connection.start();
        const closed = await h.connection.waitFor('closed');
        expect(closed.reason?.code).toBe('NotAuthorized');
        expect(h.kinds()).not.toContain('backoff');
        expect(h.clock.pendingTimers).toBe(0);
        await expect(h.connection.publish(`dt/${THING}/x`, 'x')).rejects.toMatchObject({ code: 'Closed' });
        const again = target.refusedCredentials?.();
        await expect(
          connectMqtt({
            transport: again!.transport,
            clientId: again!.clientId,
            protocolVersion: caps.protocolVersion,
            logger,
          }),
        ).rejects.toMatchObject({ code: 'NotAuthorized' });
      });
    }

    it('nothing listening: backoff delays come from the injected clock and jitter; connectMqtt gives up at its deadline', async () => {
      const h = make({}, await target.deadTransport());
      h.connection.start();
      for (let attempt = 0; attempt < 4; attempt++) {
        const waiting = await backoffOf(h, attempt);
        expect(waiting.delayMs).toBe(expectedDelay(attempt)); // 500, 1000, 2000, 4000
        expect(waiting.retryAt).toBe(h.clock.now() + waiting.delayMs);
        expect(waiting.reason.code).toBe('ConnectFailed');
        h.clock.advance(waiting.delayMs - 1);
        expect(h.connection.state).toBe(waiting);
        h.clock.advance(1);
        expect(h.connection.state).toMatchObject({ kind: 'connecting', attempt: attempt + 1 });
      }
      expect(h.transport.opens.maxInFlight).toBe(1);

      const clock = new ManualClock(1_000_000);
      const dead = counted(await target.deadTransport());
      const giveUp = connectMqtt({
        transport: dead,
        clientId: THING,
        protocolVersion: caps.protocolVersion,
        clock,
        random: HALF,
        backoff: BACKOFF,
        firstConnectTimeoutMs: 3000,
        logger,
      });
      const outcome = giveUp.then(
        () => undefined,
        (e: unknown) => e,
      );
      // Attempts at 0, 500 and 1500 ms fail; the next would be at 3500, past the deadline at 3000.
      for (const [attempts, delay] of [
        [1, 500],
        [2, 1000],
        [3, 2000],
      ] as const) {
        await until(() => dead.opens.total === attempts && dead.opens.inFlight === 0, `attempt ${attempts} to fail`);
        clock.advance(delay);
      }
      expect(dead.opens.total).toBe(3);
      expect(await outcome).toMatchObject({
        code: 'ConnectFailed',
        message: expect.stringMatching(/within 3000 ms/),
      });
    });

    it('broker killed mid-session: connected → backoff → connecting → connected on the clock, subscriptions restored', async () => {
      const h = await connected();
      const startIndex = h.states.length;
      const a: string[] = [];
      const b: string[] = [];
      await h.connection.subscribe(`dt/${THING}/k1`, (m) => {
        a.push(m.payload.toString());
      });
      await h.connection.subscribe(`$aws/things/${THING}/shadow/update/delta`, (m) => {
        b.push(m.payload.toString());
      });

      await kill();
      const lost = await backoffOf(h, 0);
      expect(lost).toMatchObject({ delayMs: expectedDelay(0), reason: { code: 'ConnectFailed' } });
      const whileDown = h.connection.publish(`dt/${THING}/queued`, 'while-down');
      let sent = false;
      void whileDown.then(() => (sent = true));
      h.clock.advance(expectedDelay(0) - 1);
      expect(h.connection.state.kind).toBe('backoff');
      h.clock.advance(1);
      expect(h.connection.state).toMatchObject({ kind: 'connecting', attempt: 1 });
      const refused = await backoffOf(h, 1); // still down
      expect(refused.delayMs).toBe(expectedDelay(1));

      await restart();
      const other = await peer();
      const queued: string[] = [];
      other.on('message', (topic, payload) => {
        if (topic === `dt/${THING}/queued`) queued.push(payload.toString());
      });
      await other.subscribeAsync(`dt/${THING}/queued`, { qos: 1 });
      expect(sent).toBe(false);
      h.clock.advance(refused.delayMs);
      const back = await h.connection.waitFor('connected');
      expect(back).toMatchObject({ connectionCount: 2, attempt: 2, protocolVersion: caps.expectedVersion });
      expect(h.kinds(startIndex)).toEqual(['backoff', 'connecting', 'backoff', 'connecting', 'connected']);
      expect(h.transport.opens.maxInFlight).toBe(1);
      expect(h.transport.opens.total).toBe(h.states.filter((s) => s.kind === 'connecting').length);

      await whileDown; // queued while down, sent once connected
      await until(() => queued.length === 1, 'the queued publish at the peer');
      await other.publishAsync(`dt/${THING}/k1`, 'after-1', { qos: 1 });
      await other.publishAsync(`$aws/things/${THING}/shadow/update/delta`, 'after-2', { qos: 1 });
      await until(() => a.length === 1 && b.length === 1, 'both resubscribed handlers');
      expect([a, b]).toEqual([['after-1'], ['after-2']]);
    });

    it('close() during backoff ends cleanly: pending work rejects Closed, no timer left, no attempt after', async () => {
      const h = await connected();
      await kill();
      await backoffOf(h, 0);
      const pendingPublish = h.connection.publish(`dt/${THING}/never`, 'x');
      const pendingSubscribe = h.connection.subscribe(`dt/${THING}/later`, () => undefined);
      await h.connection.close();
      expect(h.connection.state).toEqual({ kind: 'closed' });
      await expect(pendingPublish).rejects.toMatchObject({ code: 'Closed' });
      await expect(pendingSubscribe).rejects.toMatchObject({ code: 'Closed' });
      expect(h.clock.pendingTimers).toBe(0);
      const opens = h.transport.opens.total;
      h.clock.advance(BACKOFF.capMs * 10);
      expect(h.transport.opens.total).toBe(opens);
      await expect(h.connection.publish(`dt/${THING}/x`, 'x')).rejects.toMatchObject({ code: 'Closed' });
      await expect(h.connection.waitFor('connected')).rejects.toMatchObject({ code: 'Closed' });
      await h.connection.close(); // idempotent
    });

    if (caps.sharedSubscriptions) {
      it('a shared subscription ($share/<group>/<filter>) routes matching topics to its handler', async () => {
        const h = await connected();
        const got: string[] = [];
        await h.connection.subscribe(`$share/workers/dt/${THING}/shared/+`, (m) => {
          got.push(text(m));
        });
        const other = await peer();
        await other.publishAsync(`dt/${THING}/shared/1`, 'one', { qos: 1 });
        await until(() => got.length === 1, 'the shared-subscription message');
        expect(got).toEqual([`dt/${THING}/shared/1 one`]);
      });
    }
  });
}
