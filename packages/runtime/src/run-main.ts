/**
 * Runs a process entry point: its resolved value is the exit code. A start that throws is written to stderr as
 * `<name> failed to start: <stack>` with exit code 1.
 */
export function runMain(main: () => Promise<number>, name: string): void {
  main().then(
    (code) => {
      process.exitCode = code;
      // A failed start or shutdown may leave a listener open; nothing more is coming, so do not wait for it.
      if (code !== 0) process.exit(code);
    },
    (e: unknown) => {
      process.stderr.write(`${name} failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
