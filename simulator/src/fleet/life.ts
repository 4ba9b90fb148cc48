import type { AgentClock, AgentJournal } from '@otafleet/agent';
import type { TimerHandle } from '@otafleet/mqtt-client';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/**
 * One run of a device's agent "process", so it can die without a graceful shutdown (a crash, a power cut): when
 * killed, its timers never fire, its journal calls never return (nothing more reaches the disk) and its
 * connection is cut by the link. What was already committed stays; the next run starts from it.
 */
export class AgentLife {
  #dead = false;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly clock: AgentClock;

  constructor(skewMs: number) {
    this.clock = {
      now: () => Date.now() + skewMs,
      setTimeout: (fn, ms) => {
        if (this.#dead) return {};
        const t = setTimeout(() => {
          this.#timers.delete(t);
          if (!this.#dead) fn();
        }, ms);
        this.#timers.add(t);
        return t as unknown as TimerHandle;
      },
      clearTimeout: (h) => {
        const t = h as unknown as ReturnType<typeof setTimeout>;
        clearTimeout(t);
        this.#timers.delete(t);
      },
    };
  }

  get dead(): boolean {
    return this.#dead;
  }

  kill(): void {
    this.#dead = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  /** The device's journal as this run sees it: once dead, calls hang (a dead process waits for nothing). */
  journal(j: AgentJournal): AgentJournal {
    const guard =
      <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
      (...a: A): Promise<R> =>
        this.#dead
          ? never<R>()
          : fn(...a).then(
              (v) => (this.#dead ? never<R>() : v),
              (e: unknown) => (this.#dead ? never<R>() : Promise.reject(e instanceof Error ? e : new Error(String(e)))),
            );
    return {
      thingName: j.thingName,
      reset: j.reset,
      loadUpdate: guard(() => j.loadUpdate()),
      saveUpdate: guard((r) => j.saveUpdate(r)),
      clearUpdate: guard(() => j.clearUpdate()),
      loadDownloadOffset: guard((id) => j.loadDownloadOffset(id)),
      saveDownloadOffset: guard((id, o) => j.saveDownloadOffset(id, o)),
      clearDownloadOffset: guard((id) => j.clearDownloadOffset(id)),
      enqueueMessage: guard((t, p) => j.enqueueMessage(t, p)),
      pendingMessages: guard((n) => j.pendingMessages(n)),
      deleteMessage: guard((id) => j.deleteMessage(id)),
      enqueueJobUpdate: guard((u) => j.enqueueJobUpdate(u)),
      pendingJobUpdates: guard(() => j.pendingJobUpdates()),
      deleteJobUpdate: guard((id) => j.deleteJobUpdate(id)),
      getMeta: guard((k) => j.getMeta(k)),
      setMeta: guard((k, v) => j.setMeta(k, v)),
    };
  }

  /** A step hook that hangs forever once the run is dead. */
  get hang(): Promise<never> {
    return never<never>();
  }
}
