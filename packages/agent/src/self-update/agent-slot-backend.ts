import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { asSlotError, SlotError } from '../slots/errors.js';
import { fsyncPath, fsyncTree, moveTree } from '../slots/durable-fs.js';
import { assertArmable, assertInstallTarget, checkSlotId, commitDecision } from '../slots/rules.js';
import type { InstallSource, SlotBackend, SlotContents, SlotId, SlotState, SlotStepHook } from '../slots/types.js';
// The state file's rules live once, in the launcher's plain-JS module (it runs before any build).
import {
  agentSlotDir,
  armAgentTrial,
  commitAgentTrial,
  readAgentSlots,
  recordAgentRelease,
  rollBackAgentTrial,
  type AgentSlot,
} from '../../bin/agent-slot-state.js';

export interface AgentSlotBackendOptions {
  /** The launcher's `--root` (OTAAGENT_SLOTS_ROOT). */
  readonly root: string;
  /** The slot this process was started from (OTAAGENT_SLOT). */
  readonly running: AgentSlot;
  /**
   * What the running agent is when its slot has no recorded release (the factory install): its own version.
   * Its manifestSha256 is empty, so it never counts as a committed release an operator rollback may return to.
   */
  readonly factoryRelease: Omit<SlotContents, 'manifestSha256'>;
  /** Ends this agent process with EXIT_RESTART_INTO_TRIAL, after a clean shutdown: the launcher starts again. */
  readonly restartAgent: () => void;
  readonly logger: Logger;
  readonly onStep?: SlotStepHook;
}

/**
 * The agent's own A/B slots as a slot backend, so an update of component `agent` runs through the same journaled
 * flow as an application update. The launcher (bin/otaagent-launcher.js) is the bootloader: it counts the starts of
 * a trial and falls back to the committed agent when they run out. The switch ends this process (exit 75) and the
 * launcher starts the other agent, hence `activation: 'reboot'`: the flow continues in the next agent from the
 * journal they share.
 */
export class AgentSlotBackend implements SlotBackend {
  readonly kind = 'agent' as const;
  readonly activation = 'reboot' as const;
  readonly accepts = ['directory'] as const;
  readonly #o: AgentSlotBackendOptions;
  readonly #onStep: SlotStepHook;
  readonly #logger: Logger;

  constructor(options: AgentSlotBackendOptions) {
    this.#o = options;
    this.#onStep = options.onStep ?? (() => undefined);
    this.#logger = options.logger.child({ component: 'agent-slots' });
  }

  state(): Promise<SlotState> {
    return Promise.resolve(this.#read());
  }

  /** The launcher counted this start already; nothing to do but read. */
  recordBootAttempt(): Promise<SlotState> {
    return this.state();
  }

  async install(slot: SlotId, source: InstallSource, contents: SlotContents): Promise<void> {
    checkSlotId(slot);
    if (source.kind !== 'directory') {
      throw new SlotError('SLOT_SOURCE_UNSUPPORTED', `agent slots take a directory tree, not a ${source.kind}`);
    }
    assertInstallTarget(this.#read(), slot);
    const dir = agentSlotDir(this.#o.root, slot);
    try {
      await this.#onStep('agent-install:forget');
      recordAgentRelease(this.#o.root, slot, null); // empty from the first write until everything is durable
      await this.#onStep('agent-install:write');
      await rm(dir, { recursive: true, force: true });
      await mkdir(dirname(dir), { recursive: true });
      await moveTree(source.path, dir);
      await fsyncTree(dir);
      await fsyncPath(dirname(dir));
      await this.#onStep('agent-install:record');
      recordAgentRelease(this.#o.root, slot, contents);
    } catch (e) {
      throw asSlotError(e, `installing the agent into slot ${slot}`);
    }
    this.#logger.info({ slot, version: contents.version }, 'agent release installed');
  }

  armTrial(slot: SlotId, maxAttempts: number): Promise<SlotState> {
    assertArmable(this.#read(), checkSlotId(slot), maxAttempts);
    this.#write(() => armAgentTrial(this.#o.root, slot, maxAttempts), 'arming the agent trial');
    return this.state();
  }

  commit(): Promise<SlotState> {
    if (commitDecision(this.#read()) === 'commit') {
      this.#write(() => commitAgentTrial(this.#o.root, this.#o.running), 'committing the agent slot');
      this.#logger.info({ slot: this.#o.running }, 'new agent committed');
    }
    return this.state();
  }

  rollback(): Promise<SlotState> {
    this.#write(() => rollBackAgentTrial(this.#o.root), 'rolling the agent trial back');
    return this.state();
  }

  /** The armed trial (or the way back) takes effect when this agent exits and the launcher starts the next. */
  async activate(): Promise<void> {
    await this.#onStep('agent-activate');
    this.#logger.info({ running: this.#o.running }, 'restarting the agent through its launcher');
    this.#o.restartAgent();
  }

  #read(): SlotState {
    let s;
    try {
      s = readAgentSlots(this.#o.root);
    } catch (e) {
      throw new SlotError('SLOT_STATE_CORRUPT', e instanceof Error ? e.message : String(e), { cause: e });
    }
    const running = this.#o.running;
    const versions: Partial<Record<SlotId, SlotContents>> = { ...s.versions };
    versions[running] ??= { ...this.#o.factoryRelease, manifestSha256: '' };
    return {
      booted: running,
      committed: s.committed,
      trial:
        s.trial === null
          ? undefined
          : { slot: s.trial.slot, attempts: s.trial.attempts, maxAttempts: s.trial.maxAttempts },
      failedTrial:
        s.failedTrial === null
          ? undefined
          : {
              slot: s.failedTrial.slot,
              attempts: s.failedTrial.attempts,
              maxAttempts: s.failedTrial.maxAttempts,
              reason: s.failedTrial.reason,
            },
      versions,
    };
  }

  #write(change: () => unknown, what: string): void {
    try {
      change();
    } catch (e) {
      throw asSlotError(e, what);
    }
  }
}
