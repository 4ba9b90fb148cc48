/**
 * `@otafleet/iot-core/testing`: what other packages' tests need to run against a real local core — a whole core
 * on free ports (`startTestCore`), identities from its CA, Mosquitto, MQTT clients, signed HTTP, a hand-moved
 * clock. Everything here logs silently unless given a logger. Not for production code.
 */
export { startTestCore, type TestCore, type TestCoreOptions, type TestIdentity } from './test-core.js';
export { createTestPki, type Credential, type TestPki } from './test-pki.js';
export { TestClock } from './test-clock.js';
export { silentLogger } from './silent-logger.js';
export {
  findMosquitto,
  freePort,
  requireMosquitto,
  startMosquitto,
  startTlsMosquitto,
  type MosquittoProcess,
  type TestMosquittoTls,
} from './mosquitto.js';
export { connectClient, nextMessage, tcpClientPool, type TcpClientPool } from './mqtt.js';
export {
  closed,
  collect,
  connectTls,
  endAll,
  sleep,
  subscribeCodes,
  tryConnectTls,
  type ConnectOutcome,
  type TlsClientOptions,
} from './tls-clients.js';
export { openStream, within } from './sdk-streams.js';
export { queryString, signedFetch, signRequest, type RawResponse, type SignedFetchOptions } from './sigv4-fetch.js';
export {
  ACCOUNT_ID,
  CREDENTIALS,
  failure,
  realServices,
  REGION,
  startControlPlane,
  type ControlPlaneFixture,
  type FixtureServices,
} from './control-plane-fixture.js';
export { ARN, groupTarget, Inbox as JobsInbox, JobsEnv, request as jobsRequest, thingTarget } from './jobs-env.js';
export { JobsTestRegistry } from './jobs-test-registry.js';
export { Inbox as ShadowInbox, ShadowHarness, type ReceivedMessage } from './shadow-harness.js';
export { prng, Rand } from './seeded-random.js';
