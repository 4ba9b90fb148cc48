/**
 * Shadow requests one connection may have unanswered for one thing: AWS answers 429 to the 11th
 * (https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-error-messages.html). Counted only
 * where the bus knows the publisher's client id (the embedded broker).
 */
export const MAX_IN_FLIGHT_PER_CONNECTION = 10;

export interface InFlightLimiter {
  /** Takes a slot for (client, thing) and returns its key, or undefined when all are taken. */
  tryAcquire(clientId: string, thingName: string): string | undefined;
  release(slot: string): void;
}

export function createInFlightLimiter(max = MAX_IN_FLIGHT_PER_CONNECTION): InFlightLimiter {
  const inFlight = new Map<string, number>();
  return {
    tryAcquire(clientId, thingName) {
      const slot = `${clientId}\u0000${thingName}`;
      const n = inFlight.get(slot) ?? 0;
      if (n >= max) return undefined;
      inFlight.set(slot, n + 1);
      return slot;
    },
    release(slot) {
      const n = (inFlight.get(slot) ?? 1) - 1;
      if (n > 0) inFlight.set(slot, n);
      else inFlight.delete(slot);
    },
  };
}
