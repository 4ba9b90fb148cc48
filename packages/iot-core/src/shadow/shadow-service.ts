import {
  DEFAULT_SHADOW_LIMITS,
  DELETED_SHADOW_VERSION_RETENTION_SECONDS,
  SHADOW_REQUEST_FILTERS,
  ShadowErrorMessage,
  applyShadowUpdate,
  describeIssues,
  shadowLimitsOverrideValidator,
  checkShadowName,
  checkThingName,
  deleteShadowDocument,
  getShadowDocument,
  parseShadowClientTokenRequest,
  parseShadowTopic,
  parseShadowUpdateRequest,
  resolveShadowLimits,
  shadowAnswerTopic,
  shadowError,
  shadowErrorResponse,
  shadowTimestamp,
  shadowTopic,
  type Result,
  type ShadowError,
  type ShadowLimits,
  type ShadowOperation,
  type ShadowResponseType,
  type ShadowUpdateOutcome,
} from '@otafleet/protocol';
import type { Logger } from 'pino';
import { AwsServiceError, isAwsServiceError } from '../aws-error.js';
import type { InboundMessage, MessageBus } from '@otafleet/mqtt-client';
import type { Db } from '../db.js';
import type { ShadowControlPlane } from '../service-contracts.js';
import { shadowErrorToAwsServiceError } from './aws-errors.js';
import { createDurableCommitter } from '../durable-commit.js';
import { GroupCommit } from './group-commit.js';
import { openShadowStore, type ShadowKey } from './shadow-store.js';
import { nameCursorTokens } from '../page-token.js';

export interface ShadowServiceOptions {
  readonly db: Db;
  readonly bus: MessageBus;
  readonly logger: Logger;
  readonly limits?: Partial<ShadowLimits>;
  /** Clock in epoch milliseconds; shadow timestamps are its seconds. */
  readonly now?: () => number;
}

export type ShadowService = ShadowControlPlane & { close(): Promise<void> };

/** Bad options given to createShadowService: fails at start, saying what to fix. */
export class ShadowServiceOptionsError extends Error {
  override readonly name = 'ShadowServiceOptionsError';
  readonly code = 'InvalidShadowServiceOptions';
}

/** One request being answered: whose shadow, and the request topic its answers extend. */
interface ShadowRequest {
  readonly key: ShadowKey;
  readonly topic: string;
}

const TOMBSTONE_PURGE_INTERVAL_MS = 60 * 60 * 1000;
/** Shadow requests one connection may have unanswered for one thing; more are answered 429, as AWS does. */
const MAX_IN_FLIGHT_PER_CONNECTION = 10;
const DEFAULT_PAGE_SIZE = 25;
const MAX_PAGE_SIZE = 100;

