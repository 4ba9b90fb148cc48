import { join } from 'node:path';
import { OTA_CONFIG_SHADOW_NAME } from '@otafleet/protocol';
import type { Clock, MqttConnection } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import type { AgentConfig } from './config/schema.js';
import type {
  AgentStatusSource,
  ApplicationSupervisor,
  DeviceFacts,
  DurablePublish,
  HealthCounterSource,
} from './contracts.js';
import { resolveBootIdentity, type BootIdentity, type KernelBootIdSource } from './health-report/boot-identity.js';
import { HealthReporter } from './health-report/health-reporter.js';
import type { AgentJournal } from './journal/types.js';
import { startLocalEndpoint, type LocalEndpoint } from './local-api/local-endpoint.js';
import { ConfigShadowSync } from './shadow/config-sync.js';
import { buildReportedState } from './shadow/reported-state.js';
import { ReportedStateSync } from './shadow/reported-sync.js';
import { ShadowClient } from './shadow/shadow-client.js';
import { logSubscribeFailure } from './subscribe-failure.js';

export const DEFAULT_HEALTH_REPORT_INTERVAL_SECONDS = 300;

export interface DeviceFacingOptions {
  readonly config: AgentConfig;
  readonly device: DeviceFacts;
  readonly connection: MqttConnection;
  readonly journal: AgentJournal;
  readonly publish: DurablePublish;
  /** The agent's status, without the shadow flag this module provides. */
  readonly status: Pick<AgentStatusSource, 'update' | 'slots'> & {
    readonly connected: () => boolean;
    readonly committed: () => boolean;
  };
  readonly supervisor: ApplicationSupervisor;
  readonly counters?: HealthCounterSource;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly kernelBootId?: KernelBootIdSource;
  /** The remote configuration's log level, for the agent's root logger (a child's level is its own). */
  readonly setLogLevel?: (level: string) => void;
  /** More for the local endpoint's /status (the agent's own slots under the self-update launcher). */
  readonly extraStatus?: () => Readonly<Record<string, unknown>>;
}

/**
 * The device-facing parts (issue 9): the reported shadow, the configuration shadow, health reports and the local
 * endpoint, built from the agent's parts and its configuration. `shadowSynced` feeds AgentStatusSource.broker().
 */
export class DeviceFacing {
  readonly #o: DeviceFacingOptions;
  readonly #startedAt: number;
  readonly #classic: ShadowClient;
  readonly #configShadow: ShadowClient;
  #reported: ReportedStateSync | undefined;
  #config: ConfigShadowSync | undefined;
  #health: HealthReporter | undefined;
  #endpoint: LocalEndpoint | undefined;
  #boot: BootIdentity | undefined;
  #closed = false;
  #subscribed = false;

