import { CliError, EXIT, type ExitCode } from './exit-codes.js';

export interface Output {
  readonly json: boolean;
  /** The command's result: JSON on one line with --json, else the human lines. */
  result(value: unknown, human: readonly string[]): void;
  /** A failure: `{"error": {code, message, details}}` on stdout with --json, else on stderr. Returns its exit code. */
  failure(e: unknown): ExitCode;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value)}\n` : human.map((l) => `${l}\n`).join(''));
    },
    failure(e) {
      const err =
        e instanceof CliError ? e : new CliError('INTERNAL_ERROR', e instanceof Error ? e.message : String(e));
      if (json) {
        const body = { error: { code: err.code, message: err.message, details: err.details } };
        process.stdout.write(`${JSON.stringify(body)}\n`);
      } else {
        process.stderr.write(`otaagent: ${err.message}\n${err.details.map((d) => `  ${d}\n`).join('')}`);
      }
      return err.exitCode ?? EXIT.failure;
    },
  };
}
