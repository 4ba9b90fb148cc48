#!/usr/bin/env node
// The `iot-core-ca` command: the local CA tool, compiled (`pnpm build` first); `pnpm ca` runs the source instead.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/ca-cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('iot-core-ca: not built yet; run `pnpm build` (or use `pnpm ca` from the repository)\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
