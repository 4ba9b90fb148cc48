import { request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';

/** TLS settings for an https bundle store: a pinned CA for the fleet's store, a client certificate, SNI. */
export type DownloadTlsOptions = Pick<
  HttpsRequestOptions,
  'ca' | 'cert' | 'key' | 'servername' | 'rejectUnauthorized' | 'minVersion' | 'checkServerIdentity'
>;

export class NetworkTimeoutError extends Error {
  override readonly name = 'NetworkTimeoutError';
}

/**
 * One GET on a fresh connection (no keep-alive pool: after a dropped socket the next request must not
 * reuse anything of the old one). Resolves at the response headers; `abort()` destroys it at any point.
 */
export class HttpGet {
  private readonly req: ClientRequest;
  readonly response: Promise<IncomingMessage>;

  constructor(url: URL, headers: Record<string, string>, tls: DownloadTlsOptions | undefined, idleTimeoutMs: number) {
    const options = { method: 'GET', headers, agent: false } as const;
    this.req = url.protocol === 'https:' ? httpsRequest(url, { ...options, ...tls }) : httpRequest(url, options);
    this.response = new Promise((resolve, reject) => {
      this.req.once('response', resolve);
      this.req.once('error', reject);
    });
    this.req.setTimeout(idleTimeoutMs, () => {
      this.req.destroy(new NetworkTimeoutError(`no answer from ${url.host} within ${idleTimeoutMs} ms`));
    });
    this.req.end();
  }

  abort(reason: Error): void {
    this.req.destroy(reason);
  }
}

/**
 * The response is paused when this many chunks wait (TCP flow control then holds the sender back) and
 * resumed when they are down to RESUME_AT: hysteresis, so a consumer slower than the network does not
 * pause and resume the socket on every chunk.
 */
const PAUSE_AT = 16;
const RESUME_AT = 4;

/**
 * Pulls a response body chunk by chunk, on 'data' events with pause/resume rather than the stream's async
 * iterator (whose read() concatenates buffered chunks into fresh large buffers: copies, and external
 * memory that forces full garbage collections). Chunks that arrived before the connection broke are still
 * handed out before the error. Idle time counts only while a chunk is awaited, so a paused stream
 * (bandwidth cap, slow consumer) never looks like a dead server; one coarse interval timer checks it.
 */
export class BodyReader {
  private readonly queue: Buffer[] = [];
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private waitingSince: number | null = null;
  private readonly watchdog: NodeJS.Timeout;

  constructor(
    private readonly res: IncomingMessage,
    idleTimeoutMs: number,
  ) {
    // The request's own socket timeout covered connecting; from here on the watchdog decides.
    res.socket.setTimeout(0);
    res.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      if (this.queue.length >= PAUSE_AT) res.pause();
      this.notify();
    });
    res.once('end', () => {
      this.ended = true;
      this.notify();
    });
    res.once('error', (e) => this.fail(e));
    res.once('close', () => {
      if (!this.ended) this.fail(new Error('connection closed before the end of the body'));
    });
    this.watchdog = setInterval(
      () => {
        if (this.waitingSince !== null && performance.now() - this.waitingSince >= idleTimeoutMs) {
          res.destroy(new NetworkTimeoutError(`no data for ${idleTimeoutMs} ms`));
        }
      },
      Math.max(5, Math.floor(idleTimeoutMs / 4)),
    ).unref();
  }

  /** The next chunk, or null at the end of the body; rejects when the connection broke (after its last chunks). */
  async next(): Promise<Buffer | null> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk !== undefined) {
        if (this.queue.length <= RESUME_AT && this.res.isPaused() && !this.res.destroyed) this.res.resume();
        return chunk;
      }
      if (this.failure !== null) throw this.failure;
      if (this.ended) {
        clearInterval(this.watchdog);
        return null;
      }
      this.waitingSince = performance.now();
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.waitingSince = null;
    }
  }

  destroy(reason?: Error): void {
    clearInterval(this.watchdog);
    this.res.destroy(reason);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    clearInterval(this.watchdog);
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** Up to `limit` bytes of an error body (to recognise an AWS error document), then the response is closed. */
export async function readErrorBody(res: IncomingMessage, limit = 8 * 1024): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      parts.push(chunk);
      size += chunk.byteLength;
      if (size >= limit) break;
    }
  } catch {
    // A broken error body still tells us the status.
  } finally {
    res.destroy();
  }
  return Buffer.concat(parts).subarray(0, limit).toString('utf8');
}