/**
 * The local Device Shadow service: answers the AWS shadow MQTT API on the bus and the HTTP data-plane
 * calls, with the protocol package's algebra; every answer is published only after its batch is
 * committed to SQLite.
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
  const commits = new GroupCommit(store, committer);
  // Publishes not yet taken by the bus: close() waits for them. A counter, not a set of promises, because
  // this runs for every answer.
  let publishing = 0;
  let publishesDrained: (() => void) | undefined;
  const published = (): void => {
    if (--publishing === 0) publishesDrained?.();
  };
  let closed = false;

  /** Publishes `body` on `<requestTopic>/<responseType>`, e.g. `$aws/things/t/shadow/update/accepted`. */
  const publish = (requestTopic: string, responseType: ShadowResponseType, body: unknown): void => {
    const topic = shadowAnswerTopic(requestTopic, responseType);
    if (bus.hasSubscribers?.(topic) === false) return; // nobody could receive it: skip building it
    publishing++;
    bus.publish(topic, JSON.stringify(body), { qos: 1 }).then(published, (e: unknown) => {
      logger.error({ err: e, topic }, 'shadow response publish failed');
      published();
    });
  };

  /** `updateTopic` is the request topic `.../shadow[/name/<n>]/update`. */
  const publishUpdate = (updateTopic: string, outcome: ShadowUpdateOutcome): void => {
    publish(updateTopic, 'accepted', outcome.accepted);
    if (outcome.delta !== undefined) publish(updateTopic, 'delta', outcome.delta);
    publish(updateTopic, 'documents', outcome.documents);
  };

  const internalFailure = (clientToken: string | undefined): ShadowError =>
    shadowError(500, ShadowErrorMessage.internalFailure, clientToken);

  /** Rejections wait for the batch too, so a client sees its answers in request order. */
  const reject = (request: ShadowRequest, error: ShadowError, timestamp: number): void => {
    logger.debug({ topic: request.topic, code: error.code, reason: error.message }, 'shadow request rejected');
    const send = (): void => publish(request.topic, 'rejected', shadowErrorResponse(error, timestamp));
    commits.afterCommit(send, send);
  };

  /** Stages one update; resolves its outcome once durable. Shared by MQTT and HTTP. */
  const stageUpdate = (
    key: ShadowKey,
    payload: Buffer,
    timestamp: number,
    done: (r: Result<ShadowUpdateOutcome, ShadowError>) => void,
  ): void => {
    const request = parseShadowUpdateRequest(payload, limits);
    if (!request.ok) return done(request);
    const outcome = applyShadowUpdate(commits.read(key), request.value, timestamp, limits);
    if (!outcome.ok) return done(outcome);
    commits.write({ key, shadow: outcome.value.shadow, updatedAt: timestamp, stateJson: outcome.value.stateJson });
    commits.afterCommit(
      () => done(outcome),
      (e: unknown) => {
        logger.error({ err: e, ...key }, 'shadow commit failed');
        done({ ok: false, error: internalFailure(request.value.clientToken) });
      },
    );
  };

  // Requests answered not yet, per connection and thing: AWS answers 429 to the 11th
  // (https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-error-messages.html). Counted only
  // where the bus knows the publisher's client id (the embedded broker).
  const inFlight = new Map<string, number>();
  const release = (slot: string): void => {
    const n = (inFlight.get(slot) ?? 1) - 1;
    if (n > 0) inFlight.set(slot, n);
    else inFlight.delete(slot);
  };

  const onRequest = (message: InboundMessage): void => {
    if (closed) return;
    const topic = parseShadowTopic(message.topic);
    if (!topic.ok || topic.value.responseType !== undefined) {
      logger.debug({ topic: message.topic }, 'ignored non-request shadow topic');
      return;
    }
    const { thingName, shadowName, operation } = topic.value;
    const key: ShadowKey = shadowName === undefined ? { thingName } : { thingName, shadowName };
    // The request topic is the prefix of every answer's topic; no need to build it again.
    const request: ShadowRequest = { key, topic: message.topic };
    const timestamp = shadowTimestamp(now());
    const slot = message.clientId === undefined ? undefined : `${message.clientId}\u0000${thingName}`;
    if (slot !== undefined) {
      const n = inFlight.get(slot) ?? 0;
      if (n >= MAX_IN_FLIGHT_PER_CONNECTION) {
        const token = parseShadowClientTokenRequest(message.payload, limits);
        const clientToken = token.ok ? token.value.clientToken : undefined;
        return reject(request, shadowError(429, ShadowErrorMessage.tooManyRequests, clientToken), timestamp);
      }
      inFlight.set(slot, n + 1);
    }
    try {
      handleRequest(request, operation, message.payload, timestamp);
    } catch (e) {
      logger.error({ err: e, ...key, operation }, 'shadow request failed');
      reject(request, internalFailure(undefined), timestamp);
    }
    // Every answer is sent from an afterCommit callback registered above; this one runs right after it.
    if (slot !== undefined)
      commits.afterCommit(
        () => release(slot),
        () => release(slot),
      );
  };

  const handleRequest = (
    request: ShadowRequest,
    operation: ShadowOperation,
    payload: Buffer,
    timestamp: number,
  ): void => {
    const { key } = request;
    switch (operation) {
      case 'update':
        return stageUpdate(key, payload, timestamp, (r) => {
          if (r.ok) publishUpdate(request.topic, r.value);
          else reject(request, r.error, timestamp);
        });
      case 'get': {
        const body = parseShadowClientTokenRequest(payload, limits);
        if (!body.ok) return reject(request, body.error, timestamp);
        const doc = getShadowDocument(commits.read(key), key, body.value.clientToken, timestamp);
        if (!doc.ok) return reject(request, doc.error, timestamp);
        const send = (): void => publish(request.topic, 'accepted', doc.value);
        return commits.afterCommit(send, () => {
          const error = internalFailure(body.value.clientToken);
          publish(request.topic, 'rejected', shadowErrorResponse(error, timestamp));
        });
      }
      case 'delete': {
        const body = parseShadowClientTokenRequest(payload, limits);
        if (!body.ok) return reject(request, body.error, timestamp);
        const outcome = deleteShadowDocument(commits.read(key), key, body.value.clientToken, timestamp);
        if (!outcome.ok) return reject(request, outcome.error, timestamp);
        commits.write({ key, shadow: outcome.value.shadow, updatedAt: timestamp });
        return commits.afterCommit(
          () => publish(request.topic, 'accepted', outcome.value.accepted),
          (e: unknown) => {
            logger.error({ err: e, ...key }, 'shadow commit failed');
            const error = internalFailure(body.value.clientToken);
            publish(request.topic, 'rejected', shadowErrorResponse(error, timestamp));
          },
        );
      }
    }
  };

  // Tombstones past the 48 h version memory are dead weight: drop them at start and then every hour.
  const purgeTombstones = (): void => {
    try {
      const purged = store.purgeTombstones(shadowTimestamp(now()) - DELETED_SHADOW_VERSION_RETENTION_SECONDS);
      if (purged > 0) logger.info({ purged }, 'shadow tombstones older than 48 h removed');
    } catch (e) {
      logger.error({ err: e }, 'shadow tombstone purge failed');
    }
  };
  purgeTombstones();
  const purgeTimer = setInterval(purgeTombstones, TOMBSTONE_PURGE_INTERVAL_MS);
  purgeTimer.unref();

  for (const filter of SHADOW_REQUEST_FILTERS) await bus.subscribe(filter, onRequest);

  const keyFor = (thingName: string, shadowName: string | undefined): ShadowKey => {
    if (checkThingName(thingName) !== undefined) {
      throw new AwsServiceError('InvalidRequestException', 400, `Invalid thing name: ${thingName}`);
    }
    if (shadowName === undefined) return { thingName };
    if (checkShadowName(shadowName) !== undefined) {
      throw new AwsServiceError('InvalidRequestException', 400, `Invalid shadow name: ${shadowName}`);
    }
    return { thingName, shadowName };
  };

  /** Unexpected failures (SQLite, corrupt rows) become AWS's 500, logged with their cause. */
  const guarded = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (isAwsServiceError(e)) throw e;
      logger.error({ err: e }, 'shadow control-plane call failed');
      throw shadowErrorToAwsServiceError(internalFailure(undefined));
    }
  };

  const assertOpen = (): void => {
    if (closed) throw new AwsServiceError('ServiceUnavailableException', 503, 'The shadow service is shutting down');
  };

  return {
    getThingShadow(thingName, shadowName) {
      assertOpen();
      const key = keyFor(thingName, shadowName);
      // Committed state only: what a reader sees was acknowledged.
      const doc = guarded(() => getShadowDocument(store.load(key), key, undefined, shadowTimestamp(now())));
      if (!doc.ok) throw shadowErrorToAwsServiceError(doc.error);
      return Buffer.from(JSON.stringify(doc.value));
    },

    async updateThingShadow(thingName, shadowName, payload) {
      assertOpen();
      const key = keyFor(thingName, shadowName);
      return await new Promise<Buffer>((resolve, reject) => {
        guarded(() =>
          stageUpdate(key, payload, shadowTimestamp(now()), (r) => {
            if (!r.ok) return reject(shadowErrorToAwsServiceError(r.error));
            publishUpdate(shadowTopic({ ...key, operation: 'update' }), r.value);
            resolve(Buffer.from(JSON.stringify(r.value.accepted)));
          }),
        );
      });
    },

    async deleteThingShadow(thingName, shadowName) {
      assertOpen();
      const key = keyFor(thingName, shadowName);
      const timestamp = shadowTimestamp(now());
      const outcome = guarded(() => deleteShadowDocument(commits.read(key), key, undefined, timestamp));
      if (!outcome.ok) throw shadowErrorToAwsServiceError(outcome.error);
      commits.write({ key, shadow: outcome.value.shadow, updatedAt: timestamp });
      return await new Promise<Buffer>((resolve, reject) => {
        commits.afterCommit(
          () => {
            publish(shadowTopic({ ...key, operation: 'delete' }), 'accepted', outcome.value.accepted);
            resolve(Buffer.from(JSON.stringify(outcome.value.accepted)));
          },
          (e: unknown) => {
            logger.error({ err: e, ...key }, 'shadow commit failed');
            reject(shadowErrorToAwsServiceError(internalFailure(undefined)));
          },
        );
      });
    },

    listNamedShadowsForThing(thingName, page) {
      assertOpen();
      keyFor(thingName, undefined);
      const pageSize = page.pageSize ?? DEFAULT_PAGE_SIZE;
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
        throw new AwsServiceError('InvalidRequestException', 400, `pageSize must be between 1 and ${MAX_PAGE_SIZE}`);
      }
      const after = namedShadowTokens.decode(page.nextToken, thingName) ?? '';
      const names = guarded(() => store.listNamed(thingName, after, pageSize + 1));
      const results = names.slice(0, pageSize);
      const last = results[results.length - 1];
      const timestamp = shadowTimestamp(now());
      return names.length > pageSize && last !== undefined
        ? { results, nextToken: namedShadowTokens.encode(last, thingName), timestamp }
        : { results, timestamp };
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purgeTimer);
      commits.flush();
      await commits.drained();
      if (publishing > 0) await new Promise<void>((resolve) => (publishesDrained = resolve));
      await committer.close();
    },
  };
}

const namedShadowTokens = nameCursorTokens('ListNamedShadowsForThing');
