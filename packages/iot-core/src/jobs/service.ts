import { randomBytes } from 'node:crypto';
import { executionTransition, JOBS_REQUEST_FILTER } from '@otafleet/protocol';
import type { Logger } from 'pino';
import type { InboundMessage, MessageBus } from '@otafleet/mqtt-client';
import type { Db } from '../db.js';
import { thingGroupArn, type ArnContext, type MembershipChange, type ThingRegistryView } from '../registry-types.js';
import type { JobsControlPlane } from '../service-contracts.js';
import { createJobsControlPlane, type Transact } from './control-plane.js';
import { createJobTargetOperations } from './control-plane-targets.js';
import { DeviceApi } from './device-api.js';
import { JobsEngine, TxChanges } from './engine.js';
import { EventConfigurations } from './event-configurations.js';
import { JobEvents } from './job-events.js';
import { JobScheduler } from './job-schedule.js';
import { JobTemplates } from './job-templates.js';
import { migrateJobs } from './schema.js';
import { JobsStore } from './store.js';
import { stillTargeted } from './targets.js';
import type { Outbound } from './wire.js';
import type { S3PresignTarget } from './s3-presign.js';
import { createDurableCommitter } from '../durable-commit.js';

export interface JobsServiceOptions {
  readonly db: Db;
  readonly bus: MessageBus;
  readonly registry: ThingRegistryView;
  readonly arn: ArnContext;
  readonly logger: Logger;
  /** Clock in epoch milliseconds; tests pass their own to drive timeouts and rollout rates. */
  readonly now?: () => number;
  /** How often timeouts and rollout releases are checked (ms, default 1000). */
  readonly tickIntervalMs?: number;
  /**
   * Key of the signed bundle URLs that replace `${aws:iot:s3-presigned-url:…}` in job documents (see
   * presigned-url.ts); the bundle store verifies with the same key. Default: a random key for this process.
   */
  readonly presignedUrlKey?: Uint8Array;
  /** An S3-compatible endpoint: S3 object URLs in placeholders become SigV4-presigned GETs on it (s3-presign.ts). */
  readonly s3Presign?: S3PresignTarget;
}

export type JobsService = JobsControlPlane & { close(): Promise<void> };

/**
 * The local AWS IoT Jobs service: the device MQTT API on the bus and the control-plane operations.
 * Device requests are applied in group commits: every request that arrived in one event-loop turn is
 * applied in one SQLite transaction, and the responses are published only after it committed.
 */
