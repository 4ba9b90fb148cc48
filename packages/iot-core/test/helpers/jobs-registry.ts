export * from '../../src/testing/jobs-test-registry.js';
