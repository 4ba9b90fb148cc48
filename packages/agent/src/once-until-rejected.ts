/**
 * One start shared by every caller until it fails; the first call after a rejection starts again. The Jobs and
 * Shadow clients subscribe to a request's answer topics this way, before the first request that needs them.
 */
export class OnceUntilRejected {
  #running: Promise<void> | undefined;

  run(start: () => Promise<void>): Promise<void> {
    this.#running ??= start().catch((e: unknown) => {
      this.#running = undefined;
      throw e;
    });
    return this.#running;
  }
}
