export * from '../../src/testing/shadow-harness.js';
