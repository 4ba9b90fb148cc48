import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { BENCH_JOB_ID } from './names.js';

/**
 * Load generator: N MQTT.js clients (TCP_NODELAY on their sockets), each keeping W QoS 1 requests in flight.
 * A phase warms up, then counts the requests completed in a timed window, then stops and drains.
 * What completes a request, by kind:
 * - `puback`: QoS 1 publish to `dt/<id>/raw` (nobody subscribed), done at its PUBACK;
 * - `loopback`: QoS 1 publish to `dt/<id>/loop`, which the client subscribes to (QoS 1), done when it is
 *   delivered back: one QoS 1 message in, one out, no service — the broker's raw request/response rate;
 * - `echo`: QoS 1 publish to `bench/echo/<id>`, done when the server's bus echo handler's reply arrives;
 * - `shadow-update`: UpdateThingShadow on `$aws/things/<id>/shadow/update`, done at the `/update/accepted`
 *   carrying its clientToken;
 * - `job-update`: UpdateJobExecution (IN_PROGRESS) on `$aws/things/<id>/jobs/bench/update`, done at the
 *   `/update/accepted` carrying its clientToken.
 * A `/rejected` answer also frees the slot but is counted as rejected, never as completed.
 */
export type RequestKind = 'puback' | 'loopback' | 'echo' | 'shadow-update' | 'job-update';

export interface LoadOptions {
  /** `mqtt://127.0.0.1:<port>` or `mqtts://...` (then give `tlsFor`). */
  readonly url: string;
  /** One client per id; the id is also the thing name. */
  readonly clientIds: readonly string[];
  readonly tlsFor?: (clientId: string) => { ca: string; cert: string; key: string };
  /** Pid of the server process, to report its CPU use during the timed window (Linux /proc). */
  readonly serverPid?: number;
}

export interface PhaseOptions {
  /** Requests in flight per client. */
  readonly window: number;
  readonly warmupMs: number;
  readonly phaseMs: number;
  /** How long to wait for stragglers after the phase before counting them lost. Default 5000. */
  readonly drainTimeoutMs?: number;
}

export interface PhaseResult {
  readonly kind: RequestKind;
  /** Completions per second inside the timed window. */
  readonly perSec: number;
  readonly completed: number;
  readonly seconds: number;
  /** Answers on `/rejected` during the whole phase (warm-up included). */
  readonly rejected: number;
  /** Requests never answered within the drain timeout. */
  readonly lost: number;
  /** CPU time / wall time in the timed window: 1 = one core busy. Undefined when it cannot be read. */
  readonly serverCpu: number | undefined;
  readonly clientCpu: number;
}

export interface LoadClients {
  readonly count: number;
  /** Subscribes every client to the response topics of these kinds (once, before any phase). */
  prepare(kinds: readonly RequestKind[]): Promise<void>;
  /** Subscribes client `index` to more filters (QoS 1) that no request kind answers on. */
  subscribeMore(index: number, filters: readonly string[]): Promise<void>;
  run(kind: RequestKind, options: PhaseOptions): Promise<PhaseResult>;
  close(): Promise<void>;
}

interface Route {
  readonly request: string;
  /** Subscriptions whose messages answer this kind; the first is the success topic. */
  readonly answers: readonly string[];
}

const routeOf = (kind: RequestKind, id: string): Route => {
  switch (kind) {
    case 'puback':
      return { request: `dt/${id}/raw`, answers: [] };
    case 'loopback':
      return { request: `dt/${id}/loop`, answers: [`dt/${id}/loop`] };
    case 'echo':
      return { request: `bench/echo/${id}`, answers: [`bench/echo/${id}/reply`] };
    case 'shadow-update': {
      const base = `$aws/things/${id}/shadow/update`;
      return { request: base, answers: [`${base}/accepted`, `${base}/rejected`] };
    }
    case 'job-update': {
      const base = `$aws/things/${id}/jobs/${BENCH_JOB_ID}/update`;
      return { request: base, answers: [`${base}/accepted`, `${base}/rejected`] };
    }
  }
};

// Every payload is about the same size (~80 bytes) and carries a clientToken, so kinds differ only in what
// handles them.
const payloadOf = (kind: RequestKind, token: string, seq: number): string =>
  kind === 'job-update'
    ? `{"status":"IN_PROGRESS","statusDetails":{"seq":"${seq}","step":"bench"},"clientToken":"${token}"}`
    : `{"state":{"reported":{"temp":${20 + (seq % 10)},"seq":${seq},"status":"ok"}},"clientToken":"${token}"}`;

