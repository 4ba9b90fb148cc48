/**
 * A TCP port the test owns for its whole run, forwarding to wherever the service under test listens now: the
 * service binds a free port (port 0) on every start, and nothing ever re-binds a port another test could take.
 * Connections that arrive while no service is up wait for the next one (as behind a load balancer).
 */
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

export interface StablePort {
  readonly url: string;
  /** Forward new connections to `port` (undefined: hold them until the next call). */
  point(port: number | undefined): void;
  close(): Promise<void>;
}

export async function startStablePort(holdMs = 30_000): Promise<StablePort> {
  let target: number | undefined;
  let waiting: { socket: Socket; timer: NodeJS.Timeout }[] = [];
  const open = new Set<Socket>();
  const forward = (socket: Socket, port: number): void => {
    const upstream = createConnection({ host: '127.0.0.1', port });
    open.add(upstream);
    upstream.once('close', () => open.delete(upstream));
    socket.pipe(upstream).pipe(socket);
    const cut = (): void => {
      socket.destroy();
      upstream.destroy();
    };
    socket.once('error', cut).once('close', cut);
    upstream.once('error', cut).once('close', cut);
  };
  const server = createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    if (target !== undefined) forward(socket, target);
    else waiting.push({ socket, timer: setTimeout(() => socket.destroy(), holdMs) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    point(next) {
      target = next;
      if (next === undefined) return;
      const held = waiting;
      waiting = [];
      for (const { socket, timer } of held) {
        clearTimeout(timer);
        if (!socket.destroyed) forward(socket, next);
      }
    },
    async close() {
      for (const { timer } of waiting) clearTimeout(timer);
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
