import { readFile } from 'node:fs/promises';
import { runFleetCli } from './fleet-cli.js';

runFleetCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  isTTY: process.stdout.isTTY,
  readToken: (path) =>
    readFile(path, 'utf8').then(
      (t) => t.trim(),
      () => undefined,
    ),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`fleet: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
