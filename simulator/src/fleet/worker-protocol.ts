import type { DeviceObservation, FleetTally, VirtualDeviceSpec } from './contracts.js';

/** How a worker reaches the broker: its streams are carried to the main thread, or it opens TLS sockets itself. */
export type WorkerBroker =
  { readonly kind: 'in-memory' } | { readonly kind: 'mqtt-url'; readonly url: string; readonly ca?: string };

export type ToWorker =
  | {
      readonly kind: 'add';
      readonly id: number;
      readonly devices: readonly {
        readonly spec: VirtualDeviceSpec;
        readonly credentials?: { readonly cert: string; readonly key: string };
      }[];
    }
  | { readonly kind: 'observe'; readonly id: number }
  | { readonly kind: 'count'; readonly id: number }
  | { readonly kind: 'tally'; readonly id: number }
  | { readonly kind: 'close'; readonly id: number };

export type FromWorker =
  | { readonly kind: 'ready' }
  | { readonly kind: 'added'; readonly id: number }
  | { readonly kind: 'observed'; readonly id: number; readonly observations: readonly DeviceObservation[] }
  | { readonly kind: 'counted'; readonly id: number; readonly counts: Readonly<Record<string, number>> }
  | { readonly kind: 'tallied'; readonly id: number; readonly tally: FleetTally }
  | { readonly kind: 'closed'; readonly id: number }
  | { readonly kind: 'failed'; readonly id: number; readonly message: string };
