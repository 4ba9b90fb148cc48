/**
 * The benchmarks' server process: the embedded broker (TCP_NODELAY on its listeners) and, by `--services`,
 * an echo handler on the bus, the Shadow service and/or the Jobs service, on a fresh SQLite file opened with
 * openDatabase (WAL, synchronous=FULL, as production). Started by server.ts, never imported.
 *
 *   node --conditions=source --import tsx server-fixture.ts --db <path> --things <n> [--services echo,shadow,jobs]
 *        [--tls-cert <pem file> --tls-key <pem file> --tls-ca <pem file>]
 *
 * Things are named `bench-<i>`; with `jobs`, the job `bench` targets their thing group, so every thing has a
 * QUEUED execution a device may move to IN_PROGRESS. Prints `READY <tcpPort> <tlsPort|->`; SIGTERM closes
 * everything and exits 0.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import {
  createAedesBus,
  createJobsService,
  createShadowService,
  createThingRegistry,
  openDatabase,
  startEmbeddedBroker,
  type EmbeddedBrokerOptions,
} from '../../src/index.js';
import { BENCH_JOB_ID, BENCH_THING_GROUP, benchThingName } from './names.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    things: { type: 'string', default: '8' },
    services: { type: 'string', default: '' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-ca': { type: 'string' },
  },
});
if (values.db === undefined) throw new Error('server-fixture: --db <path> is required');
const services = new Set(values.services.split(',').filter((s) => s !== ''));
for (const s of services) {
  if (s !== 'echo' && s !== 'shadow' && s !== 'jobs') throw new Error(`server-fixture: unknown service ${s}`);
}
const thingCount = Number(values.things);
const arn = { region: 'us-east-1', accountId: '123456789012' };
const logger = pino({ level: 'warn' }, pino.destination(2));
// The broker's start-up WARN about its insecure TCP listener is expected here: only errors.
const brokerLogger = logger.child({}, { level: 'error' });

const tlsFiles = [values['tls-cert'], values['tls-key'], values['tls-ca']];
const brokerOptions: EmbeddedBrokerOptions =
  values['tls-cert'] !== undefined && values['tls-key'] !== undefined && values['tls-ca'] !== undefined
    ? {
        logger: brokerLogger,
        insecureTcp: true,
        tls: {
          cert: readFileSync(values['tls-cert'], 'utf8'),
          key: readFileSync(values['tls-key'], 'utf8'),
          ca: readFileSync(values['tls-ca'], 'utf8'),
        },
      }
    : { logger: brokerLogger };
if (brokerOptions.tls === undefined && tlsFiles.some((f) => f !== undefined))
  throw new Error('server-fixture: give all of --tls-cert, --tls-key and --tls-ca, or none');

const broker = await startEmbeddedBroker(brokerOptions);
const bus = createAedesBus(broker.aedes, logger, broker.subscriptions);
const db = openDatabase(values.db);
const closers: (() => Promise<void>)[] = [];

if (services.has('echo')) {
  // The request/response pattern of a service with no service logic and no SQLite behind it.
  await bus.subscribe('bench/echo/+', (m) =>
    bus.publish(
      `${m.topic}/reply`,
      m.payload,
      m.clientId === undefined ? { qos: 1 } : { qos: 1, onlyToClientId: m.clientId },
    ),
  );
}
if (services.has('shadow')) {
  const shadow = await createShadowService({ db, bus, logger });
  closers.push(() => shadow.close());
}
if (services.has('jobs')) {
  const registry = createThingRegistry(db, arn, { logger });
  const jobs = await createJobsService({ db, bus, registry, arn, logger });
  closers.push(() => jobs.close());
  closers.push(() => registry.close());
  const group = await registry.createThingGroup({ thingGroupName: BENCH_THING_GROUP });
  // Concurrent registry calls share their fsyncs.
  await Promise.all(
    Array.from({ length: thingCount }, async (_, i) => {
      const thingName = benchThingName(i);
      await registry.createThing({ thingName });
      await registry.addThingToThingGroup({ thingName, thingGroupName: BENCH_THING_GROUP });
    }),
  );
  await jobs.createJob({
    jobId: BENCH_JOB_ID,
    targets: [group.thingGroupArn ?? ''],
    targetSelection: 'SNAPSHOT',
    document: '{"operation":"bench"}',
  });
  const described = jobs.describeJob({ jobId: BENCH_JOB_ID });
  const queued = described.job?.jobProcessDetails?.numberOfQueuedThings ?? 0;
  if (queued !== thingCount) throw new Error(`server-fixture: ${queued} of ${thingCount} executions queued`);
}

process.once('SIGTERM', () => {
  void (async () => {
    for (const close of closers) await close();
    await bus.close();
    await broker.close();
    db.close();
    process.exit(0);
  })();
});
process.stdout.write(`READY ${broker.tcpPort ?? '-'} ${broker.tlsPort ?? '-'}\n`);
