import { join } from 'node:path';
import { openSqliteJournal } from '@otafleet/agent';
import { parseTrustStore } from '@otafleet/bundle';
import { pino, type Logger } from 'pino';
import { startCorruptingProxy, type CorruptingProxy } from '../faults/corrupting-proxy.js';
import { BootPacer } from './boot-pacer.js';
import type { ThreadBundles } from './bundles.js';
import type { DeviceObservation, FleetTally, VirtualDeviceSpec } from './contracts.js';
import { VirtualDevice, type DeviceThread } from './device.js';
import { emptyTally } from './tally.js';
import type { StreamOpener } from './link.js';
import { openSqliteSlotStore } from './slot-store.js';

/** What one thread's host needs (serializable: a worker gets it as workerData, plus its opener). */
export interface HostSettings {
  readonly dataDir: string;
  readonly trustSetJson: string;
  readonly downloadCache: 'per-device' | 'shared-by-hash';
  readonly bundleVerification: 'per-device' | 'per-content-hash';
  readonly seed: number;
  readonly healthReportIntervalSeconds: number;
  readonly fleetStartedAt: number;
  readonly protocolVersion: 4 | 'auto';
}

/** Devices of one thread booting at once (see BootPacer). */
export const BOOTS_IN_FLIGHT = 150;

/** The journal file all threads share (WAL; a connection and a group commit per thread). */
export const journalPathOf = (dataDir: string): string => join(dataDir, 'journal.db');

/** A logger that is silent and hands out itself as every child, so 10,000s of agents add no logger objects. */
export function sharedSilentLogger(): Logger {
  const logger = pino({ level: 'silent' });
  logger.child = (() => logger) as unknown as Logger['child'];
  return logger;
}

/**
 * The agents' logger: silent and shared; with SIM_AGENT_LOG_LEVEL set (debugging a scenario), the fleet's
 * logger's children at that level instead.
 */
function agentLogger(fleetLogger: Logger): Logger {
  const level = process.env['SIM_AGENT_LOG_LEVEL'];
  if (level === undefined || level === '') return sharedSilentLogger();
  const l = pino({ level }, pino.destination(2));
  void fleetLogger;
  return l;
}

/** The devices of one thread (the main thread, or one worker) and what they share. */
export class DeviceHost {
  readonly #devices: VirtualDevice[] = [];
  readonly #thread: DeviceThread;
  readonly #closeDb: () => void;
  #proxy: Promise<CorruptingProxy> | undefined;

  constructor(settings: HostSettings, open: StreamOpener, logger: Logger) {
    const path = journalPathOf(settings.dataDir);
    const journalDb = openSqliteJournal(path, { groupCommit: true });
    const slotStore = openSqliteSlotStore(path);
    const bundles: ThreadBundles = {
      trust: parseTrustStore(settings.trustSetJson),
      dir: settings.dataDir,
      mode: settings.downloadCache,
      verification: settings.bundleVerification,
      logger,
      cache: new Map(),
      verified: new Map(),
      corruptingProxy: () => (this.#proxy ??= startCorruptingProxy()),
    };
    this.#thread = {
      journalDb,
      slotStore,
      bundles,
      open,
      protocolVersion: settings.protocolVersion,
      agentLogger: agentLogger(logger),
      logger,
      seed: settings.seed,
      dataDir: settings.dataDir,
      healthReportIntervalSeconds: settings.healthReportIntervalSeconds,
      fleetStartedAt: settings.fleetStartedAt,
      bootPacer: new BootPacer(BOOTS_IN_FLIGHT),
      tally: emptyTally(),
    };
    this.#closeDb = () => {
      journalDb.close();
      slotStore.close();
    };
  }

  add(specs: readonly VirtualDeviceSpec[]): void {
    for (const spec of specs) {
      const d = new VirtualDevice(spec, this.#thread);
      this.#devices.push(d);
      this.#thread.tally.devices += 1;
      d.start();
    }
  }

  observe(): DeviceObservation[] {
    return this.#devices.map((d) => d.observe());
  }

  /** Devices per phase, and how many are offline (the progress display's counts), without observing each. */
  countPhases(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const d of this.#devices) d.countInto(counts);
    return counts;
  }

  /** O(1): the devices keep the counts current as their inputs change (polled every 200 ms by the idle bench). */
  tally(): FleetTally {
    return { ...this.#thread.tally };
  }

  async close(): Promise<void> {
    await Promise.all(this.#devices.map((d) => d.close()));
    // Let the last group commit run before the connection closes (close() flushes what is still queued).
    await new Promise((r) => setImmediate(r));
    this.#closeDb();
    if (this.#proxy !== undefined) await (await this.#proxy).close();
  }
}
