import {
  checkShadowName,
  checkThingName,
  getShadowDocument,
  shadowTimestamp,
  shadowTopic,
  type ShadowError,
} from '@otafleet/protocol';
import type { Logger } from 'pino';
import { AwsServiceError, isAwsServiceError } from '../aws-error.js';
import { nameCursorTokens } from '../page-token.js';
import type { ShadowControlPlane } from '../service-contracts.js';
import { shadowErrorToAwsServiceError } from './aws-errors.js';
import { internalFailure, type ShadowEngine } from './shadow-engine.js';
import type { ShadowPublisher } from './shadow-publisher.js';
import type { ShadowKey, ShadowStore } from './shadow-store.js';

const DEFAULT_PAGE_SIZE = 25;
const MAX_PAGE_SIZE = 100;
const namedShadowTokens = nameCursorTokens('ListNamedShadowsForThing');

export interface ShadowDataPlaneDeps {
  readonly engine: ShadowEngine;
  readonly store: ShadowStore;
  readonly publisher: ShadowPublisher;
  readonly logger: Logger;
  readonly now: () => number;
  readonly closed: () => boolean;
}

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

/**
 * The HTTP data plane (GetThingShadow, UpdateThingShadow, DeleteThingShadow, ListNamedShadowsForThing): AWS
 * service errors instead of /rejected answers; an accepted update or delete also publishes its MQTT answers.
 */
export function createShadowDataPlane(deps: ShadowDataPlaneDeps): ShadowControlPlane {
  const { engine, store, publisher, logger, now } = deps;

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
    if (deps.closed())
      throw new AwsServiceError('ServiceUnavailableException', 503, 'The shadow service is shutting down');
  };
  const toAws = (error: ShadowError): AwsServiceError => shadowErrorToAwsServiceError(error);

  return {
    getThingShadow(thingName, shadowName) {
      assertOpen();
      const key = keyFor(thingName, shadowName);
      // Committed state only: what a reader sees was acknowledged.
      const doc = guarded(() => getShadowDocument(store.load(key), key, undefined, shadowTimestamp(now())));
      if (!doc.ok) throw toAws(doc.error);
      return Buffer.from(JSON.stringify(doc.value));
    },

    async updateThingShadow(thingName, shadowName, payload) {
      assertOpen();
      const key = keyFor(thingName, shadowName);
      return await new Promise<Buffer>((resolve, reject) => {
        guarded(() =>
          engine.update(key, payload, shadowTimestamp(now()), (r) => {
            if (!r.ok) return reject(toAws(r.error));
            publisher.publishUpdate(shadowTopic({ ...key, operation: 'update' }), r.value);
            resolve(Buffer.from(JSON.stringify(r.value.accepted)));
          }),
        );
      });
    },

    async deleteThingShadow(thingName, shadowName) {
      assertOpen();
      const key = keyFor(thingName, shadowName);
      return await new Promise<Buffer>((resolve, reject) => {
        guarded(() =>
          engine.delete(key, undefined, shadowTimestamp(now()), (r) => {
            if (!r.ok) return reject(toAws(r.error));
            publisher.publish(shadowTopic({ ...key, operation: 'delete' }), 'accepted', r.value.accepted);
            resolve(Buffer.from(JSON.stringify(r.value.accepted)));
          }),
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
  };
}
