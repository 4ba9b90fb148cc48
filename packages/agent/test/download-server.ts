/** A real HTTP(S) server on 127.0.0.1 for the download tests: per-request handlers, recorded requests. */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly path: string;
  readonly range: string | undefined;
  /** Body bytes the handler sent (when it returns that count). */
  sent?: number;
}

/** Answers one request; may resolve with the number of body bytes it sent (recorded). */
export type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => unknown;

export interface TestServer {
  readonly origin: string;
  url(path?: string): string;
  readonly requests: RecordedRequest[];
  readonly close: () => Promise<void>;
}

export async function startTestServer(
  handler: Handler,
  tls?: { readonly key: string; readonly cert: string },
): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const index = requests.length;
    const record: RecordedRequest = { path: req.url ?? '/', range: req.headers.range };
    requests.push(record);
    Promise.resolve(handler(req, res, index)).then(
      (sent) => {
        if (typeof sent === 'number') record.sent = sent;
      },
      () => res.destroy(),
    );
  };
  const server: Server = tls === undefined ? createServer(listener) : createTlsServer(tls, listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  return {
    origin,
    url: (path = '/bundle.otab') => `${origin}${path}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ServeOptions {
  /** Honour Range (default true); false answers every request 200 with the whole file. */
  readonly range?: boolean;
  /** Destroy the socket after sending this many body bytes in this response. */
  readonly dropAfterBytes?: number | undefined;
  /** Content-Length to announce (default: the true one); null sends chunked with no length. */
  readonly contentLength?: number | null;
  /** Bytes appended after the file (a server with more than the job says). */
  readonly extra?: Buffer;
  /** A Content-Range start to claim instead of the true one (a broken server). */
  readonly claimStart?: number;
  /** Pause (ms) between 64 KiB writes. */
  readonly pauseMs?: number;
}

const CHUNK = 64 * 1024;

/** Serves `file` (or its requested range) with the given misbehaviour; resolves with the body bytes sent. */
export async function serveBytes(
  req: IncomingMessage,
  res: ServerResponse,
  file: Buffer,
  options: ServeOptions = {},
): Promise<number> {
  const m = options.range === false ? null : /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  let start = 0;
  if (m !== null) {
    start = Number(m[1]);
    if (start >= file.byteLength) {
      res.writeHead(416, { 'content-range': `bytes */${file.byteLength}` }).end();
      return 0;
    }
  }
  const body = Buffer.concat([file.subarray(start), options.extra ?? Buffer.alloc(0)]);
  const headers: Record<string, string | number> = { 'accept-ranges': options.range === false ? 'none' : 'bytes' };
  const length = options.contentLength === undefined ? body.byteLength : options.contentLength;
  if (length !== null) headers['content-length'] = length;
  if (m !== null) {
    const claimed = options.claimStart ?? start;
    headers['content-range'] = `bytes ${claimed}-${file.byteLength - 1}/${file.byteLength}`;
  }
  res.writeHead(m === null ? 200 : 206, headers);
  const limit = Math.min(body.byteLength, options.dropAfterBytes ?? Number.POSITIVE_INFINITY);
  let sent = 0;
  while (sent < limit) {
    const piece = body.subarray(sent, Math.min(limit, sent + CHUNK));
    sent += piece.byteLength;
    const flushed = new Promise<void>((resolve) => res.write(piece, () => resolve()));
    if (sent === limit) await flushed;
    else if (res.writableNeedDrain) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    if (res.destroyed) return sent;
    if (options.pauseMs !== undefined) await new Promise((r) => setTimeout(r, options.pauseMs));
  }
  if (limit < body.byteLength) res.socket?.destroy();
  else res.end();
  return sent;
}

/** An S3-style refusal of an expired presigned URL. */
export function answerExpired(res: ServerResponse): void {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message>' +
    '<X-Amz-Expires>60</X-Amz-Expires><RequestId>TEST</RequestId></Error>';
  res.writeHead(403, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body);
}
