export * from '../../src/testing/mqtt.js';
