import type { HealthReport } from '@otafleet/protocol';
import type { HealthSample } from '../rollout/health-gate.js';

/** The newest report kept for a device, with what the fleet views filter on pulled out. */
export interface DeviceHealth {
  readonly thingName: string;
  readonly report: HealthReport;
  readonly receivedAt: number;
}

/** A device message that could not be processed, kept with why and its raw bytes (never silently dropped). */
export interface DeadLetter {
  readonly id: number;
  readonly receivedAt: number;
  readonly topic: string;
  /** A stable code for metrics: `UNKNOWN_TOPIC`, or the protocol parser's (`INVALID_JSON`, `PAYLOAD_TOO_LARGE`, `INVALID_FIELDS`, …). */
  readonly code: string;
  readonly reason: string;
  /** The payload as received, up to DEAD_LETTER_MAX_BYTES. */
  readonly payload: Buffer;
  readonly payloadBytes: number;
}

export const DEAD_LETTER_MAX_BYTES = 64 * 1024;

export type IngestOutcome =
  | { readonly kind: 'stored'; readonly thingName: string }
  /** QoS 1 redelivery or a reorder: the newer report is kept; `basis` says what decided. */
  | { readonly kind: 'duplicate' | 'older'; readonly thingName: string; readonly basis: string }
  | { readonly kind: 'dead-letter'; readonly code: string; readonly reason: string };

export interface IncomingMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly receivedAt: number;
}

export interface HealthCounts {
  readonly stored: number;
  readonly duplicate: number;
  readonly older: number;
  readonly deadLetters: number;
}

export interface FleetCounts {
  readonly byStatus: Readonly<Record<string, number>>;
  readonly deadLettersByCode: Readonly<Record<string, number>>;
}

/**
 * Device health as the fleet service knows it. `ingest` takes a batch in one transaction (one fsync for many
 * reports) and resolves once it is on disk; per device the newest report wins (by boot id and sequence, not by
 * the device's clock), and per device and firmware version the newest report of that version is kept, so a
 * wave's devices can be compared with their own figures from before the update.
 */
export interface HealthStore {
  ingest(messages: readonly IncomingMessage[]): Promise<readonly IngestOutcome[]>;
  device(thingName: string): Promise<DeviceHealth | undefined>;
  /** Sums over the given devices' newest reports on `firmwareVersion` (or on any other version, with `not`). */
  sample(
    thingNames: readonly string[],
    version: { readonly firmwareVersion: string; readonly not?: boolean },
  ): Promise<HealthSample>;
  deadLetters(options?: { readonly limit?: number; readonly afterId?: number }): Promise<readonly DeadLetter[]>;
  counts(): Promise<HealthCounts>;
  /** Devices by the status of their newest report, and dead letters held by code (for metrics). */
  fleetCounts(): Promise<FleetCounts>;
  close(): Promise<void>;
}
