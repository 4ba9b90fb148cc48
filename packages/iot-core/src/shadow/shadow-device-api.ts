import {
  parseShadowClientTokenRequest,
  parseShadowTopic,
  SHADOW_REQUEST_FILTERS,
  ShadowErrorMessage,
  shadowError,
  shadowErrorResponse,
  shadowTimestamp,
  type ShadowError,
  type ShadowLimits,
  type ShadowOperation,
} from '@otafleet/protocol';
import type { InboundMessage, MessageBus } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import { internalFailure, type ShadowEngine } from './shadow-engine.js';
import type { ShadowPublisher } from './shadow-publisher.js';
import type { InFlightLimiter } from './shadow-throttle.js';
import type { ShadowKey } from './shadow-store.js';

/** One request being answered: whose shadow, and the request topic its answers extend. */
interface ShadowRequest {
  readonly key: ShadowKey;
  readonly topic: string;
}

export interface ShadowDeviceApiDeps {
  readonly engine: ShadowEngine;
  readonly publisher: ShadowPublisher;
  readonly limiter: InFlightLimiter;
  readonly limits: ShadowLimits;
  readonly logger: Logger;
  readonly now: () => number;
  /** True once the service is closing: requests are then left unanswered, as by a broker going away. */
  readonly closed: () => boolean;
}

/** A request's clientToken, also from a request rejected for its token (AWS echoes whatever was sent). */
const clientTokenOf = (payload: Buffer, limits: ShadowLimits): string | undefined => {
  const token = parseShadowClientTokenRequest(payload, limits);
  return token.ok ? token.value.clientToken : token.error.clientToken;
};

/**
 * The AWS shadow MQTT API: requests on `$aws/things/+/shadow/...` answered on their /accepted, /rejected,
 * /delta and /documents topics, every answer published after its batch is committed, in request order.
 */
export async function subscribeShadowDeviceApi(bus: MessageBus, deps: ShadowDeviceApiDeps): Promise<void> {
  const { engine, publisher, limiter, limits, logger, now } = deps;

  /** Rejections wait for the batch too, so a client sees its answers in request order. */
  const reject = (request: ShadowRequest, error: ShadowError, timestamp: number): void => {
    logger.debug({ topic: request.topic, code: error.code, reason: error.message }, 'shadow request rejected');
    const send = (): void => publisher.publish(request.topic, 'rejected', shadowErrorResponse(error, timestamp));
    engine.afterCommit(send, send);
  };

  const handle = (request: ShadowRequest, operation: ShadowOperation, payload: Buffer, timestamp: number): void => {
    const { key } = request;
    switch (operation) {
      case 'update':
        return engine.update(key, payload, timestamp, (r) => {
          if (r.ok) publisher.publishUpdate(request.topic, r.value);
          else reject(request, r.error, timestamp);
        });
      case 'get': {
        const body = parseShadowClientTokenRequest(payload, limits);
        if (!body.ok) return reject(request, body.error, timestamp);
        const doc = engine.get(key, body.value.clientToken, timestamp);
        if (!doc.ok) return reject(request, doc.error, timestamp);
        return engine.afterCommit(
          () => publisher.publish(request.topic, 'accepted', doc.value),
          () => {
            const error = internalFailure(body.value.clientToken);
            publisher.publish(request.topic, 'rejected', shadowErrorResponse(error, timestamp));
          },
        );
      }
      case 'delete': {
        const body = parseShadowClientTokenRequest(payload, limits);
        if (!body.ok) return reject(request, body.error, timestamp);
        return engine.delete(key, body.value.clientToken, timestamp, (r) => {
          if (r.ok) publisher.publish(request.topic, 'accepted', r.value.accepted);
          else reject(request, r.error, timestamp);
        });
      }
    }
  };

  const onRequest = (message: InboundMessage): void => {
    if (deps.closed()) return;
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
    let slot: string | undefined;
    if (message.clientId !== undefined) {
      slot = limiter.tryAcquire(message.clientId, thingName);
      if (slot === undefined) {
        const error = shadowError(429, ShadowErrorMessage.tooManyRequests, clientTokenOf(message.payload, limits));
        return reject(request, error, timestamp);
      }
    }
    try {
      handle(request, operation, message.payload, timestamp);
    } catch (e) {
      logger.error({ err: e, ...key, operation }, 'shadow request failed');
      reject(request, internalFailure(clientTokenOf(message.payload, limits)), timestamp);
    }
    // Every answer is sent from an afterCommit callback registered above; this one runs right after it.
    if (slot !== undefined) {
      const taken = slot;
      engine.afterCommit(
        () => limiter.release(taken),
        () => limiter.release(taken),
      );
    }
  };

  for (const filter of SHADOW_REQUEST_FILTERS) await bus.subscribe(filter, onRequest);
}
