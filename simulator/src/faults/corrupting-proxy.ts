import { request as httpRequest, createServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * The "corrupted in transit" fault: a local HTTP hop in front of the bundle store. A URL it hands out carries a
 * token; the first response for a token has one byte of its body flipped (after the headers, so size and ranges
 * still match), every later one passes through untouched. The agent's own verification must catch the bad byte.
 */
export interface CorruptingProxy {
  /** The URL to give the device instead of `upstream`; `token` names one corruption (e.g. device + bundle). */
  urlFor(upstream: string, token: string): string;
  close(): Promise<void>;
}

const PATH = /^\/corrupt\/([^/]+)\/(.+)$/;

export async function startCorruptingProxy(): Promise<CorruptingProxy> {
  const used = new Set<string>();
  const server: Server = createServer((req, res) => {
    const m = PATH.exec(req.url ?? '');
    if (m === null) {
      res.writeHead(404).end();
      return;
    }
    const token = decodeURIComponent(m[1]!);
    const upstream = new URL(Buffer.from(m[2]!, 'base64url').toString('utf8'));
    const corrupt = !used.has(token);
    const headers: Record<string, string> = {};
    if (typeof req.headers.range === 'string') headers['range'] = req.headers.range;
    const get = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
    const out = get(upstream, { method: 'GET', headers, agent: false }, (up: IncomingMessage) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      let flipped = !corrupt || (up.statusCode ?? 0) >= 300;
      up.on('data', (chunk: Buffer) => {
        if (!flipped && chunk.byteLength > 0) {
          const copy = Buffer.from(chunk);
          const at = Math.floor(copy.byteLength / 2);
          copy[at] = copy[at]! ^ 0xff;
          chunk = copy;
          flipped = true;
          used.add(token);
        }
        res.write(chunk);
      });
      up.on('end', () => res.end());
      up.on('error', () => res.destroy());
    });
    out.on('error', () => res.destroy());
    req.on('close', () => out.destroy());
    out.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    urlFor: (upstream, token) =>
      `http://127.0.0.1:${port}/corrupt/${encodeURIComponent(token)}/${Buffer.from(upstream).toString('base64url')}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
