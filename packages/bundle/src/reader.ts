import { BundleError } from './errors.js';

/**
 * Pulls exact byte counts out of a chunked source without buffering more than one source chunk:
 * header fields are copied (they are small), payload bytes are handed on as views of source chunks.
 */
export class ChunkReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array | null = null;
  private done = false;
  /** Bytes consumed so far, for error messages. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<Uint8Array | null> {
    while (this.pending === null || this.pending.byteLength === 0) {
      if (this.done) return null;
      const next = await this.iterator.next();
      if (next.done === true) {
        this.done = true;
        return null;
      }
      this.pending = next.value;
    }
    return this.pending;
  }

  /** Exactly n bytes (n is small: a header field), or BUNDLE_TRUNCATED naming `what`. */
  async readExact(n: number, what: string): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = await this.fill();
      if (chunk === null)
        throw new BundleError('BUNDLE_TRUNCATED', `file ends in the ${what} at byte ${this.position}`);
      const take = Math.min(n - filled, chunk.byteLength);
      out.set(chunk.subarray(0, take), filled);
      this.consume(chunk, take);
      filled += take;
    }
    return out;
  }

  /** Yields exactly n bytes as views of the source's chunks, or throws BUNDLE_TRUNCATED. */
  async *stream(n: number, what: string): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      const chunk = await this.fill();
      if (chunk === null) throw new BundleError('BUNDLE_TRUNCATED', `file ends in ${what} at byte ${this.position}`);
      const take = Math.min(left, chunk.byteLength);
      const view = chunk.subarray(0, take);
      this.consume(chunk, take);
      left -= take;
      yield view;
    }
  }

  /** Everything left, chunk by chunk. */
  async *rest(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = await this.fill();
      if (chunk === null) return;
      this.consume(chunk, chunk.byteLength);
      yield chunk;
    }
  }

  async atEnd(): Promise<boolean> {
    return (await this.fill()) === null;
  }

  /** Stops the source (closes a file stream) when verification ends early. */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.iterator.return?.();
    }
  }

  private consume(chunk: Uint8Array, n: number): void {
    this.pending = n === chunk.byteLength ? null : chunk.subarray(n);
    this.position += n;
  }
}
