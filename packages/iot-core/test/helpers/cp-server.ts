export * from '../../src/testing/control-plane-fixture.js';
