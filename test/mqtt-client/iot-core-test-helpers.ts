/**
 * The only place these tests reach into iot-core's test helpers by path (until they are an
 * `@otafleet/iot-core/testing` export): test PKI and the Mosquitto binary/launcher.
 */
export { createTestPki, type TestPki, type Credential } from '../../packages/iot-core/test/helpers/broker-pki.js';
export {
  freePort,
  requireMosquitto,
  startMosquitto,
  type MosquittoProcess,
} from '../../packages/iot-core/test/helpers/broker-mosquitto.js';
