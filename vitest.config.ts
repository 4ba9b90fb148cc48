import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (dir: string): string => fileURLToPath(new URL(`./${dir}/src/index.ts`, import.meta.url));

// Tests run against the packages' TypeScript sources, so `pnpm test` needs no build step.
export default defineConfig({
  resolve: {
    alias: {
      '@otafleet/protocol': src('packages/protocol'),
      '@otafleet/mqtt-client': src('packages/mqtt-client'),
      '@otafleet/runtime': src('packages/runtime'),
      '@otafleet/bundle': src('packages/bundle'),
      // Before the package's own entry: an alias matches its subpaths too.
      '@otafleet/iot-core/testing': fileURLToPath(new URL('./packages/iot-core/src/testing/index.ts', import.meta.url)),
      '@otafleet/iot-core': src('packages/iot-core'),
      '@otafleet/agent': src('packages/agent'),
      '@otafleet/fleet-service': src('packages/fleet-service'),
      '@otafleet/simulator': src('simulator'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'simulator/test/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    // The AWS SDK warns on every client process that Node 20 loses support in 2027: known, and noise in test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
