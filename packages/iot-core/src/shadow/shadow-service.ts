import {
  DEFAULT_SHADOW_LIMITS,
  describeIssues,
  resolveShadowLimits,
  shadowLimitsOverrideValidator,
  type ShadowLimits,
} from '@otafleet/protocol';
import type { MessageBus } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import type { Db } from '../db.js';
import { createDurableCommitter } from '../durable-commit.js';
import type { ShadowControlPlane } from '../service-contracts.js';
import { GroupCommit } from './group-commit.js';
import { createShadowDataPlane } from './shadow-data-plane.js';
import { subscribeShadowDeviceApi } from './shadow-device-api.js';
import { createShadowEngine } from './shadow-engine.js';
import { createShadowPublisher } from './shadow-publisher.js';
import { openShadowStore, type ShadowKey } from './shadow-store.js';
import { createInFlightLimiter } from './shadow-throttle.js';
import { startTombstonePurge } from './tombstone-purge.js';

export interface ShadowServiceOptions {
  readonly db: Db;
  readonly bus: MessageBus;
  readonly logger: Logger;
  readonly limits?: Partial<ShadowLimits>;
  /** Clock in epoch milliseconds; shadow timestamps are its seconds. */
  readonly now?: () => number;
  /** Called with the shadows each batch changed, once it is on disk (the registry's dynamic thing groups). */
  readonly onShadowsChanged?: (keys: readonly ShadowKey[]) => void;
}

export type ShadowService = ShadowControlPlane & { close(): Promise<void> };

/** Bad options given to createShadowService: fails at start, saying what to fix. */
export class ShadowServiceOptionsError extends Error {
  override readonly name = 'ShadowServiceOptionsError';
  readonly code = 'InvalidShadowServiceOptions';
}

/**
 * The local Device Shadow service: the AWS shadow MQTT API on the bus (shadow-device-api) and the HTTP
 * data-plane calls (shadow-data-plane) over one engine of state transitions (shadow-engine, protocol's
 * algebra); every answer is published (shadow-publisher) only after its batch is committed to SQLite.
 */
export async function createShadowService(opts: ShadowServiceOptions): Promise<ShadowService> {
  const { bus, logger } = opts;
  const limitsCheck = shadowLimitsOverrideValidator.validate(opts.limits ?? {});
  if (!limitsCheck.ok) {
    throw new ShadowServiceOptionsError(`Invalid shadow limits: ${describeIssues(limitsCheck.error)}`);
  }
  const limits = opts.limits === undefined ? DEFAULT_SHADOW_LIMITS : resolveShadowLimits(opts.limits);
  const now = opts.now ?? Date.now;
  const store = openShadowStore(opts.db);
  const committer = createDurableCommitter(opts.db);
  const commits = new GroupCommit(store, committer, opts.onShadowsChanged);
  const engine = createShadowEngine(commits, limits, logger);
  const publisher = createShadowPublisher(bus, logger);
  let closed = false;
  const isClosed = (): boolean => closed;

  const stopPurge = startTombstonePurge(store, now, logger);
  const limiter = createInFlightLimiter();
  await subscribeShadowDeviceApi(bus, { engine, publisher, limiter, limits, logger, now, closed: isClosed });
  const dataPlane = createShadowDataPlane({ engine, store, publisher, logger, now, closed: isClosed });

  return {
    ...dataPlane,
    async close() {
      if (closed) return;
      closed = true;
      stopPurge();
      commits.flush();
      await commits.drained();
      await publisher.drained();
      await committer.close();
    },
  };
}
