import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadTrustStore, type TrustStore } from '@otafleet/bundle';
import {
  awsIotSdkTransport,
  createMqttConnection,
  mqttJsTransport,
  type MqttConnection,
  type MqttTransport,
} from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import type { AgentConfig } from './config/schema.js';
import type {
  AgentStatusSource,
  ApplicationSupervisor,
  DeviceFacts,
  DurablePublish,
  HealthCheckRunner,
  HealthCounterSource,
  SlotStatus,
} from './contracts.js';
import { DeviceFacing } from './device-facing.js';
import { JobReporter } from './jobs/job-reporter.js';
import { JobsClient } from './jobs/jobs-client.js';
import { JobsRunner } from './jobs/jobs-runner.js';
import { openSqliteJournal } from './journal/sqlite-journal.js';
import type { AgentJournal, JournalDatabase } from './journal/types.js';
import { DurableOutbox } from './outbox/outbox.js';
import { DirectorySlotBackend, type SlotBackend, type SlotState } from './slots/index.js';
import { createDirectoryBundleInstaller, createHttpBundleFetcher } from './update/bundle-adapters.js';
import { DEFAULT_UPDATE_LIMITS, type UpdateLimits } from './update/context.js';
import { createHealthCheckRunner } from './health-checks/index.js';
import { AgentSlotBackend, readAgentSlots, type AgentSlot } from './self-update/index.js';
import { createApplicationSupervisor, type SupervisedApplication } from './supervisor/index.js';
import {
  systemAgentClock,
  type AgentClock,
  type BundleFetcher,
  type BundleInstaller,
  type StepHook,
} from './update/ports.js';
import type { KernelBootIdSource } from './health-report/boot-identity.js';
import { logSubscribeFailure } from './subscribe-failure.js';

/** What the simulator (or a test) replaces; everything absent is built from the configuration. */
export interface AgentDeps {
  readonly logger: Logger;
  /** Epoch-ms clock for deadlines, timers, backoff. */
  readonly clock?: AgentClock;
  readonly journal?: AgentJournal;
  readonly slots?: SlotBackend;
  /** The MQTT connection (idle: the agent starts it), or the transport to build one on. */
  readonly connection?: MqttConnection;
  readonly transport?: MqttTransport;
  readonly fetcher?: BundleFetcher;
  readonly installer?: BundleInstaller;
  readonly supervisor?: ApplicationSupervisor;
  readonly health?: HealthCheckRunner;
  readonly trust?: TrustStore;
  /** After each journal write, before its action; also the slot backend's steps. */
  readonly onStep?: StepHook;
  readonly limits?: Partial<UpdateLimits>;
  readonly agentVersion?: string;
  /** Counters since boot for the health report (default: crashes from the supervisor, the rest 0). */
  readonly counters?: HealthCounterSource;
  /** The kernel's id of this boot (default: read from /proc; tests and the simulator's virtual devices give theirs). */
  readonly kernelBootId?: KernelBootIdSource;
  /**
   * The agent's own slots, when the self-update launcher started this process (OTAAGENT_SLOTS_ROOT, OTAAGENT_SLOT):
   * jobs of component `agent` install there; `restartAgent` ends the process with exit 75 after a clean shutdown.
   */
  readonly agentSlots?: { readonly root: string; readonly slot: AgentSlot; readonly restartAgent: () => void };
}

export interface Agent {
  readonly device: DeviceFacts;
  readonly connection: MqttConnection;
  readonly status: AgentStatusSource;
  /** Shadow sync, configuration shadow, health reports, local endpoint. */
  readonly deviceFacing: DeviceFacing;
  /** QoS 1 through the durable outbox (DurablePublish of contracts.ts). */
  readonly publish: DurablePublish;
  /** The application's restarts and crashes since boot, for health reports (zeros with an injected supervisor). */
  readonly counters: HealthCounterSource;
  /** Forwards SIGHUP to the application (its configuration changed); false when it does not run. */
  reloadApplication(): boolean;
  /** Boot step, application start, connection, jobs. Resolves once running (not once connected). */
  start(): Promise<void>;
  /** Stops taking work; the update in flight stays journaled at its state; closes everything it opened. */
  close(): Promise<void>;
}

