export * from '../../src/testing/seeded-random.js';
