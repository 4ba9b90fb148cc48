export * from '../../src/testing/tls-clients.js';
