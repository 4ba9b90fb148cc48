import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { localIoError } from './errors.js';

const REPLAY_CHUNK_BYTES = 1024 * 1024;

/**
 * The file being downloaded into. Appends are positional and pipelined (one write in flight while the
 * next chunk is fetched and hashed); `sync` returns the length that is durably on disk, the only length
 * an offset may be saved for.
 */
export class PartialFile {
  private inFlight: Promise<void> = Promise.resolve();
  private failure: unknown = undefined;
  private closed = false;
  /** Bytes appended so far (their writes may still be in flight). */
  length: number;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    length: number,
  ) {
    this.length = length;
  }

  /** Opens (creating it if missing) and cuts the file to `keep` bytes: nothing past a saved offset is trusted. */
  static async open(path: string, keep: number): Promise<PartialFile> {
    let fh: FileHandle;
    try {
      // Read-write, created if missing, never truncated by open itself (and not in append mode: writes are positional).
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

  /** Queues `chunk` at the end. The chunk must stay unchanged until the next append or sync settles. */
  async append(chunk: Uint8Array): Promise<void> {
    await this.inFlight;
    this.throwIfFailed();
    const position = this.length;
    this.length += chunk.byteLength;
    this.inFlight = this.writeAll(chunk, position).catch((e: unknown) => {
      this.failure = e;
    });
  }

  /** Waits for the writes so far, fdatasyncs, and returns the durable length. */
  async sync(): Promise<number> {
    const target = this.length;
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
    this.length = length;
  }

  /**
   * Reads bytes [0, end) back, 1 MiB at a time into one reused buffer (memory stays flat whatever the
   * size): each chunk is valid only until the next is requested.
   */
  async *replay(end: number): AsyncGenerator<Uint8Array> {
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

  private async writeAll(chunk: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < chunk.byteLength) {
      const { bytesWritten } = await this.fh.write(chunk, done, chunk.byteLength - done, position + done);
      done += bytesWritten;
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw localIoError(`cannot write ${this.path}`, this.failure);
  }
}
