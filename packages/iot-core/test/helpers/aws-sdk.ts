export * from '../../src/testing/sdk-streams.js';
