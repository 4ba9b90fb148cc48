/**
 * The worker ↔ main stream multiplexer over a real MessageChannel: bytes both ways, and a device that ends its
 * side (as MQTT.js does after DISCONNECT) sees its stream close even though the broker's side never ends first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { PassThrough, type Duplex } from 'node:stream';
import { within } from '@otafleet/iot-core/testing';
import { isFrameBatch, MainStreams, WorkerStreams } from '../src/fleet/mux.js';

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

/** Both sides on one real channel; the broker side of each device is a stream the test holds. */
function wire(): { worker: WorkerStreams; brokerSides: Map<string, Duplex> } {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const brokerSides = new Map<string, Duplex>();
  const worker = new WorkerStreams((batch, transfer) => port1.postMessage(batch, transfer));
  const main = new MainStreams(
    (batch, transfer) => port2.postMessage(batch, transfer),
    (thing) => {
      // A broker connection that echoes what it reads and never ends on its own.
      const side = new PassThrough();
      brokerSides.set(thing, side);
      return side;
    },
  );
  port1.on('message', (m: unknown) => {
    if (isFrameBatch(m)) worker.receive(m);
  });
  port2.on('message', (m: unknown) => {
    if (isFrameBatch(m)) main.receive(m);
  });
  return { worker, brokerSides };
}

describe('the stream multiplexer', () => {
  it('carries each device stream both ways over one port', async () => {
    const { worker, brokerSides } = wire();
    const a = worker.open('thing-a');
    const b = worker.open('thing-b');
    const echoOf = (s: Duplex): Promise<string> =>
      new Promise((resolve) => s.once('data', (d: Buffer) => resolve(d.toString())));
    const gotA = echoOf(a);
    const gotB = echoOf(b);
    a.write('hello from a');
    b.write('hello from b');
    expect(await within(gotA, 2_000, 'echo to a')).toBe('hello from a');
    expect(await within(gotB, 2_000, 'echo to b')).toBe('hello from b');
    expect([...brokerSides.keys()].sort()).toEqual(['thing-a', 'thing-b']);
  });

  it("closes a device's stream after it ends its side, and closes the broker's side", async () => {
    const { worker, brokerSides } = wire();
    const device = worker.open('thing-end');
    device.on('data', () => undefined); // flowing, as an MQTT client reads
    const first = new Promise((resolve) => device.once('data', resolve));
    device.write('CONNECT');
    await within(first, 2_000, 'first echo');
    const broker = brokerSides.get('thing-end');
    expect(broker).toBeDefined();
    const brokerClosed = new Promise<void>((resolve) => broker!.once('close', () => resolve()));
    const deviceClosed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    // DISCONNECT and the end in one turn: the data and the END frame go in the same batch.
    device.write('DISCONNECT');
    device.end();
    await within(brokerClosed, 2_000, "the broker's side closed");
    await within(deviceClosed, 2_000, "the device's stream closed");
    expect(worker.openStreams).toBe(0);
  });
});
