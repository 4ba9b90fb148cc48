import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { localIoError } from './errors.js';

/** Network chunks (≤ 64 KiB) are gathered into writes of this size: 16× fewer syscalls and thread-pool hops. */
const WRITE_BYTES = 1024 * 1024;
const REPLAY_CHUNK_BYTES = 1024 * 1024;

/**
 * The file being downloaded into. Appends are copied into one of two 1 MiB buffers and written
 * positionally, one write in flight while the other buffer fills; so memory stays at 2 MiB and the
 * caller may reuse a chunk as soon as `append` returns. `sync` returns the length that is durably on
 * disk, the only length an offset may be saved for.
 */
export class PartialFile {
  private filling = Buffer.allocUnsafe(WRITE_BYTES);
  private writing = Buffer.allocUnsafe(WRITE_BYTES);
  private filled = 0;
  /** End of the bytes handed to the kernel (written, or being written). */
  private issuedEnd: number;
  private inFlight: Promise<void> = Promise.resolve();
  private failure: unknown = undefined;
  private closed = false;
  /** Bytes appended so far (the last ones may still be buffered or in flight). */
  length: number;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    length: number,
  ) {
    this.length = length;
    this.issuedEnd = length;
  }

  /** Opens (creating it if missing) and cuts the file to `keep` bytes: nothing past a saved offset is trusted. */
  static async open(path: string, keep: number): Promise<PartialFile> {
    let fh: FileHandle;
    try {
      // Read-write, created if missing, never truncated by open itself, not in append mode (writes are positional).
      fh = await open(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    } catch (e) {
      throw localIoError(`cannot open ${path}`, e);
    }
    try {
      await fh.truncate(keep);
    } catch (e) {
      await fh.close();
      throw localIoError(`cannot truncate ${path}`, e);
    }
    return new PartialFile(fh, path, keep);
  }

  async append(chunk: Uint8Array): Promise<void> {
    this.throwIfFailed();
    let from = 0;
    while (from < chunk.byteLength) {
      const n = Math.min(WRITE_BYTES - this.filled, chunk.byteLength - from);
      this.filling.set(chunk.subarray(from, from + n), this.filled);
      this.filled += n;
      this.length += n;
      from += n;
      if (this.filled === WRITE_BYTES) await this.issue();
    }
  }

  /** Writes out what is buffered, fdatasyncs, and returns the durable length. */
  async sync(): Promise<number> {
    const target = this.length;
    await this.issue();
    await this.inFlight;
    this.throwIfFailed();
    try {
      await this.fh.datasync();
    } catch (e) {
      throw localIoError(`cannot sync ${this.path}`, e);
    }
    return target;
  }

  async truncate(length: number): Promise<void> {
    await this.inFlight;
    this.throwIfFailed();
    try {
      await this.fh.truncate(length);
    } catch (e) {
      throw localIoError(`cannot truncate ${this.path}`, e);
    }
    this.filled = 0;
    this.length = this.issuedEnd = length;
  }

  /**
   * Reads bytes [0, end) back, 1 MiB at a time into one reused buffer (memory stays flat whatever the
   * size): each chunk is valid only until the next is requested.
   */
  async *replay(end: number): AsyncGenerator<Uint8Array> {
    await this.issue();
    await this.inFlight;
    this.throwIfFailed();
    const buffer = Buffer.allocUnsafe(Math.min(REPLAY_CHUNK_BYTES, Math.max(1, end)));
    let position = 0;
    while (position < end) {
      const want = Math.min(buffer.byteLength, end - position);
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.fh.read(buffer, 0, want, position));
      } catch (e) {
        throw localIoError(`cannot read back ${this.path}`, e);
      }
      if (bytesRead === 0)
        throw localIoError(`cannot read back ${this.path}`, new Error('file shorter than its offset'));
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inFlight;
    await this.fh.close().catch(() => undefined);
  }

  /** Hands the filled buffer to the kernel once the previous write is done, and fills the other meanwhile. */
  private async issue(): Promise<void> {
    // A background sync and the download loop may both get here: wait until no write is in flight.
    for (;;) {
      if (this.filled === 0) return;
      const pending = this.inFlight;
      await pending;
      if (pending === this.inFlight) break;
    }
    this.throwIfFailed();
    const buffer = this.filling;
    const bytes = this.filled;
    const position = this.issuedEnd;
    this.filling = this.writing;
    this.writing = buffer;
    this.filled = 0;
    this.issuedEnd += bytes;
    this.inFlight = this.writeAll(buffer, bytes, position).catch((e: unknown) => {
      this.failure = e;
    });
  }

  private async writeAll(buffer: Buffer, bytes: number, position: number): Promise<void> {
    let done = 0;
    while (done < bytes) {
      const { bytesWritten } = await this.fh.write(buffer, done, bytes - done, position + done);
      done += bytesWritten;
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw localIoError(`cannot write ${this.path}`, this.failure);
  }
}