export const AGENT_VERSION = '0.1.0';

async function transportFor(config: AgentConfig): Promise<MqttTransport> {
  const b = config.broker;
  const read = (p: string | undefined): Promise<string | undefined> =>
    p === undefined ? Promise.resolve(undefined) : readFile(p, 'utf8');
  if (b.kind === 'aws-iot') {
    const [ca, cert, key] = await Promise.all([read(b.caFile), read(b.certFile), read(b.keyFile)]);
    return awsIotSdkTransport({
      host: b.endpoint,
      port: b.port ?? 8883,
      cert: cert ?? '',
      key: key ?? '',
      ...(ca === undefined ? {} : { ca }),
    });
  }
  const [ca, cert, key] = await Promise.all([read(b.caFile), read(b.certFile), read(b.keyFile)]);
  const tls = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  };
  return mqttJsTransport({ url: b.url, ...(Object.keys(tls).length === 0 ? {} : { tls }) });
}

/** The application from the active slot of directory slots, as the configuration names it. */
function superviseApplication(config: AgentConfig, clock: AgentClock, logger: Logger): SupervisedApplication {
  const env = {
    ...config.application.env,
    ...(config.application.port === undefined ? {} : { PORT: String(config.application.port) }),
  };
  return createApplicationSupervisor({
    command: config.application.command,
    cwd: join(config.slots.root, 'current'),
    env,
    clock,
    logger: logger.child({ component: 'app' }),
  });
}

