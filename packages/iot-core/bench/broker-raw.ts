import pino from 'pino';
import { startEmbeddedBroker } from '../src/broker/embedded-broker.js';
import { createTestPki } from '../test/helpers/broker-pki.js';
import { measurePublishThroughput, type PublishThroughputOptions } from './broker-raw-lib.js';

/**
 * Baseline: raw QoS 1 throughput of the embedded broker, plain TCP (no auth) and mutual TLS with
 * per-thing authorization, measured in the same run. Prints one JSON line; `tlsToTcpRatio` is the cost
 * of identity + authorization + TLS. Env: BENCH_PUBLISHERS (8), BENCH_MESSAGES per publisher (2500).
 */
const publishers = Number(process.env.BENCH_PUBLISHERS ?? 8);
const messagesPerPublisher = Number(process.env.BENCH_MESSAGES ?? 2500);
const logger = pino({ level: 'silent' });
const things = Array.from({ length: publishers }, (_v, i) => `bench-${i}`);

const pki = await createTestPki(things);
const tcp = await startEmbeddedBroker({ logger });
const tls = await startEmbeddedBroker({ logger, tls: { ca: pki.caPem, cert: pki.server.cert, key: pki.server.key } });
try {
  const base: Omit<PublishThroughputOptions, 'url'> = { publishers, messagesPerPublisher };
  const tlsOptions: PublishThroughputOptions = {
    ...base,
    url: `mqtts://127.0.0.1:${tls.tlsPort ?? 0}`,
    counterClientId: 'svc-bench-counter',
    tlsFor: (id) => {
      const cred = id.startsWith('svc-') ? pki.service : pki.device(id);
      return { ca: pki.caPem, cert: cred.cert, key: cred.key };
    },
  };
  // Warm-up (JIT, TLS session setup paths), not reported.
  await measurePublishThroughput({ ...base, messagesPerPublisher: 200, url: `mqtt://127.0.0.1:${tcp.port}` });
  await measurePublishThroughput({ ...tlsOptions, messagesPerPublisher: 200 });

  // Alternate the two, several rounds, and report medians: the machine is shared and noisy.
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const plainRuns: number[] = [];
  const securedRuns: number[] = [];
  let lost = 0;
  for (let r = 0; r < rounds; r++) {
    const plain = await measurePublishThroughput({ ...base, url: `mqtt://127.0.0.1:${tcp.port}` });
    const secured = await measurePublishThroughput(tlsOptions);
    plainRuns.push(plain.msgsPerSec);
    securedRuns.push(secured.msgsPerSec);
    lost += plain.published - plain.received + (secured.published - secured.received);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const tcpMsgsPerSec = median(plainRuns);
  const mtlsAuthzMsgsPerSec = median(securedRuns);
  console.log(
    JSON.stringify({
      bench: 'broker-raw',
      publishers,
      messagesPerRun: publishers * messagesPerPublisher,
      rounds,
      qos: 1,
      tcpMsgsPerSec,
      mtlsAuthzMsgsPerSec,
      tlsToTcpRatio: Number((mtlsAuthzMsgsPerSec / tcpMsgsPerSec).toFixed(3)),
      lost,
    }),
  );
} finally {
  await tcp.close();
  await tls.close();
  await pki.cleanup();
}
