/** Names shared by the benchmark server fixture and the load clients. */
export const BENCH_JOB_ID = 'bench';
export const BENCH_THING_GROUP = 'bench-fleet';

/** Thing name and MQTT client id of load client `i`. */
export const benchThingName = (i: number): string => `bench-${i}`;
