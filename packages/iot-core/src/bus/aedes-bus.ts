import type { Aedes, AedesPublishPacket, Client } from 'aedes';
import type { Logger } from 'pino';
import type { MessageBus, MessageHandler, PublishOptions } from '@otafleet/mqtt-client';
import { compileTopicFilter } from '@otafleet/protocol';
import { SubscriptionIndex } from './subscription-index.js';

// aedes keeps these at runtime but leaves them out of its type declarations.
type AedesInternals = Aedes & { readonly clients: Record<string, Client | undefined> };

interface Route {
  readonly matches: (topic: string) => boolean;
  readonly handler: MessageHandler;
}

/**
 * The in-process bus over the embedded aedes broker: handlers see every client publish (with the
 * publisher's client id) without a network hop, and replies can go to one client only.
 *
 * `subscriptions` is the broker's index of who holds which filter (`EmbeddedBroker.subscriptions`); without
 * it the bus makes its own, which knows only subscriptions made after this call.
 */
export function createAedesBus(
  aedes: Aedes,
  logger: Logger,
  subscriptions: SubscriptionIndex = new SubscriptionIndex(aedes),
): MessageBus {
  const routes: Route[] = [];
  const onPublish = (packet: AedesPublishPacket, client: Client | null): void => {
    if (client === null) return; // our own publishes and $SYS
    for (const route of routes) {
      if (!route.matches(packet.topic)) continue;
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      try {
        const done = route.handler({ topic: packet.topic, payload, clientId: client.id });
        if (done instanceof Promise)
          done.catch((e: unknown) => logger.error({ err: e, topic: packet.topic }, 'bus handler failed'));
      } catch (e) {
        logger.error({ err: e, topic: packet.topic }, 'bus handler failed');
      }
    }
  };
  aedes.on('publish', onPublish);

  const publishToClient = (client: Client, topic: string, payload: Buffer | string, qos: 0 | 1): Promise<void> =>
    new Promise((resolve, reject) => {
      const granted = subscriptions.grantedQos(client, topic);
      if (granted === undefined) {
        resolve();
        return;
      }
      // At the lower of the two, as MQTT delivers (a QoS 0 subscriber wants no PUBACK round).
      const at = granted < qos ? granted : qos;
      client.publish({ cmd: 'publish', topic, payload, qos: at, retain: false, dup: false }, (e?: Error) =>
        e ? reject(e) : resolve(),
      );
    });

  return {
    subscribe(filter: string, handler: MessageHandler): Promise<void> {
      routes.push({ matches: compileTopicFilter(filter), handler });
      return Promise.resolve();
    },
    publish(topic: string, payload: Buffer | string, options: PublishOptions = {}): Promise<void> {
      // Strings go to the broker as they are: the packet writer encodes them straight into the socket.
      const body = payload;
      const qos = options.qos ?? 1;
      if (options.onlyToClientId !== undefined) {
        const client = (aedes as AedesInternals).clients[options.onlyToClientId];
        return client ? publishToClient(client, topic, body, qos) : Promise.resolve();
      }
      return new Promise((resolve, reject) => {
        aedes.publish({ cmd: 'publish', topic, payload: body, qos, retain: false, dup: false }, (e?: Error) =>
          e ? reject(e) : resolve(),
        );
      });
    },
    hasSubscribers: (topic: string): boolean => subscriptions.hasSubscribers(topic),
    close(): Promise<void> {
      aedes.removeListener('publish', onPublish);
      routes.length = 0;
      return Promise.resolve();
    },
  };
}