/** The composition root: wires the journal, slots, MQTT, Jobs and the update flow for one device. */
export async function createAgent(config: AgentConfig, deps: AgentDeps): Promise<Agent> {
  const logger = deps.logger;
  const clock = deps.clock ?? systemAgentClock;
  const onStep: StepHook = deps.onStep ?? (() => undefined);
  // Under the launcher the running agent is the release its slot records (what its signed bundle said).
  const slotRelease =
    deps.agentSlots === undefined ? undefined : readAgentSlots(deps.agentSlots.root).versions[deps.agentSlots.slot];
  const device: DeviceFacts = {
    thingName: config.thingName,
    hardwareType: config.hardwareType,
    agentVersion: deps.agentVersion ?? slotRelease?.version ?? AGENT_VERSION,
  };
  let db: JournalDatabase | undefined;
  const journal =
    deps.journal ?? (db = openSqliteJournal(join(config.dataDir, 'journal.db'))).forThing(config.thingName);
  if (journal.reset !== undefined) logger.error({ ...journal.reset }, 'journal was unreadable; started a fresh one');
  const trust = deps.trust ?? (await loadTrustStore(config.trustStore));

  const connection =
    deps.connection ??
    createMqttConnection({
      transport: deps.transport ?? (await transportFor(config)),
      clientId: config.thingName,
      ...(config.broker.keepaliveSeconds === undefined ? {} : { keepaliveSeconds: config.broker.keepaliveSeconds }),
      clock,
      logger: logger.child({ component: 'mqtt' }),
    });

  const supervised = deps.supervisor === undefined ? superviseApplication(config, clock, logger) : undefined;
  const supervisor: ApplicationSupervisor = deps.supervisor ?? supervised!;
  const slots =
    deps.slots ??
    new DirectorySlotBackend({ root: config.slots.root, logger, onStep, restart: () => supervisor.restart() });
  const health = deps.health ?? createHealthCheckRunner({ supervisor, clock, broker: () => status.broker() });
  const fetcher =
    deps.fetcher ??
    createHttpBundleFetcher({
      dir: join(config.dataDir, 'downloads'),
      journal,
      trust,
      clock,
      logger: logger.child({ component: 'download' }),
    });
  const installer =
    deps.installer ??
    createDirectoryBundleInstaller({ incomingDir: join(config.slots.root, 'incoming'), trust, clock });
  const self = deps.agentSlots;
  const agentSlots =
    self === undefined
      ? undefined
      : new AgentSlotBackend({
          root: self.root,
          running: self.slot,
          factoryRelease: { name: 'otaagent', version: device.agentVersion, securityVersion: 0 },
          restartAgent: self.restartAgent,
          logger,
          onStep,
        });
  // Agent releases unpack beside the agent slots (one file system: the install is a rename).
  const agentInstaller =
    self === undefined
      ? undefined
      : createDirectoryBundleInstaller({ incomingDir: join(self.root, 'incoming'), trust, clock });
  let agentSlotState: SlotState | undefined;

  const jobs = new JobsClient({
    connection,
    thingName: config.thingName,
    clock,
    logger: logger.child({ component: 'jobs' }),
  });
  const reporter = new JobReporter({
    journal,
    jobs,
    connection,
    clock,
    logger: logger.child({ component: 'job-status' }),
  });
  const outbox = new DurableOutbox({ journal, connection, clock, logger: logger.child({ component: 'outbox' }) });
  const limits = { ...DEFAULT_UPDATE_LIMITS, ...deps.limits };
  let runner: JobsRunner | undefined;
  let slotState: SlotState | undefined;

  const status: AgentStatusSource = {
    update: () => runner?.status() ?? { current: undefined, lastUpdate: undefined, rollbackCount: 0 },
    slots: (): SlotStatus => {
      const s = slotState;
      if (s === undefined) return { activeSlot: 'A', running: undefined, previous: undefined, slots: {} };
      const strip = (c: SlotState['versions']['A']) =>
        c === undefined ? undefined : { name: c.name, version: c.version, securityVersion: c.securityVersion };
      const other = s.booted === 'A' ? 'B' : 'A';
      const all: SlotStatus['slots'] = {
        ...(s.versions.A === undefined ? {} : { A: strip(s.versions.A)! }),
        ...(s.versions.B === undefined ? {} : { B: strip(s.versions.B)! }),
      };
      return {
        activeSlot: s.booted,
        running: strip(s.versions[s.booted]),
        previous: strip(s.versions[other]),
        slots: all,
      };
    },
    broker: () => ({ connected: connection.state.kind === 'connected', shadowSynced: deviceFacing.shadowSynced }),
  };
  const deviceFacing = deviceFacingFor(config, deps, {
    device,
    connection,
    journal,
    publish: outbox.publish,
    status,
    slotState: () => slotState,
    supervisor,
    counters: supervised,
    clock,
    agentSlots: () => agentSlotState,
  });

  let closing: Promise<void> | undefined;
  return {
    device,
    connection,
    status,
    deviceFacing,
    publish: outbox.publish,
    counters: supervised ?? { counters: () => ({ processRestarts: 0, crashes: 0, errors: 0, requests: 0 }) },
    reloadApplication: () => supervised?.reload() ?? false,
    async start() {
      // The boot step first: it decides which slot runs (and counts a trial start) before anything reads it.
      const boot = await slots.recordBootAttempt();
      slotState = boot;
      logger.info(
        { booted: boot.booted, committed: boot.committed, trial: boot.trial, failedTrial: boot.failedTrial },
        'boot step',
      );
      agentSlotState = await agentSlots?.recordBootAttempt();
      if (agentSlotState !== undefined) {
        const { booted, committed, trial, failedTrial } = agentSlotState;
        logger.info({ booted, committed, trial, failedTrial, agentVersion: device.agentVersion }, 'agent slots');
      }
      await supervisor.start();
      connection.onStateChange((state) => {
        if (state.kind === 'connected') {
          logger.info(
            { connectionCount: state.connectionCount, protocolVersion: state.protocolVersion },
            'connected to the broker',
          );
        }
        void slots.state().then(
          (s) => {
            slotState = s;
            deviceFacing.changed();
          },
          () => undefined,
        );
      });
      // Subscribed before connecting: every filter goes out in the new session's first SUBSCRIBE.
      jobs.start().catch((e: unknown) => logSubscribeFailure(logger, e, {}, 'subscribing to Jobs topics failed'));
      deviceFacing.subscribe();
      connection.start();
      reporter.start();
      outbox.start();
      runner = new JobsRunner({
        ctx: {
          component: 'application',
          device,
          journal,
          slots,
          fetcher,
          installer,
          health,
          supervisor,
          clock,
          logger: logger.child({ component: 'update' }),
          onStep: async (step) => {
            await onStep(step);
            slotState = await slots.state().catch(() => slotState);
            agentSlotState = (await agentSlots?.state().catch(() => agentSlotState)) ?? agentSlotState;
            deviceFacing.changed();
          },
          limits,
        },
        jobs,
        reporter,
        connection,
        bootSlots: boot,
        onOutcome: () => deviceFacing.changed(),
        ...(agentSlots === undefined || agentInstaller === undefined || agentSlotState === undefined
          ? {}
          : { agentSelf: { slots: agentSlots, installer: agentInstaller, bootSlots: agentSlotState } }),
      });
      await runner.start();
      await deviceFacing.start();
    },
    close() {
      closing ??= (async () => {
        const stopping = runner?.stop();
        jobs.close(); // requests waiting for an answer give way at once
        await stopping;
        await deviceFacing.close();
        await connection.close();
        await Promise.all([reporter.close(), outbox.close()]);
        await supervisor.stop();
        db?.close();
      })();
      return closing;
    },
  };
}

