import type {
  AgentClock,
  AgentJournal,
  LoadedUpdate,
  QueuedJobUpdate,
  StoredJobUpdate,
  StoredMessage,
} from '@otafleet/agent';
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
    return new LifeJournal(this, j);
  }

  /** A step hook that hangs forever once the run is dead. */
  get hang(): Promise<never> {
    return never<never>();
  }
}

/** A journal call's answer as a dead run sees it: never. A class, not a wrapper closure per method: one per device. */
class LifeJournal implements AgentJournal {
  readonly #life: AgentLife;
  readonly #j: AgentJournal;

  constructor(life: AgentLife, j: AgentJournal) {
    this.#life = life;
    this.#j = j;
  }

  get thingName(): string {
    return this.#j.thingName;
  }

  get reset(): AgentJournal['reset'] {
    return this.#j.reset;
  }

  #guard<R>(call: () => Promise<R>): Promise<R> {
    const life = this.#life;
    if (life.dead) return never<R>();
    return call().then(
      (v) => (life.dead ? never<R>() : v),
      (e: unknown) => (life.dead ? never<R>() : Promise.reject(e instanceof Error ? e : new Error(String(e)))),
    );
  }

  loadUpdate(): Promise<LoadedUpdate> {
    return this.#guard(() => this.#j.loadUpdate());
  }
  saveUpdate(r: Parameters<AgentJournal['saveUpdate']>[0]): Promise<void> {
    return this.#guard(() => this.#j.saveUpdate(r));
  }
  clearUpdate(): Promise<void> {
    return this.#guard(() => this.#j.clearUpdate());
  }
  loadDownloadOffset(id: string): Promise<number | undefined> {
    return this.#guard(() => this.#j.loadDownloadOffset(id));
  }
  saveDownloadOffset(id: string, o: number): Promise<void> {
    return this.#guard(() => this.#j.saveDownloadOffset(id, o));
  }
  clearDownloadOffset(id: string): Promise<void> {
    return this.#guard(() => this.#j.clearDownloadOffset(id));
  }
  enqueueMessage(t: string, p: string): Promise<number> {
    return this.#guard(() => this.#j.enqueueMessage(t, p));
  }
  pendingMessages(n: number): Promise<readonly StoredMessage[]> {
    return this.#guard(() => this.#j.pendingMessages(n));
  }
  deleteMessage(id: number): Promise<void> {
    return this.#guard(() => this.#j.deleteMessage(id));
  }
  enqueueJobUpdate(u: QueuedJobUpdate): Promise<number> {
    return this.#guard(() => this.#j.enqueueJobUpdate(u));
  }
  pendingJobUpdates(): Promise<readonly StoredJobUpdate[]> {
    return this.#guard(() => this.#j.pendingJobUpdates());
  }
  deleteJobUpdate(id: number): Promise<void> {
    return this.#guard(() => this.#j.deleteJobUpdate(id));
  }
  getMeta(k: string): Promise<string | undefined> {
    return this.#guard(() => this.#j.getMeta(k));
  }
  setMeta(k: string, v: string): Promise<void> {
    return this.#guard(() => this.#j.setMeta(k, v));
  }
}
