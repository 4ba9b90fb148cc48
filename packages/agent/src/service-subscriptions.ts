import type { SubscribeOptions } from '@otafleet/mqtt-client';

/**
 * How the agent subscribes to the AWS IoT services' answers and notifications (Jobs, Device Shadow): QoS 0.
 * The agent's MQTT sessions are clean (a new session on every connection), so a QoS 1 delivery lost with its
 * connection is never delivered again either, and over one connection TCP already delivers in order: QoS 1 would
 * add only a PUBACK per message and the broker's in-flight bookkeeping (a third of a boot's packets). What a
 * dropped connection loses is recovered by design: every request times out and is asked again, and every new
 * connection asks the services afresh ($next/get, the shadows' get). The agent's own publishes stay QoS 1.
 */
export const SERVICE_SUBSCRIPTION: SubscribeOptions = { qos: 0 };
