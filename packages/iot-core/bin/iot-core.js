#!/usr/bin/env -S node --max-semi-space-size=32
// The `iot-core` command: runs the compiled core (`pnpm build` first). A file that exists before any build, so
// `pnpm install` can link it; `pnpm start` runs the TypeScript source directly instead.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/app/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('iot-core: not built yet; run `pnpm build` (or use `pnpm start` from the repository)\n');
  process.exit(1);
}
await import(entry.href);
