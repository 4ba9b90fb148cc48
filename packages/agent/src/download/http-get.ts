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
 * Pulls a response body chunk by chunk. The socket's idle timer runs only while a chunk is awaited, so
 * holding the stream paused (bandwidth cap, a slow consumer) never looks like a dead server.
 */
export class BodyReader {
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(
    private readonly res: IncomingMessage,
    private readonly idleTimeoutMs: number,
  ) {
    this.iterator = (res as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    res.socket.setTimeout(0);
    res.socket.on('timeout', () => {
      res.destroy(new NetworkTimeoutError(`no data for ${idleTimeoutMs} ms`));
    });
  }

  /** The next chunk, or null at the end of the body; rejects when the connection breaks. */
  async next(): Promise<Buffer | null> {
    this.res.socket?.setTimeout(this.idleTimeoutMs);
    try {
      const r = await this.iterator.next();
      return r.done === true ? null : r.value;
    } finally {
      this.res.socket?.setTimeout(0);
    }
  }

  destroy(reason?: Error): void {
    this.res.destroy(reason);
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
