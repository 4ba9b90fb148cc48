export * from '../../src/testing/mosquitto.js';
