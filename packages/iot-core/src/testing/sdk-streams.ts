/** Helpers for tests that drive the core with aws-iot-device-sdk-v2. */

/** Rejects with `what` named if `p` has not settled within `ms`. */
export const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_r, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)),
  ]);

interface SdkStream<M> {
  on(event: 'subscriptionStatus', listener: (e: { type: unknown }) => void): unknown;
  on(event: 'incomingPublish', listener: (e: { message: M }) => void): unknown;
  open(): void;
}

/**
 * Opens a v2 service client's streaming operation, collects its messages and resolves once the subscription
 * is established. (SubscriptionStatusEventType.SubscriptionEstablished is 0; its enum lives in aws-crt.)
 */
export async function openStream<M>(stream: SdkStream<M>, what: string): Promise<M[]> {
  const messages: M[] = [];
  const established = new Promise<void>((resolve) =>
    stream.on('subscriptionStatus', (e) => {
      if (Number(e.type) === 0) resolve();
    }),
  );
  stream.on('incomingPublish', (e) => messages.push(e.message));
  stream.open();
  await within(established, 5000, what);
  return messages;
}