export async function createJobsService(opts: JobsServiceOptions): Promise<JobsService> {
  const { db, bus, registry, arn } = opts;
  const logger = opts.logger.child({ component: 'jobs' });
  const now = opts.now ?? Date.now;
  migrateJobs(db);
  const store = new JobsStore(db);
  const committer = createDurableCommitter(db);
  const eventConfigurations = new EventConfigurations(db, now);
  const events = new JobEvents(eventConfigurations, registry, arn);
  const engine = new JobsEngine(store, now, logger, opts.presignedUrlKey ?? randomBytes(32), events, opts.s3Presign);
  const deviceApi = new DeviceApi(engine);
  const scheduler = new JobScheduler(engine);
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  const publishAll = (out: readonly Outbound[]): Promise<void> => {
    // Notifications nobody could receive (device offline with a clean session) are not sent at all.
    const wanted = out.filter((o) => o.clientId !== undefined || bus.hasSubscribers?.(o.topic) !== false);
    const sends = wanted.map((o) =>
      bus
        .publish(o.topic, o.payload, o.clientId !== undefined ? { qos: 1, onlyToClientId: o.clientId } : { qos: 1 })
        .catch((e: unknown) => logger.warn({ err: e, topic: o.topic }, 'jobs publish failed')),
    );
    const all = Promise.all(sends).then(() => undefined);
    inFlight.add(all);
    void all.finally(() => inFlight.delete(all));
    return all;
  };

  const runTx = db.transaction((fn: (tx: TxChanges) => unknown) => {
    const tx = new TxChanges();
    const value = fn(tx);
    engine.settle(tx);
    return { value, outbound: tx.outbound };
  });

  const transact: Transact = async <T>(fn: (tx: TxChanges) => T): Promise<T> => {
    let result: { value: unknown; outbound: Outbound[] };
    try {
      result = runTx(fn);
    } catch (e) {
      store.reloadAll();
      throw e;
    }
    await publishAll(result.outbound);
    return result.value as T;
  };

  // ---- device requests: group commit per event-loop turn ----
  let queue: InboundMessage[] = [];
  let scheduled = false;
  // A batch runs without a savepoint per request (two statements each). Requests fail only on unexpected
  // errors (bad input is answered, not thrown); then the batch is rolled back and run again with one
  // savepoint per request, so only the failing request is lost and answered 500.
  const applyBatch = db.transaction((batch: readonly InboundMessage[]) => {
    const tx = new TxChanges();
    for (const m of batch) deviceApi.handle(tx, m);
    engine.settle(tx);
    return tx.outbound;
  });
  const handleOne = db.transaction((tx: TxChanges, m: InboundMessage) => deviceApi.handle(tx, m));
  const applyBatchIsolated = db.transaction((batch: readonly InboundMessage[]) => {
    const tx = new TxChanges();
    for (const m of batch) {
      try {
        handleOne(tx, m);
      } catch (e) {
        logger.error({ err: e, topic: m.topic }, 'jobs request failed');
        store.reloadAll(); // its savepoint was rolled back: drop what it left in the caches
        const reply = deviceApi.internalError(m);
        if (reply) tx.outbound.push(reply);
      }
    }
    engine.settle(tx);
    return tx.outbound;
  });
  const commitBatch = (batch: readonly InboundMessage[]): { value: Outbound[]; durable: Promise<void> } => {
    try {
      return committer.commit(() => applyBatch(batch));
    } catch (e) {
      logger.warn({ err: e, size: batch.length }, 'jobs batch failed; running it again request by request');
      store.reloadAll(); // the rolled-back batch may have left its changes in the job cache
      return committer.commit(() => applyBatchIsolated(batch));
    }
  };
  const internalErrors = (batch: readonly InboundMessage[]): Outbound[] =>
    batch.map((m) => deviceApi.internalError(m)).filter((o): o is Outbound => o !== undefined);
  const flush = (): void => {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    let out: Outbound[];
    let durable: Promise<void>;
    try {
      ({ value: out, durable } = commitBatch(batch));
    } catch (e) {
      logger.error({ err: e, size: batch.length }, 'jobs batch commit failed');
      store.reloadAll();
      void publishAll(internalErrors(batch));
      return;
    }
    // Answers and notifications leave only once the batch is on disk (the WAL sync runs off the event loop).
    const answered = durable.then(
      () => publishAll(out),
      (e: unknown) => {
        logger.error({ err: e, size: batch.length }, 'jobs batch sync failed');
        return publishAll(internalErrors(batch));
      },
    );
    inFlight.add(answered);
    void answered.finally(() => inFlight.delete(answered));
  };
  await bus.subscribe(JOBS_REQUEST_FILTER, (m) => {
    if (closed) return;
    queue.push(m);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });

  // ---- timers: timeouts and rollout releases ----
  const tick = (): void => {
    if (closed) return;
    transact((tx) => {
      scheduler.apply(tx);
      for (const e of store.dueTimeouts(now())) engine.changeStatus(tx, e, { event: 'timeout' });
      for (const jobId of store.jobsWithUnreleased()) engine.release(tx, jobId);
    }).catch((e: unknown) => logger.error({ err: e }, 'jobs tick failed'));
  };
  const timer = setInterval(tick, opts.tickIntervalMs ?? 1000);
  timer.unref();

  // ---- CONTINUOUS jobs follow group membership ----
  const onMembership = (change: MembershipChange): void => {
    if (closed) return;
    const groupArn =
      registry.getThingGroup(change.thingGroupName)?.thingGroupArn ?? thingGroupArn(arn, change.thingGroupName);
    // A CONTINUOUS job takes new members while it rolls out, or waits SCHEDULED for its next window.
    const following = store
      .allJobs()
      .filter(
        (job) =>
          job.targetSelection === 'CONTINUOUS' &&
          !job.scheduleEnded &&
          (job.status === 'IN_PROGRESS' || job.status === 'SCHEDULED') &&
          job.targets.includes(groupArn),
      );
    // Bulk registration with no job following the group costs no transaction per membership.
    if (following.length === 0) return;
    transact((tx) => {
      for (const job of following) {
        const current = store.execution(job.jobId, change.thingName);
        if (change.kind === 'added') {
          if (current !== undefined) continue;
          engine.createExecution(tx, job.jobId, change.thingName, 1, false);
          engine.release(tx, job.jobId);
        } else if (
          current !== undefined &&
          executionTransition(current.status, 'remove') !== undefined &&
          !stillTargeted(registry, arn, job, change.thingName, change.thingGroupName)
        ) {
          engine.changeStatus(tx, current, { event: 'remove' });
        }
      }
    }).catch((e: unknown) => logger.error({ err: e, change }, 'jobs membership change failed'));
  };
  const unsubscribe = registry.onMembershipChange(onMembership);

  const templates = new JobTemplates(db, store, arn, now);
  const controlPlane: JobsControlPlane = {
    ...createJobsControlPlane({
      engine,
      registry,
      arn,
      transact,
      scheduler,
      templateForArn: (templateArn) => templates.forArn(templateArn),
    }),
    ...createJobTargetOperations({ engine, registry, arn, transact }),
    createJobTemplate: (input) => templates.create(input),
    describeJobTemplate: (input) => templates.describe(input),
    listJobTemplates: (input) => templates.list(input),
    deleteJobTemplate: (input) => templates.delete(input),
    updateEventConfigurations: (input) => eventConfigurations.update(input),
    describeEventConfigurations: () => eventConfigurations.describe(),
  };
  return {
    ...controlPlane,
    async close(): Promise<void> {
      if (closed) return;
      flush();
      closed = true;
      clearInterval(timer);
      unsubscribe();
      await Promise.allSettled([...inFlight]);
      await Promise.allSettled([...inFlight]); // publishes started by syncs that just finished
      await committer.close();
    },
  };
}
