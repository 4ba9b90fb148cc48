/**
 * Node flags the core process runs with, wherever it is started: `pnpm start`, the `iot-core` bin (its
 * shebang), the process tests and the benchmark server.
 *
 * A 32 MiB young-generation semi-space (V8's default is 16 MiB on 64-bit): every MQTT request allocates
 * short-lived packets, JSON and answers, and with the default the scavenger runs twice as often and
 * promotes more of them to the old generation. Measured: about 10% more shadow updates/s (BENCHMARKS.md),
 * for about 48 MiB more reserved heap.
 */
export const CORE_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=32']);
