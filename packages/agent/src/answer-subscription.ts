import type { SubscribeOptions } from '@otafleet/mqtt-client';

/**
 * How the Shadow and Jobs clients subscribe to the answers of their own requests (accepted/rejected): QoS 0.
 * An answer only settles the request waiting for it, matched by clientToken, and a request with no answer times
 * out and is asked again. QoS 1 would buy nothing for that (the agent's sessions are clean, so nothing is queued
 * for it while away) and cost a PUBACK per answer plus the broker's in-flight bookkeeping. The requests stay QoS 1
 * (resent on the next session if the broker never took them), and so do notify-next and the deltas, which no
 * request waits for.
 */
export const ANSWER_SUBSCRIPTION: SubscribeOptions = Object.freeze({ qos: 0 });
