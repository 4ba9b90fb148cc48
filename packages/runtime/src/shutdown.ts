import type { Logger } from 'pino';

export interface Stoppable {
  /** Stops taking work, finishes or journals what is in flight, releases what it holds. */
  close(): Promise<void>;
}

export interface ShutdownOptions {
  readonly logger: Logger;
  /** A close() that takes longer than this is abandoned and the process exits 1, saying so. Default 30 s. */
  readonly timeoutMs?: number;
  /** The signals that mean "stop". Default SIGTERM, SIGINT, SIGHUP. */
  readonly signals?: readonly NodeJS.Signals[];
}

const DEFAULT_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * Waits for a stop signal, then closes `target` and resolves the exit code: 0 after a clean close, 1 when close
 * failed or overran its deadline. Signals that arrive while closing are logged and otherwise ignored: Ctrl-C in a
 * terminal reaches every process of the group, and pnpm forwards the same signal to its child again, so a second
 * SIGINT is normal and must not cut the shutdown short.
 */
export function runUntilSignal(target: Stoppable, options: ShutdownOptions): Promise<number> {
  const { logger } = options;
  const signals = options.signals ?? DEFAULT_SIGNALS;
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.info({ signal }, 'already shutting down');
        return;
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      const deadline = setTimeout(() => {
        logger.error({ timeoutMs }, 'shutdown did not finish in time; exiting');
        finish(1);
      }, timeoutMs);
      deadline.unref();
      target.close().then(
        () => {
          clearTimeout(deadline);
          logger.info('stopped');
          finish(0);
        },
        (e: unknown) => {
          clearTimeout(deadline);
          logger.error({ err: e }, 'shutdown failed');
          finish(1);
        },
      );
    };
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      // Keep ignoring late duplicates until the process is gone: removing the listeners would let one kill us.
      resolve(code);
    };
    for (const s of signals) process.on(s, onSignal);
  });
}

export interface StartedUntilSignal<T> {
  /** What start() made, or start's error. */
  readonly started: Promise<T>;
  /** The exit code once a stop signal closed it (runUntilSignal's). */
  readonly stopped: Promise<number>;
  /** True from the stop signal on: what would still tell the world "ready" should not. */
  readonly stopping: () => boolean;
}

/**
 * runUntilSignal with the signals caught before start() begins: a stop signal while the process is still starting
 * (systemd stopping a unit that is coming up, Ctrl-C during a slow start) waits for the start, then closes what it
 * made as it would later, instead of the signal's default action killing the process mid-step. A start that fails
 * leaves nothing to close: its error is `started`'s, for the caller to explain.
 */
export function startUntilSignal<T extends Stoppable>(
  start: () => Promise<T>,
  options: ShutdownOptions,
): StartedUntilSignal<T> {
  let stopping = false;
  // Set before any signal can be handled: a handler runs from the event loop, after this function returned.
  const starting: { promise?: Promise<T> } = {};
  const stopped = runUntilSignal(
    {
      close: async () => {
        stopping = true;
        const made = await starting.promise?.catch(() => undefined);
        await made?.close();
      },
    },
    options,
  );
  const started = start();
  starting.promise = started;
  return { started, stopped, stopping: () => stopping };
}
