import { Duplex } from 'node:stream';

/** Opens one connection's byte stream to the broker for a thing (in-memory identity stream, port, TLS socket). */
export type StreamOpener = (thingName: string) => Duplex;

/** A stream that fails as a refused connection would: the agent's connection backs off and tries again. */
function refusedStream(why: string): Duplex {
  const s = new Duplex({ read() {}, write: (_c, _e, cb) => cb() });
  process.nextTick(() => s.destroy(Object.assign(new Error(`network down: ${why}`), { code: 'ECONNREFUSED' })));
  return s;
}

/**
 * A device's network link: every connection attempt of its agent goes through `open()`. Faults take it down for a
 * reason (drop, flapping, offline window, power): open streams are destroyed at once (the broker sees the
 * connection lost, the agent reconnects with its own backoff) and attempts are refused until every reason is gone.
 */
export class DeviceLink {
  readonly #open: StreamOpener;
  readonly #thingName: string;
  readonly #down = new Set<string>();
  readonly #streams = new Set<Duplex>();

  constructor(open: StreamOpener, thingName: string) {
    this.#open = open;
    this.#thingName = thingName;
  }

  get up(): boolean {
    return this.#down.size === 0;
  }

  readonly open = (): Duplex => {
    if (!this.up) return refusedStream([...this.#down].join(', '));
    const s = this.#open(this.#thingName);
    this.#streams.add(s);
    s.once('close', () => this.#streams.delete(s));
    return s;
  };

  /** Cuts every open stream (a dropped link, a dead device). */
  cut(): void {
    for (const s of this.#streams) s.destroy();
    this.#streams.clear();
  }

  setDown(reason: string, down: boolean): void {
    if (down) {
      this.#down.add(reason);
      this.cut();
    } else {
      this.#down.delete(reason);
    }
  }
}
