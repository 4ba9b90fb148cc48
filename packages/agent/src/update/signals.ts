import type { AgentClock } from './ports.js';

/** The two ways a running action is interrupted. */
export interface FlowSignals {
  /** The job was canceled (by the Jobs service): abandon it. */
  readonly cancel: AbortSignal;
  /** The agent shuts down: leave the journal as it is, the next start resumes. */
  readonly stop: AbortSignal;
}

export type Interrupted = 'cancel' | 'stop';

/** The promise's value, or which signal fired first. The promise keeps running; its rejection is swallowed. */
export function raceSignals<T>(promise: Promise<T>, signals: FlowSignals): Promise<T | Interrupted> {
  if (signals.stop.aborted) return Promise.resolve('stop');
  if (signals.cancel.aborted) return Promise.resolve('cancel');
  return new Promise<T | Interrupted>((resolve, reject) => {
    const onStop = (): void => done('stop');
    const onCancel = (): void => done('cancel');
    const cleanup = (): void => {
      signals.stop.removeEventListener('abort', onStop);
      signals.cancel.removeEventListener('abort', onCancel);
    };
    const done = (v: T | Interrupted): void => {
      cleanup();
      resolve(v);
    };
    signals.stop.addEventListener('abort', onStop, { once: true });
    signals.cancel.addEventListener('abort', onCancel, { once: true });
    promise.then(done, (e: unknown) => {
      cleanup();
      reject(e instanceof Error ? e : new Error(String(e)));
    });
  });
}

/** Waits `ms` on the clock unless a signal fires first. */
export function sleepOn(clock: AgentClock, ms: number, signals: FlowSignals): Promise<'slept' | Interrupted> {
  let handle: ReturnType<AgentClock['setTimeout']> | undefined;
  const slept = new Promise<'slept'>((resolve) => {
    handle = clock.setTimeout(() => resolve('slept'), Math.max(0, ms));
  });
  return raceSignals(slept, signals).finally(() => {
    if (handle !== undefined) clock.clearTimeout(handle);
  });
}

/** Never resolves on its own: the action waits for a reboot (or shutdown). */
export const forever = (): Promise<never> => new Promise<never>(() => undefined);
