import { Duplex } from 'node:stream';

/**
 * Two connected in-memory duplex streams, as a socket's two ends: what one writes the other reads, ending one
 * ends the other's readable side, destroying one closes both. For `mqttJsStreamTransport` against a broker
 * that takes any stream (`aedes.handle(serverEnd)`): no socket, no file descriptor, no timer.
 */
export function createStreamPair(): [clientEnd: Duplex, serverEnd: Duplex] {
  const ends: Duplex[] = [];
  const make = (peer: () => Duplex): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        const other = peer();
        if (!other.destroyed) other.push(chunk);
        callback();
      },
      final(callback) {
        const other = peer();
        if (!other.destroyed) other.push(null);
        callback();
      },
      destroy(error, callback) {
        const other = peer();
        if (!other.destroyed) other.destroy();
        callback(error);
      },
    });
  ends.push(
    make(() => ends[1] as Duplex),
    make(() => ends[0] as Duplex),
  );
  return [ends[0] as Duplex, ends[1] as Duplex];
}
