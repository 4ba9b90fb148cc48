import {
  jsonEqual,
  parseConfigDesired,
  parseConfigReported,
  shadowReplacement,
  toOtaText,
  type ConfigDesired,
  type ConfigReported,
} from '@otafleet/protocol';
import type { Clock, ConnectionState, MqttConnection } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import type { ApplicationSupervisor } from '../contracts.js';
import type { AgentJournal } from '../journal/types.js';
import { applyApplicationConfig, type ConfigTarget } from './config-apply.js';
import { SerialTask } from './serial-task.js';
import type { ShadowClient } from './shadow-client.js';

export interface ConfigShadowSyncOptions {
  /** The client of the `ota-config` named shadow (OTA_CONFIG_SHADOW_NAME). */
  readonly shadow: ShadowClient;
  readonly connection: Pick<MqttConnection, 'state' | 'onStateChange'>;
  readonly journal: Pick<AgentJournal, 'getMeta' | 'setMeta'>;
  readonly target: ConfigTarget;
  readonly supervisor: Pick<ApplicationSupervisor, 'running' | 'restart'>;
  /** The agent's own part of an applied configuration. */
  readonly onAgentSettings?: (settings: NonNullable<ConfigDesired['agent']>) => void;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Pause before trying again after a lost answer or a failed request (default 5 s). */
  readonly retryDelayMs?: number;
}

/** The answer last given, journaled before it is reported: repeated deltas and restarts do not apply twice. */
const META_ANSWER = 'configShadow.answer';

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

const versionOf = (desired: Readonly<Record<string, unknown>>): number | undefined => {
  const v = desired.version;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 ? v : undefined;
};

/**
 * The remote configuration (protocol's config shadow): on every connection and on every delta, reads `desired`
 * whole (the delta need not list `version`) and, for a version it has not answered, checks it against the schema
 * and byte budget, applies all of it or none, and answers in `reported`. Rejected (wrong types, too large): the
 * answer names the reason and the previous configuration stays, file untouched.
 */
export class ConfigShadowSync {
  readonly #o: ConfigShadowSyncOptions;
  readonly #task: SerialTask;
  #answer: ConfigReported | undefined;
  #loaded = false;
  readonly #unsubscribers: (() => void)[] = [];

  constructor(options: ConfigShadowSyncOptions) {
    this.#o = options;
    this.#task = new SerialTask(() => this.#pass(), {
      clock: options.clock,
      retryDelayMs: options.retryDelayMs ?? 5_000,
      canRun: () => options.connection.state.kind === 'connected',
      onError: (e) => options.logger.warn({ err: e }, 'configuration shadow sync failed; will retry'),
    });
  }

  /** The last answer (applied or rejected), undefined before the first. */
  get answer(): ConfigReported | undefined {
    return this.#answer;
  }

  start(): void {
    this.#unsubscribers.push(
      this.#o.connection.onStateChange((s: ConnectionState) => {
        if (s.kind === 'connected') this.#task.schedule(0);
      }),
      this.#o.shadow.onDelta(() => this.#task.schedule(0)),
    );
    if (this.#o.connection.state.kind === 'connected') this.#task.schedule(0);
  }

  /** Resolves once no pass is in progress. */
  idle(): Promise<void> {
    return this.#task.idle();
  }

  async close(): Promise<void> {
    for (const u of this.#unsubscribers.splice(0)) u();
    await this.#task.close();
  }

  async #loadAnswer(): Promise<void> {
    if (this.#loaded) return;
    const text = await this.#o.journal.getMeta(META_ANSWER);
    // An unreadable answer counts as none: the configuration is checked and applied again, which is harmless.
    const parsed = text === undefined ? undefined : parseConfigReported(safeJson(text));
    this.#answer = parsed?.ok === true ? parsed.value : undefined;
    this.#loaded = true;
  }

  async #pass(): Promise<void> {
    await this.#loadAnswer();
    const got = await this.#o.shadow.get();
    if (got.kind === 'rejected') {
      if (got.error.code === 404) return; // no configuration shadow yet
      throw new Error(`configuration shadow get refused: ${got.error.code} ${got.error.message}`);
    }
    const { desired, reported } = got.response.state;
    if (desired === undefined) return;
    const version = versionOf(desired);
    if (version === undefined) {
      this.#o.logger.warn({ desired }, 'configuration desired state has no usable version; cannot answer it');
      return;
    }
    let answer = this.#answer;
    if (answer?.version !== version) {
      const appliedVersion = answer?.appliedVersion ?? 0;
      if (version <= appliedVersion) {
        this.#o.logger.warn({ version, appliedVersion }, 'configuration version is not newer than the applied one');
        return;
      }
      answer = await this.#decide(desired, version, appliedVersion);
      await this.#o.journal.setMeta(META_ANSWER, JSON.stringify(answer));
      this.#answer = answer;
    }
    if (reported !== undefined && jsonEqual(reported, answer)) return; // answered already (a repeated delta)
    const update = await this.#o.shadow.update({ state: { reported: shadowReplacement(reported, { ...answer }) } });
    if (update.kind === 'rejected') {
      throw new Error(`configuration answer refused: ${update.error.code} ${update.error.message}`);
    }
    this.#o.logger.info({ ...answer }, 'configuration answered');
  }

  /** Checks and applies one desired configuration; never throws for bad input. */
  async #decide(
    desired: Readonly<Record<string, unknown>>,
    version: number,
    appliedVersion: number,
  ): Promise<ConfigReported> {
    const reject = (error: string): ConfigReported => {
      this.#o.logger.warn({ version, error }, 'configuration rejected; the previous one stays');
      return { version, status: 'rejected', appliedVersion, error: toOtaText(error) ?? 'rejected' };
    };
    const parsed = parseConfigDesired(desired);
    if (!parsed.ok) return reject(`${parsed.error.code}: ${parsed.error.message}`);
    try {
      const how = await applyApplicationConfig(parsed.value, this.#o.target, this.#o.supervisor);
      this.#o.logger.info({ version, path: this.#o.target.path, how }, 'configuration applied');
    } catch (e) {
      return reject(`CONFIG_APPLY_FAILED: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (parsed.value.agent !== undefined) this.#o.onAgentSettings?.(parsed.value.agent);
    return { version, status: 'applied', appliedVersion: version };
  }
}
