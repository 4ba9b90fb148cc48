import { shadowAnswerTopic, type ShadowResponseType, type ShadowUpdateOutcome } from '@otafleet/protocol';
import type { MessageBus } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';

/** Publishes the Shadow service's answers and notifications; close() waits for what the bus has not taken. */
export interface ShadowPublisher {
  /** Publishes `body` on `<requestTopic>/<responseType>`, e.g. `$aws/things/t/shadow/update/accepted`. */
  publish(requestTopic: string, responseType: ShadowResponseType, body: unknown): void;
  /** An accepted update's /accepted, /delta (when there is one) and /documents; `updateTopic` ends in `/update`. */
  publishUpdate(updateTopic: string, outcome: ShadowUpdateOutcome): void;
  /** Resolves once every publish so far was taken by the bus. */
  drained(): Promise<void>;
}

export function createShadowPublisher(bus: MessageBus, logger: Logger): ShadowPublisher {
  // A counter, not a set of promises: this runs for every answer.
  let publishing = 0;
  let onDrained: (() => void) | undefined;
  const published = (): void => {
    if (--publishing === 0) onDrained?.();
  };

  const publish = (requestTopic: string, responseType: ShadowResponseType, body: unknown): void => {
    const topic = shadowAnswerTopic(requestTopic, responseType);
    if (bus.hasSubscribers?.(topic) === false) return; // nobody could receive it: skip building it
    publishing++;
    bus.publish(topic, JSON.stringify(body), { qos: 1 }).then(published, (e: unknown) => {
      logger.error({ err: e, topic }, 'shadow response publish failed');
      published();
    });
  };

  return {
    publish,
    publishUpdate(updateTopic, outcome) {
      publish(updateTopic, 'accepted', outcome.accepted);
      if (outcome.delta !== undefined) publish(updateTopic, 'delta', outcome.delta);
      publish(updateTopic, 'documents', outcome.documents);
    },
    drained: () => (publishing === 0 ? Promise.resolve() : new Promise<void>((resolve) => (onDrained = resolve))),
  };
}
