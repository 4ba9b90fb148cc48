/**
 * The bulk-registration benchmark's server process: the thing registry, the real Shadow and Jobs services (so
 * the Jobs membership listener runs as in production) and the SigV4 control plane on 127.0.0.1, over a fresh
 * SQLite file opened with openDatabase (WAL, synchronous=FULL). Also the process the registry crash test kills.
 *
 *   node --conditions=source --import tsx registry-server.ts --db <path> [--durability shared-sync|sync-per-call]
 *
 * Prints `READY <httpPort>`; SIGTERM closes everything, prints `STATS {"batches":…,"writes":…}` (the registry's
 * committed write batches) and exits 0.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import {
  buildControlPlane,
  createAedesBus,
  createJobsService,
  createShadowService,
  createThingRegistry,
  openDatabase,
  startEmbeddedBroker,
} from '../../src/index.js';
import { BENCH_CREDENTIALS, BENCH_REGION } from './names.js';

const { values } = parseArgs({
  options: { db: { type: 'string' }, durability: { type: 'string', default: 'shared-sync' } },
});
if (values.db === undefined) throw new Error('registry-server: --db <path> is required');
const durability = values.durability;
if (durability !== 'shared-sync' && durability !== 'sync-per-call') {
  throw new Error(`registry-server: --durability must be shared-sync or sync-per-call, got ${durability}`);
}
const arn = { region: BENCH_REGION, accountId: '123456789012' };
const logger = pino({ level: 'warn' }, pino.destination(2));

const broker = await startEmbeddedBroker({ logger: logger.child({}, { level: 'error' }) });
const bus = createAedesBus(broker.aedes, logger);
const db = openDatabase(values.db);
const batches = { batches: 0, writes: 0 };
const registry = createThingRegistry(db, arn, {
  logger,
  durability,
  onWriteBatch: (writes) => {
    batches.batches += 1;
    batches.writes += writes;
  },
});
const shadows = await createShadowService({ db, bus, logger });
const jobs = await createJobsService({ db, bus, registry, arn, logger });
const http = buildControlPlane({
  registry,
  shadows,
  jobs,
  credentials: [BENCH_CREDENTIALS],
  region: arn.region,
  logger,
});
await http.listen({ host: '127.0.0.1', port: 0 });
const address = http.server.address();
process.stdout.write(`READY ${typeof address === 'object' && address !== null ? address.port : 0}\n`);

process.once('SIGTERM', () => {
  void (async () => {
    await http.close();
    await jobs.close();
    await shadows.close();
    await registry.close();
    await bus.close();
    await broker.close();
    db.close();
    process.stdout.write(`STATS ${JSON.stringify(batches)}\n`);
    process.exit(0);
  })();
});
