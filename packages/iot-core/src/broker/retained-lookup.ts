import { Readable } from 'node:stream';
import type { Aedes } from 'aedes';

// The two aedes persistence methods retained messages go through (aedes-persistence's memory store).
type RetainedPersistence = {
  storeRetained(packet: { readonly topic: string; readonly payload: Buffer | string }): Promise<unknown>;
  createRetainedStreamCombi(patterns: string[]): Readable;
};

/**
 * aedes looks up retained messages for every filter of every SUBSCRIBE, and the memory store answers each by
 * building a matcher for the filter and scanning every retained message: a device's dozen filters cost a dozen
 * matchers at each connect, though a fleet rarely retains anything. This counts the retained topics (an empty
 * payload clears one, as MQTT says) and answers "none" without the lookup while there are none.
 */
export function skipRetainedLookupWhileNoneKept(aedes: Aedes): void {
  const persistence = (aedes as unknown as { persistence: RetainedPersistence }).persistence;
  const kept = new Set<string>();
  const store = persistence.storeRetained.bind(persistence);
  persistence.storeRetained = (packet) => {
    if (packet.payload.length === 0) kept.delete(packet.topic);
    else kept.add(packet.topic);
    return store(packet);
  };
  const lookup = persistence.createRetainedStreamCombi.bind(persistence);
  persistence.createRetainedStreamCombi = (patterns) => (kept.size === 0 ? Readable.from([]) : lookup(patterns));
}
