import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AgentStatusSource, DeviceFacts } from '../contracts.js';

/** What the local endpoint reads besides the status source. */
export interface LocalEndpointSources {
  readonly device: DeviceFacts;
  readonly status: AgentStatusSource;
  /** Whether the running slot is the committed one with no trial (a release on trial is not yet "good"). */
  readonly committed: () => boolean;
  readonly startedAt: number;
  readonly now: () => number;
  /** Anything else worth showing on /status (boot, configuration answer, reports sent). */
  readonly extra?: () => Readonly<Record<string, unknown>>;
}

export interface LocalEndpoint {
  /** The port it listens on (useful when started on port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** The /health body: what an engineer on site needs first. */
export function healthSummary(s: LocalEndpointSources): { readonly ok: boolean; readonly body: unknown } {
  const slots = s.status.slots();
  const update = s.status.update();
  const broker = s.status.broker();
  const committed = s.committed();
  const problems: string[] = [];
  if (!broker.connected) problems.push('not connected to the broker');
  if (slots.running === undefined) problems.push('no release known in the active slot');
  else if (!committed) problems.push('the running release is on trial (not committed)');
  return {
    ok: problems.length === 0,
    body: {
      status: problems.length === 0 ? 'ok' : 'unavailable',
      problems,
      running: slots.running ?? null,
      activeSlot: slots.activeSlot,
      committed,
      updateInProgress: update.current ?? null,
      lastUpdate: update.lastUpdate ?? null,
      broker,
      agentVersion: s.device.agentVersion,
      uptimeSeconds: Math.max(0, Math.floor((s.now() - s.startedAt) / 1000)),
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function handle(s: LocalEndpointSources, req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path !== '/health' && path !== '/status') {
    send(res, 404, { code: 'NotFound', message: `no resource ${path}; try GET /health or GET /status` });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, { code: 'MethodNotAllowed', message: `${path} answers GET only` }, { allow: 'GET, HEAD' });
    return;
  }
  const summary = healthSummary(s);
  if (path === '/health') {
    send(res, summary.ok ? 200 : 503, summary.body);
    return;
  }
  send(res, 200, {
    device: s.device,
    health: summary.body,
    update: s.status.update(),
    slots: s.status.slots(),
    broker: s.status.broker(),
    ...s.extra?.(),
  });
}

/**
 * The support endpoint on 127.0.0.1 only (never reachable from the network): GET /health answers 200 when the
 * agent is connected and runs a committed release, 503 otherwise, with the reasons; GET /status the full snapshot.
 * node:http, so the device carries no web framework.
 */
export async function startLocalEndpoint(
  sources: LocalEndpointSources,
  options: { readonly port: number; readonly logger: Logger },
): Promise<LocalEndpoint> {
  const server: Server = createServer((req, res) => {
    try {
      handle(sources, req, res);
    } catch (e) {
      options.logger.error({ err: e }, 'local endpoint failed');
      if (!res.headersSent) send(res, 500, { code: 'InternalError', message: 'the agent could not build its status' });
      else res.destroy();
    }
  });
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ port }, 'local health endpoint listening on 127.0.0.1');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