  constructor(options: DeviceFacingOptions) {
    this.#o = options;
    this.#startedAt = options.clock.now();
    const common = {
      connection: options.connection,
      thingName: options.device.thingName,
      clock: options.clock,
      logger: options.logger.child({ component: 'shadow' }),
    };
    this.#classic = new ShadowClient(common);
    // Updated only to answer a desired configuration: its update answers are subscribed to when one comes.
    this.#configShadow = new ShadowClient({
      ...common,
      shadowName: OTA_CONFIG_SHADOW_NAME,
      updateAnswers: 'at-first-update',
    });
  }

  get shadowSynced(): boolean {
    return this.#reported?.synced ?? false;
  }

  /** The local endpoint's port once listening (0 in the configuration: none). */
  get localEndpointPort(): number | undefined {
    return this.#endpoint?.port;
  }

  /** The full status source, for the local endpoint and whoever else reads it. */
  readonly status: AgentStatusSource = {
    update: () => this.#o.status.update(),
    slots: () => this.#o.status.slots(),
    broker: () => ({ connected: this.#o.status.connected(), shadowSynced: this.shadowSynced }),
  };

  /**
   * Subscribes the shadows' topics (once; start() does it too). The agent calls it before it connects, so these
   * filters and the Jobs ones go out together in the session's first SUBSCRIBE. Not awaited: made while offline
   * they wait for the connection, and "connected" means they are active.
   */
  subscribe(): void {
    if (this.#subscribed) return;
    this.#subscribed = true;
    for (const client of [this.#classic, this.#configShadow]) {
      client
        .start()
        .catch((e: unknown) =>
          logSubscribeFailure(this.#o.logger, e, { shadow: client.label }, 'shadow subscribe failed'),
        );
    }
  }

  async start(): Promise<void> {
    const { config, device, connection, journal, clock, logger, supervisor } = this.#o;
    const boot = await resolveBootIdentity(journal, {
      ...(this.#o.kernelBootId === undefined ? {} : { kernelBootId: this.#o.kernelBootId }),
    });
    this.#boot = boot;
    logger.info({ ...boot }, 'boot identity');
    this.subscribe();

    this.#reported = new ReportedStateSync({
      shadow: this.#classic,
      connection,
      build: () => buildReportedState(device, boot, this.#o.status),
      clock,
      logger: logger.child({ component: 'shadow' }),
      onDelta: (delta) =>
        logger.info(
          { keys: Object.keys(delta) },
          'classic shadow desired differs from reported; the agent reports its truth',
        ),
    });
    const counters: HealthCounterSource = this.#o.counters ?? {
      counters: () => ({
        processRestarts: 0,
        crashes: supervisor.crashesSince(this.#startedAt),
        errors: 0,
        requests: 0,
      }),
    };
    this.#health = new HealthReporter({
      device,
      boot,
      status: this.status,
      supervisor,
      counters,
      startedAt: this.#startedAt,
      journal,
      publish: this.#o.publish,
      clock,
      logger: logger.child({ component: 'health-report' }),
      intervalSeconds: config.healthReportIntervalSeconds ?? DEFAULT_HEALTH_REPORT_INTERVAL_SECONDS,
    });
    const remote = config.remoteConfig;
    this.#config = new ConfigShadowSync({
      shadow: this.#configShadow,
      connection,
      journal,
      target: {
        path: remote?.path ?? join(config.dataDir, 'remote-config.json'),
        onChange: remote?.onChange ?? 'restart',
      },
      supervisor,
      onAgentSettings: (s) => {
        if (s.logLevel !== undefined) (this.#o.setLogLevel ?? ((l) => (logger.level = l)))(s.logLevel);
        if (s.healthReportIntervalSeconds !== undefined)
          this.#health?.setIntervalSeconds(s.healthReportIntervalSeconds);
      },
      clock,
      logger: logger.child({ component: 'config-shadow' }),
    });
    this.#reported.start();
    this.#config.start();
    this.#health.start();
    const port = config.localEndpointPort ?? 0;
    if (port > 0) {
      this.#endpoint = await startLocalEndpoint(
        {
          device,
          status: this.status,
          committed: this.#o.status.committed,
          startedAt: this.#startedAt,
          now: () => clock.now(),
          extra: () => ({
            boot: this.#boot,
            configuration: this.#config?.answer ?? null,
            healthReportsSent: this.#health?.sent ?? 0,
            ...this.#o.extraStatus?.(),
          }),
        },
        { port, logger: logger.child({ component: 'local-endpoint' }) },
      );
    }
  }

  /**
   * The device's state may have changed: report what did. Every change the reported state carries is announced
   * here (the update flow's steps and outcome, the slots read after a reconnect); no timer polls for them, as an
   * idle device should cost nothing between keepalives (the simulator runs 50,000 in one process).
   */
  changed(): void {
    if (this.#closed) return;
    this.#reported?.changed();
    this.#health?.updateFinished();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#endpoint?.close();
    await Promise.all([this.#reported?.close(), this.#config?.close(), this.#health?.close()]);
    this.#classic.close();
    this.#configShadow.close();
  }
}
