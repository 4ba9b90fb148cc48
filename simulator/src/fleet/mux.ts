import { Duplex } from 'node:stream';
import type { StreamOpener } from './link.js';

/**
 * Many devices' MQTT byte streams over ONE MessagePort per worker (a port per device would be 10,000s of ports):
 * the frames written in one event-loop turn go as one message, their bytes packed into one transferred buffer.
 * Frame kinds: OPEN (worker → main, with the thing name), DATA, END (either way).
 */
const OPEN = 0;
const DATA = 1;
const END = 2;

export interface FrameBatch {
  readonly kind: 'frames';
  /** Triples: stream id, frame kind, byte length of its data in `data`. */
  readonly ops: readonly number[];
  readonly data: ArrayBuffer;
  /** Thing names of the OPEN frames, in order. */
  readonly things: readonly string[];
}

export const isFrameBatch = (m: unknown): m is FrameBatch => (m as { kind?: unknown } | null)?.kind === 'frames';

type Post = (batch: FrameBatch, transfer: ArrayBuffer[]) => void;

class FrameWriter {
  #ops: number[] = [];
  #chunks: Buffer[] = [];
  #things: string[] = [];
  #bytes = 0;
  #scheduled = false;

  constructor(private readonly post: Post) {}

  frame(id: number, kind: number, data?: Buffer, thing?: string): void {
    this.#ops.push(id, kind, data?.byteLength ?? 0);
    if (data !== undefined) {
      this.#chunks.push(data);
      this.#bytes += data.byteLength;
    }
    if (thing !== undefined) this.#things.push(thing);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.#scheduled = false;
    const data = new ArrayBuffer(this.#bytes);
    const view = new Uint8Array(data);
    let at = 0;
    for (const c of this.#chunks) {
      view.set(c, at);
      at += c.byteLength;
    }
    const batch: FrameBatch = { kind: 'frames', ops: this.#ops, data, things: this.#things };
    this.#ops = [];
    this.#chunks = [];
    this.#things = [];
    this.#bytes = 0;
    this.post(batch, [data]);
  }
}

function* framesOf(batch: FrameBatch): Generator<{ id: number; kind: number; data: Buffer; thing?: string }> {
  let at = 0;
  let thing = 0;
  for (let i = 0; i < batch.ops.length; i += 3) {
    const id = batch.ops[i]!;
    const kind = batch.ops[i + 1]!;
    const len = batch.ops[i + 2]!;
    const data = Buffer.from(batch.data, at, len);
    at += len;
    yield kind === OPEN ? { id, kind, data, thing: batch.things[thing++]! } : { id, kind, data };
  }
}

/** The worker's side: a StreamOpener whose streams are carried to the main thread. */
export class WorkerStreams {
  readonly #writer: FrameWriter;
  readonly #streams = new Map<number, Duplex>();
  #next = 1;

  constructor(post: Post) {
    this.#writer = new FrameWriter(post);
  }

  readonly open: StreamOpener = (thingName) => {
    const id = this.#next++;
    let peerEnded = false;
    const s = new Duplex({
      read() {},
      write: (chunk: Buffer, _e, cb) => {
        this.#writer.frame(id, DATA, chunk);
        cb();
      },
      final: (cb) => {
        if (!peerEnded) this.#writer.frame(id, END);
        peerEnded = true;
        cb();
      },
      destroy: (err, cb) => {
        if (!peerEnded) this.#writer.frame(id, END);
        peerEnded = true;
        this.#streams.delete(id);
        cb(err);
      },
    });
    (s as Duplex & { markPeerEnded?: () => void }).markPeerEnded = () => (peerEnded = true);
    this.#streams.set(id, s);
    this.#writer.frame(id, OPEN, undefined, thingName);
    return s;
  };

  receive(batch: FrameBatch): void {
    for (const f of framesOf(batch)) {
      const s = this.#streams.get(f.id);
      if (s === undefined) continue;
      if (f.kind === DATA) s.push(f.data);
      else if (f.kind === END) {
        (s as Duplex & { markPeerEnded?: () => void }).markPeerEnded?.();
        this.#streams.delete(f.id);
        s.push(null);
        s.destroy();
      }
    }
  }

  get openStreams(): number {
    return this.#streams.size;
  }
}

/** The main thread's side of one worker: each OPEN becomes a broker connection with the thing's identity. */
export class MainStreams {
  readonly #writer: FrameWriter;
  readonly #streams = new Map<number, Duplex>();

  constructor(
    post: Post,
    private readonly connect: StreamOpener,
  ) {
    this.#writer = new FrameWriter(post);
  }

  receive(batch: FrameBatch): void {
    for (const f of framesOf(batch)) {
      if (f.kind === OPEN) {
        const s = this.connect(f.thing!);
        this.#streams.set(f.id, s);
        let ended = false;
        const end = (): void => {
          if (ended) return;
          ended = true;
          if (this.#streams.get(f.id) === s) {
            this.#streams.delete(f.id);
            this.#writer.frame(f.id, END);
          }
        };
        s.on('data', (d: Buffer) => this.#writer.frame(f.id, DATA, d));
        s.on('end', end);
        s.on('close', end);
        s.on('error', () => undefined);
      } else if (f.kind === DATA) {
        this.#streams.get(f.id)?.write(f.data);
      } else {
        // The device ended its side (after its DISCONNECT): the broker's side closes, and says so, as a TCP peer
        // answers a FIN. Without the END back the device's stream never sees its readable end and never closes,
        // so a graceful MQTT end waits for its backstop (5 s per reboot, whenever DISCONNECT and END share a batch).
        const s = this.#streams.get(f.id);
        this.#streams.delete(f.id);
        if (s !== undefined) this.#writer.frame(f.id, END);
        s?.destroy();
      }
    }
  }

  closeAll(): void {
    for (const s of this.#streams.values()) s.destroy();
    this.#streams.clear();
  }
}
