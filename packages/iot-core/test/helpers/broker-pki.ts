export * from '../../src/testing/test-pki.js';
