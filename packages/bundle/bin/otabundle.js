#!/usr/bin/env node
// The `otabundle` command. A file that exists before any build, so `pnpm install` can link it. It runs the compiled
// CLI when that is at least as new as every source it was built from (about 0.7 s a call), else the TypeScript
// sources through tsx (about 1.4 s), so an edit is never run stale.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const compiled = here('../dist/cli.js');

const newestSource = (dir) => {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
  }
  return newest;
};

const fresh =
  existsSync(compiled) &&
  statSync(compiled).mtimeMs >= Math.max(newestSource(here('../src')), newestSource(here('../../protocol/src')));

if (fresh) {
  await import(new URL('../dist/cli.js', import.meta.url).href); // runs the CLI on process.argv
} else {
  const args = ['--conditions=source', '--import', 'tsx', here('../src/cli.ts'), ...process.argv.slice(2)];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: process.cwd() });
  process.exitCode = r.status ?? 1;
}