/** The device-facing parts (shadow, configuration, health reports, local endpoint) on the agent's own parts. */
function deviceFacingFor(
  config: AgentConfig,
  deps: AgentDeps,
  parts: {
    readonly device: DeviceFacts;
    readonly connection: MqttConnection;
    readonly journal: AgentJournal;
    readonly publish: DurablePublish;
    readonly status: AgentStatusSource;
    readonly slotState: () => SlotState | undefined;
    readonly supervisor: ApplicationSupervisor;
    /** The supervisor's restart and crash counts, when the agent supervises the application itself. */
    readonly counters: HealthCounterSource | undefined;
    readonly clock: AgentClock;
    /** The agent's own slots under the self-update launcher, for /status. */
    readonly agentSlots: () => SlotState | undefined;
  },
): DeviceFacing {
  const { connection, status } = parts;
  const counters = deps.counters ?? parts.counters;
  return new DeviceFacing({
    config,
    device: parts.device,
    connection,
    journal: parts.journal,
    publish: parts.publish,
    status: {
      update: () => status.update(),
      slots: () => status.slots(),
      connected: () => connection.state.kind === 'connected',
      committed: () => {
        const s = parts.slotState();
        return s !== undefined && s.trial === undefined && s.booted === s.committed;
      },
    },
    supervisor: parts.supervisor,
    ...(counters === undefined ? {} : { counters }),
    clock: parts.clock,
    logger: deps.logger.child({ component: 'device' }),
    ...(deps.kernelBootId === undefined ? {} : { kernelBootId: deps.kernelBootId }),
    setLogLevel: (level) => (deps.logger.level = level),
    extraStatus: () => {
      const s = parts.agentSlots();
      if (s === undefined) return {};
      const release = (slot: 'A' | 'B') => {
        const v = s.versions[slot];
        return v === undefined ? null : { name: v.name, version: v.version, securityVersion: v.securityVersion };
      };
      return {
        agentSlots: {
          running: s.booted,
          committed: s.committed,
          trial: s.trial ?? null,
          failedTrial: s.failedTrial ?? null,
          releases: { A: release('A'), B: release('B') },
        },
      };
    },
  });
}
