export * from '../../src/testing/jobs-env.js';
