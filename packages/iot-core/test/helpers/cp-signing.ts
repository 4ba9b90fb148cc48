export * from '../../src/testing/sigv4-fetch.js';
