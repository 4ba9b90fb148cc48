import { EXIT_RESTART_INTO_TRIAL } from '../../bin/agent-slot-state.js';

/** The documented exit codes of `otaagent` (docs/agent-raspberry-pi.md lists them). */
export const EXIT = {
  /** Done; `run`: stopped by SIGTERM/SIGINT with the update in flight journaled. */
  ok: 0,
  /** The command ran and failed (shutdown failed, rollback refused, status unreadable). */
  failure: 1,
  /** Bad usage or a bad configuration (nothing was changed), or the data directory is in use by `run`. */
  usage: 2,
  /** `run` under the self-update launcher: shut down cleanly so the launcher starts the other agent slot now. */
  restartAgent: EXIT_RESTART_INTO_TRIAL,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports with its code: a stable `code` word for --json and a sentence for people. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode = EXIT.failure,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}
