/** A worker thread hosting some of the fleet's devices; the main thread holds the broker (see fleet.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { VirtualDeviceSpec } from './contracts.js';
import { DeviceHost, type HostSettings } from './host.js';
import { isFrameBatch, WorkerStreams } from './mux.js';
import { tlsOpener } from './tls-opener.js';
import type { StreamOpener } from './link.js';
import type { FromWorker, ToWorker, WorkerBroker } from './worker-protocol.js';

const settings = workerData as HostSettings & { readonly broker: WorkerBroker; readonly logLevel: string };
const port = parentPort;
if (port === null) throw new Error('fleet worker: not started as a worker thread');
const send = (m: FromWorker): void => port.postMessage(m);
const logger = pino({ level: settings.logLevel }, pino.destination(2));

const credentials = new Map<string, { cert: string; key: string }>();
let streams: WorkerStreams | undefined;
let open: StreamOpener;
if (settings.broker.kind === 'in-memory') {
  const s = new WorkerStreams((batch, transfer) => port.postMessage(batch, transfer));
  streams = s;
  open = s.open;
} else {
  open = tlsOpener(settings.broker.url, settings.broker.ca, (thing) => {
    const c = credentials.get(thing);
    if (c === undefined) throw new Error(`no credentials for ${thing}`);
    return c;
  });
}
const host = new DeviceHost(settings, open, logger);

port.on('message', (m: unknown) => {
  if (isFrameBatch(m)) {
    streams?.receive(m);
    return;
  }
  const msg = m as ToWorker;
  switch (msg.kind) {
    case 'add': {
      const specs: VirtualDeviceSpec[] = [];
      for (const d of msg.devices) {
        if (d.credentials !== undefined) credentials.set(d.spec.thingName, d.credentials);
        specs.push(d.spec);
      }
      host.add(specs);
      send({ kind: 'added', id: msg.id });
      return;
    }
    case 'observe':
      send({ kind: 'observed', id: msg.id, observations: host.observe() });
      return;
    case 'tally':
      send({ kind: 'tallied', id: msg.id, tally: host.tally() });
      return;
    case 'count':
      send({ kind: 'counted', id: msg.id, counts: host.countPhases() });
      return;
    case 'close':
      host.close().then(
        () => send({ kind: 'closed', id: msg.id }),
        (e: unknown) => send({ kind: 'failed', id: msg.id, message: String(e) }),
      );
      return;
  }
});
send({ kind: 'ready' });
