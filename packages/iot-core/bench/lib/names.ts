/** Names shared by the benchmark server fixture and the load clients. */
export const BENCH_JOB_ID = 'bench';
export const BENCH_THING_GROUP = 'bench-fleet';

/** Thing name and MQTT client id of load client `i`. */
export const benchThingName = (i: number): string => `bench-${i}`;

/** The control plane's region and access key in the registry benchmark and its crash test. */
export const BENCH_REGION = 'us-east-1';
export const BENCH_CREDENTIALS = {
  accessKeyId: 'AKIDBENCHREGISTRY001',
  secretAccessKey: 'bench-registry-secret-not-for-use',
} as const;
