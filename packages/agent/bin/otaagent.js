#!/usr/bin/env node
// The `otaagent` command. A file that exists before any build, so `pnpm install` can link it. It runs the compiled
// CLI when that is at least as new as every source it was built from, else the TypeScript sources through tsx
// (with the `source` export condition), so an edit is never run stale. In the tsx case the CLI is a child: stop
// signals are passed on and its exit code is ours, so `otaagent run` under systemd still exits 0 after SIGTERM.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const compiled = here('../dist/cli/main.js');
const sourceDirs = ['../src', '../../protocol/src', '../../mqtt-client/src', '../../bundle/src', '../../runtime/src'];

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
  existsSync(compiled) && statSync(compiled).mtimeMs >= Math.max(...sourceDirs.map((d) => newestSource(here(d))));

if (fresh) {
  await import(new URL('../dist/cli/main.js', import.meta.url).href); // runs the CLI on process.argv
} else {
  const args = ['--conditions=source', '--import', 'tsx', here('../src/cli/main.ts'), ...process.argv.slice(2)];
  const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: process.cwd() });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? 128 + (constants.signals[signal] ?? 0);
  });
}
