/** Network pieces for the end-to-end tests: a TCP proxy that can play "broker down", and a bundle server. */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Cuts every connection and refuses new ones until up(). */
  down(): void;
  up(): void;
  /** Cuts every connection (they may reconnect at once). */
  drop(): void;
  close(): Promise<void>;
}

/** A plain TCP relay on 127.0.0.1 (TLS passes through it untouched). */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let isDown = false;
  const server: Server = createTcpServer((client) => {
    if (isDown) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const dropAll = (): void => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    port: (server.address() as AddressInfo).port,
    down() {
      isDown = true;
      dropAll();
    },
    up() {
      isDown = false;
    },
    drop: dropAll,
    async close() {
      dropAll();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface BundleServer {
  readonly origin: string;
  url(name: string): string;
  /** Serves `bytes` under /name. */
  put(name: string, bytes: Buffer): void;
  /** The next response for `name` stops (socket destroyed) after `bytes` body bytes. */
  dropOnceAfter(name: string, bytes: number): void;
  /**
   * One request for `name` is refused 403 as an expired presigned URL (AWS S3's wording): the one after the next
   * `after` (default 0: the next one), so a test can name a later request without racing the client to it.
   */
  expireOnce(name: string, after?: number): void;
  /** Every response for `name` is throttled to about this many bytes per second (0: no limit). */
  throttle(name: string, bytesPerSecond: number): void;
  readonly requests: { name: string; range: string | undefined; status: number }[];
  /** Every request for `name` is answered with this status (0: serve normally). */
  failWith(name: string, status: number): void;
  /** Body bytes written for `name` so far, over all responses. */
  sentBytes(name: string): number;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that serves bundles with Range, and breaks on request. */
export async function startBundleServer(): Promise<BundleServer> {
  const files = new Map<string, Buffer>();
  const drops = new Map<string, number>();
  /** Requests to let through before the one refused as expired, by name. */
  const expiries = new Map<string, number>();
  const rates = new Map<string, number>();
  const sentByName = new Map<string, number>();
  const failures = new Map<string, number>();
  const requests: BundleServer['requests'] = [];
  const sockets = new Set<Socket>();
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const name = decodeURIComponent((req.url ?? '/').slice(1).split('?')[0] ?? '');
    const file = files.get(name);
    const record = { name, range: req.headers.range, status: 200 };
    requests.push(record);
    if (file === undefined) {
      record.status = 404;
      res.writeHead(404).end();
      return;
    }
    const failure = failures.get(name) ?? 0;
    if (failure !== 0) {
      record.status = failure;
      res.writeHead(failure).end();
      return;
    }
    const before = expiries.get(name);
    if (before !== undefined && before > 0) expiries.set(name, before - 1);
    else if (before !== undefined) {
      expiries.delete(name);
      record.status = 403;
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m !== null) start = Number(m[1]);
    if (start >= file.byteLength) {
      record.status = 416;
      res.writeHead(416, { 'content-range': `bytes */${file.byteLength}` }).end();
      return;
    }
    const body = file.subarray(start);
    record.status = m === null ? 200 : 206;
    res.writeHead(record.status, {
      'content-length': body.byteLength,
      'accept-ranges': 'bytes',
      ...(m === null ? {} : { 'content-range': `bytes ${start}-${file.byteLength - 1}/${file.byteLength}` }),
    });
    const dropAt = drops.get(name);
    if (dropAt !== undefined) drops.delete(name);
    const rate = rates.get(name) ?? 0;
    void (async () => {
      const chunk = 16 * 1024;
      let sent = 0;
      for (let off = 0; off < body.byteLength; off += chunk) {
        let piece = body.subarray(off, Math.min(body.byteLength, off + chunk));
        if (dropAt !== undefined && sent + piece.byteLength > dropAt) {
          piece = piece.subarray(0, Math.max(0, dropAt - sent));
          if (piece.byteLength > 0) res.write(piece);
          await new Promise((r) => setTimeout(r, 20));
          req.socket.destroy();
          return;
        }
        if (!res.write(piece)) await once(res, 'drain');
        sent += piece.byteLength;
        sentByName.set(name, (sentByName.get(name) ?? 0) + piece.byteLength);
        if (rate > 0) await new Promise((r) => setTimeout(r, (piece.byteLength / rate) * 1000));
        if (res.destroyed) return;
      }
      res.end();
    })().catch(() => res.destroy());
  };
  const server: HttpServer = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (name) => `${origin}/${encodeURIComponent(name)}`,
    put: (name, bytes) => void files.set(name, bytes),
    dropOnceAfter: (name, bytes) => void drops.set(name, bytes),
    expireOnce: (name, after = 0) => void expiries.set(name, after),
    throttle: (name, bps) => void rates.set(name, bps),
    requests,
    sentBytes: (name) => sentByName.get(name) ?? 0,
    failWith: (name, status) => void failures.set(name, status),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