const TOKEN = /"clientToken":"([^"]*)"/;

async function connect(url: string, clientId: string, extra: Partial<IClientOptions>): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, reconnectPeriod: 0, connectTimeout: 10_000, clean: true, ...extra });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  // Nagle + delayed ACK would hold every small request/response packet for ~40 ms.
  (client.stream as Socket).setNoDelay(true);
  return client;
}

const TICKS_PER_SECOND = 100;

/** utime + stime of a process in seconds, from /proc/<pid>/stat (fields 14 and 15, after the `(comm)`). */
function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

const ownCpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** One client's pending requests, keyed by clientToken; the callback says accepted (true) or rejected. */
type Pending = Map<string, (accepted: boolean) => void>;

export async function connectLoadClients(options: LoadOptions): Promise<LoadClients> {
  const clients: MqttClient[] = [];
  const pending: Pending[] = [];
  try {
    for (const id of options.clientIds) {
      const client = await connect(options.url, id, options.tlsFor?.(id) ?? {});
      const waiting: Pending = new Map();
      client.on('message', (topic, payload) => {
        const token = TOKEN.exec(payload.toString())?.[1];
        if (token === undefined) return;
        const done = waiting.get(token);
        if (done === undefined) return;
        waiting.delete(token);
        done(!topic.endsWith('/rejected'));
      });
      clients.push(client);
      pending.push(waiting);
    }
  } catch (e) {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    throw e;
  }
  let nextToken = 0;

  const run = async (kind: RequestKind, phase: PhaseOptions): Promise<PhaseResult> => {
    let running = true;
    let completed = 0;
    let rejected = 0;
    let inFlight = 0;
    let drained: () => void = () => undefined;
    const allDrained = new Promise<void>((resolve) => (drained = resolve));
    const settle = (): void => {
      inFlight--;
      if (!running && inFlight === 0) drained();
    };

    clients.forEach((client, c) => {
      const { request } = routeOf(kind, options.clientIds[c] ?? '');
      const waiting: Pending = pending[c] ?? new Map();
      const send = (): void => {
        if (!running) return;
        const seq = nextToken++;
        const token = String(seq);
        inFlight++;
        const payload = payloadOf(kind, token, seq);
        if (kind === 'puback') {
          client.publish(request, payload, { qos: 1 }, (err) => {
            if (err === undefined || err === null) completed++;
            settle();
            send();
          });
          return;
        }
        waiting.set(token, (accepted) => {
          if (accepted) completed++;
          else rejected++;
          settle();
          send();
        });
        client.publish(request, payload, { qos: 1 });
      };
      for (let w = 0; w < phase.window; w++) send();
    });

    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    await sleep(phase.warmupMs);
    const c0 = completed;
    const t0 = performance.now();
    const server0 = processCpuSeconds(options.serverPid);
    const own0 = ownCpuSeconds();
    await sleep(phase.phaseMs);
    const c1 = completed;
    const t1 = performance.now();
    const server1 = processCpuSeconds(options.serverPid);
    const own1 = ownCpuSeconds();
    running = false;
    if (inFlight === 0) drained();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allDrained, new Promise<void>((r) => (timer = setTimeout(r, phase.drainTimeoutMs ?? 5000)))]);
    clearTimeout(timer);
    const lost = inFlight;
    for (const waiting of pending) waiting.clear();
    const seconds = (t1 - t0) / 1000;
    const serverCpu = server0 === undefined || server1 === undefined ? undefined : (server1 - server0) / seconds;
    const clientCpu = (own1 - own0) / seconds;
    return { kind, perSec: (c1 - c0) / seconds, completed: c1 - c0, seconds, rejected, lost, serverCpu, clientCpu };
  };

  return {
    count: clients.length,
    async prepare(kinds) {
      await Promise.all(
        clients.map(async (client, c) => {
          const filters = kinds.flatMap((k) => routeOf(k, options.clientIds[c] ?? '').answers);
          if (filters.length === 0) return;
          const granted = await client.subscribeAsync(filters, { qos: 1 });
          const refused = granted.filter((g) => g.qos !== 0 && g.qos !== 1 && g.qos !== 2);
          if (refused.length > 0) throw new Error(`subscription refused: ${refused.map((g) => g.topic).join(', ')}`);
        }),
      );
    },
    async subscribeMore(index, filters) {
      const client = clients[index];
      if (client === undefined) throw new Error(`no load client ${index}`);
      for (let i = 0; i < filters.length; i += 100) await client.subscribeAsync(filters.slice(i, i + 100), { qos: 1 });
    },
    run,
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true)));
    },
  };
}
