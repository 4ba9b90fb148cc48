/**
 * An HTTP proxy in front of the local core's control plane that can hold chosen calls unanswered: the service
 * under test is then caught with that call in flight, for as long as the test needs, instead of the test hoping
 * to poll inside a window of a few milliseconds (a passed gate's hand-off is one CreateJob). A held call is never
 * forwarded: to the service it is a call the cloud never received.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type CallMatcher = (method: string, path: string) => boolean;

export interface HeldCalls {
  readonly url: string;
  /** Calls matching `match` from now on are held (undefined: none are; those already held stay held). */
  hold(match: CallMatcher | undefined): void;
  /** How many calls are held now. */
  readonly held: number;
  close(): Promise<void>;
}

export async function startHeldCalls(upstream: string): Promise<HeldCalls> {
  const target = new URL(upstream);
  let matcher: CallMatcher | undefined;
  const held = new Set<ServerResponse>();
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const out = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.once('error', () => res.destroy());
    req.pipe(out);
  };
  const server = createServer((req, res) => {
    if (matcher?.(req.method ?? '', req.url ?? '') === true) {
      held.add(res);
      res.once('close', () => held.delete(res));
      req.resume();
      return;
    }
    forward(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hold(match) {
      matcher = match;
    },
    get held() {
      return held.size;
    },
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
