import { describe, expect, it } from 'vitest';
import { createStreamPair } from '../src/index.js';

const chunksOf = (stream: NodeJS.ReadableStream): Buffer[] => {
  const seen: Buffer[] = [];
  stream.on('data', (c: Buffer) => void seen.push(c));
  return seen;
};
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('createStreamPair', () => {
  it('carries each write to the other end, both ways', async () => {
    const [client, server] = createStreamPair();
    const atServer = chunksOf(server);
    const atClient = chunksOf(client);
    client.write(Buffer.from('ab'));
    client.write(Buffer.from('c'));
    server.write(Buffer.from('xyz'));
    await nextTurn();
    expect(atServer.map(String)).toEqual(['ab', 'c']);
    expect(atClient.map(String)).toEqual(['xyz']);
  });

  it('delivers what was written while corked as one chunk, in order', async () => {
    const [client, server] = createStreamPair();
    const atServer = chunksOf(server);
    client.cork();
    for (const piece of ['\x30', '\x05', 'to', 'pic']) client.write(Buffer.from(piece, 'latin1'));
    expect(atServer).toEqual([]); // nothing crosses before uncork
    client.uncork();
    client.write(Buffer.from('!'));
    await nextTurn();
    expect(atServer.map((c) => c.toString('latin1'))).toEqual(['\x30\x05topic', '!']);
  });

  it('ends the other side on end, and destroying one end closes both', async () => {
    const [client, server] = createStreamPair();
    const ended = new Promise<void>((r) => server.once('end', () => r()));
    server.resume();
    client.end();
    await ended;
    const [a, b] = createStreamPair();
    const closed = new Promise<void>((r) => b.once('close', () => r()));
    a.destroy();
    await closed;
    expect(b.destroyed).toBe(true);
  });
});
