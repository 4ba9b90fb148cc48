/** The iot-core testing surface these tests use: test PKI and the Mosquitto binary/launcher. */
export {
  createTestPki,
  freePort,
  requireMosquitto,
  startMosquitto,
  type Credential,
  type MosquittoProcess,
  type TestPki,
} from '@otafleet/iot-core/testing';
