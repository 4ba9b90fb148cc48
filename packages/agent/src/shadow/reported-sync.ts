import { jsonEqual, shadowReplacement, type ReportedState, type ShadowDelta } from '@otafleet/protocol';
import type { Clock, ConnectionState, MqttConnection } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import { SerialTask } from './serial-task.js';
import { ShadowRequestTimeout, type ShadowClient } from './shadow-client.js';

export interface ReportedStateSyncOptions {
  readonly shadow: ShadowClient;
  readonly connection: Pick<MqttConnection, 'state' | 'onStateChange'>;
  /** The state to report now; undefined while it is not known yet. */
  readonly build: () => ReportedState | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Changes within this window go out as one update (default 500 ms). */
  readonly debounceMs?: number;
  /** Pause before trying again after a lost answer or a throttled/failed request (default 5 s). */
  readonly retryDelayMs?: number;
  /** Desired keys the delta lists (the classic shadow's desired is not OTA's: they are logged, not acted on). */
  readonly onDelta?: (delta: Readonly<Record<string, unknown>>) => void;
}

/** How many 409 Version conflicts in a row are re-read and retried before waiting for the next change. */
const MAX_CONFLICT_RETRIES = 5;

/**
 * Keeps the classic shadow's `state.reported` equal to the device's state. On every connection: GET (to learn the
 * version and what is stored, and the delta collected while offline), then one update, always, so `synced`
 * means "accepted since this connection came up". Afterwards, on change: debounced, and only when the state
 * differs from the last accepted one. Each update names the version it was computed against and replaces the
 * section exactly (`shadowReplacement`); a 409 re-reads the shadow and tries again.
 */
export class ReportedStateSync {
  readonly #o: ReportedStateSyncOptions;
  /** What the shadow holds as far as this device knows (from GET or its last accepted update). */
  #stored: Record<string, unknown> | undefined;
  #version: number | undefined;
  #synced = false;
  #needsGet = true;
  #conflicts = 0;
  readonly #task: SerialTask;
  readonly #unsubscribers: (() => void)[] = [];

  constructor(options: ReportedStateSyncOptions) {
    this.#o = options;
    this.#task = new SerialTask(() => this.#syncOnce(), {
      clock: options.clock,
      retryDelayMs: options.retryDelayMs ?? 5_000,
      canRun: () => options.connection.state.kind === 'connected',
      onError: (e) => {
        const lost = e instanceof ShadowRequestTimeout;
        options.logger.warn({ err: e }, lost ? 'shadow answer lost; will retry' : 'shadow sync failed; will retry');
      },
    });
  }

  /** True once an update was accepted since the connection came up; false while disconnected. */
  get synced(): boolean {
    return this.#synced;
  }

  /** 409 answers seen so far (each was re-read and retried). */
  get conflicts(): number {
    return this.#conflicts;
  }

  start(): void {
    this.#unsubscribers.push(
      this.#o.connection.onStateChange((s: ConnectionState) => {
        if (s.kind === 'connected') {
          this.#needsGet = true;
          this.#task.schedule(0);
        } else {
          this.#synced = false;
        }
      }),
      this.#o.shadow.onDelta((d: ShadowDelta) => this.#o.onDelta?.(d.state)),
    );
    if (this.#o.connection.state.kind === 'connected') this.#task.schedule(0);
  }

  /** The device's state may have changed: report it (debounced) if it did. */
  changed(): void {
    // What the run would find (synced, nothing pending, the state equals the last accepted one) is checked now,
    // without arming the debounce timer: the device watch calls this every second.
    const stored = this.#stored;
    if (!this.#task.busy && this.#synced && !this.#needsGet && stored !== undefined) {
      const next = this.#o.build();
      if (next === undefined || jsonEqual(stored, next)) return;
    }
    this.#task.schedule(this.#o.debounceMs ?? 500);
  }

  /** Resolves once no update is in flight. */
  idle(): Promise<void> {
    return this.#task.idle();
  }

  async close(): Promise<void> {
    for (const u of this.#unsubscribers.splice(0)) u();
    await this.#task.close();
  }

  async #get(): Promise<void> {
    const answer = await this.#o.shadow.get();
    if (answer.kind === 'rejected') {
      if (answer.error.code !== 404)
        throw new Error(`shadow get refused: ${answer.error.code} ${answer.error.message}`);
      this.#stored = undefined; // no shadow yet: the first update creates it
      this.#version = undefined;
    } else {
      this.#stored = answer.response.state.reported;
      this.#version = answer.response.version;
      const delta = answer.response.state.delta;
      if (delta !== undefined && Object.keys(delta).length > 0) this.#o.onDelta?.(delta);
    }
    this.#needsGet = false;
  }

  async #syncOnce(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.#needsGet) await this.#get();
      const next = this.#o.build();
      if (next === undefined) return; // not known yet; the next change reports it
      if (this.#synced && this.#stored !== undefined && jsonEqual(this.#stored, next)) return;
      const reported = shadowReplacement(this.#stored, next);
      const answer = await this.#o.shadow.update({
        state: { reported },
        ...(this.#version === undefined ? {} : { version: this.#version }),
      });
      if (answer.kind === 'accepted') {
        this.#stored = { ...next };
        this.#version = answer.response.version;
        if (!this.#synced) this.#o.logger.info({ version: this.#version }, 'reported state synced');
        this.#synced = true;
        return;
      }
      const { code, message } = answer.error;
      if (code === 409 && attempt < MAX_CONFLICT_RETRIES) {
        this.#conflicts += 1;
        this.#o.logger.info({ version: this.#version }, 'shadow version conflict; re-reading the shadow');
        this.#needsGet = true;
        continue;
      }
      if (code === 409 || code === 429 || code >= 500) {
        this.#needsGet = code === 409;
        throw new Error(`shadow update refused: ${code} ${message}`);
      }
      // 400/413: this agent built something the service refuses; sending it again would not help.
      this.#o.logger.error({ code, message }, 'reported state refused by the Shadow service');
      return;
    }
  }
}
