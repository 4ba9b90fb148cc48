/**
 * QoS 1 acknowledgements in arrival order (MQTT 3.1.1 §4.6, MQTT 5 §4.6: a receiver sends its PUBACKs in the
 * order the PUBLISH packets came), when the messages' handlers finish in any order: each ack is sent once its
 * own handler and every earlier message's handler settled.
 */
export class InOrderAcks {
  readonly #queue: { settled: boolean; readonly ack: () => void }[] = [];
  #roomWaiters: { readonly below: number; readonly resolve: () => void }[] = [];

  /** Acknowledgements waiting for a handler (their own or an earlier one). */
  get held(): number {
    return this.#queue.length;
  }

  /** `ack` runs once `settled` has settled (fulfilled or not) and every ack added before it ran. */
  add(settled: Promise<void> | undefined, ack: () => void): void {
    const entry = { settled: settled === undefined, ack };
    this.#queue.push(entry);
    if (settled === undefined) this.#release();
    else
      void settled.then(
        () => this.#settle(entry),
        () => this.#settle(entry),
      );
  }

  /** Resolves once fewer than `limit` acks are held: the backpressure a reader waits on before reading more. */
  room(limit: number): Promise<void> {
    if (this.#queue.length < limit) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push({ below: limit, resolve }));
  }

  #settle(entry: { settled: boolean }): void {
    entry.settled = true;
    this.#release();
  }

  #release(): void {
    while (this.#queue[0]?.settled === true) this.#queue.shift()?.ack();
    if (this.#roomWaiters.length === 0) return;
    const waiting = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiting) {
      if (this.#queue.length < w.below) w.resolve();
      else this.#roomWaiters.push(w);
    }
  }
}
