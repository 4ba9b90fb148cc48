import { Duplex } from 'node:stream';

/**
 * Two connected in-memory duplex streams, as a socket's two ends: what one writes the other reads, ending one
 * ends the other's readable side, destroying one closes both. For `mqttJsStreamTransport` against a broker
 * that takes any stream (`aedes.handle(serverEnd)`): no socket, no file descriptor, no timer. Writes made while
 * corked reach the other end as one chunk.
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
      // What was written while corked (mqtt-packet writes a packet in pieces, corked until the next tick) goes
      // across as one chunk: the reader parses a packet once, not once per piece.
      writev(chunks, callback) {
        const other = peer();
        if (!other.destroyed) other.push(Buffer.concat(chunks.map((c) => c.chunk as Buffer)));
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
