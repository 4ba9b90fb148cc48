import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  createAgent,
  provisionVirtualSlots,
  VirtualSlotBackend,
  type Agent,
  type AgentConfig,
  type JournalDatabase,
  type VirtualSlotStore,
} from '@otafleet/agent';
import { createMqttConnection, mqttJsStreamTransport } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import { randomFor } from '../faults/random.js';
import type { BootPacer } from './boot-pacer.js';
import { virtualFetcher, virtualInstaller, type ThreadBundles } from './bundles.js';
import type { DeviceObservation, DevicePhase, VirtualDeviceSpec } from './contracts.js';
import { flatString } from './flat-string.js';
import type { TallyCounts } from './tally.js';
import { AgentLife } from './life.js';
import { DeviceLink, type StreamOpener } from './link.js';
import { emptyTrafficLog, observedTransport, type TrafficLog, type TrafficWatcher } from './observed-transport.js';
import { virtualHealthRunner, virtualSupervisor } from './virtual-app.js';

/** What all devices of one thread share. */
export interface DeviceThread {
  readonly journalDb: JournalDatabase;
  readonly slotStore: VirtualSlotStore;
  readonly bundles: ThreadBundles;
  readonly open: StreamOpener;
  /** 4 for the embedded broker (aedes speaks 3.1.1), 'auto' for any other endpoint. */
  readonly protocolVersion: 4 | 'auto';
  /** Silent, and its child() returns itself: devices add no logger objects. */
  readonly agentLogger: Logger;
  readonly logger: Logger;
  readonly seed: number;
  readonly dataDir: string;
  readonly healthReportIntervalSeconds: number;
  /** Epoch ms the fleet started: offline windows count from it. */
  readonly fleetStartedAt: number;
  /** Bounds the devices of this thread booting at once (start to connected and subscribed). */
  readonly bootPacer: BootPacer;
  /** The thread's tally, kept current by its devices (each applies the change in its own share). */
  readonly tally: TallyCounts;
}

/** systemd's RestartSec for an agent that crashed. */
const CRASH_RESTART_MS = 200;
/** A reboot's graceful agent stop; then it is killed. */
const STOP_GRACE_MS = 5_000;
/** An agent that failed to start (a handshake lost under load) is started again, as systemd would. */
const START_RETRY_MS = 200;
/** A boot holds its pacer slot at most this long (a device whose link is down must not block the others). */
const BOOT_SLOT_MS = 20_000;

/** A factory release's identity: the virtual slots want a manifest digest for it. */
const factoryDigest = (name: string, version: string): string =>
  createHash('sha256').update(`factory:${name}@${version}`).digest('hex');

/**
 * The agents' MQTT keepalive (the agent's own default is 30 s; `broker.keepaliveSeconds` sets it on a device). 60:
 * mqtt.js's default, so the idle bench's bare clients ping as often. Tens of thousands of agents share one busy
 * thread here; at 30 s a ping that waits 15 s behind other work times its client out, and the reconnects that
 * follow delay the next pings: 50,000 idle agents fell into that loop.
 */
const VIRTUAL_KEEPALIVE_SECONDS = 60;

/** A device's share of its thread's tally, as bits: online, connected once, ready (FleetTally's meanings). */
const ONLINE = 1;
const CONNECTED_ONCE = 2;
const READY = 4;
/** +1, -1 or 0: how `bit` changed from `was` to `now`. */
const change = (was: number, now: number, bit: number): number =>
  ((now & bit) === 0 ? 0 : 1) - ((was & bit) === 0 ? 0 : 1);

/** A UUID-shaped id for one virtual boot (what /proc/sys/kernel/random/boot_id holds on Linux). */
function virtualBootId(boot: string): string {
  const h = createHash('sha256').update(boot).digest('hex');
  return flatString(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`);
}

/**
 * One virtual device: the agent's real code (createAgent) on virtual slots, a virtual application and the
 * device's link, with its faults applied. It survives its agent: crashes and power cuts kill the agent's run
 * (AgentLife) and start a new one from the journal; a reboot (the slots' activate) stops it gracefully first.
 */
export class VirtualDevice implements TrafficWatcher {
  readonly spec: VirtualDeviceSpec;
  readonly #t: DeviceThread;
  readonly #link: DeviceLink;
  readonly #traffic: TrafficLog = emptyTrafficLog(this);
  readonly #corrupted = new Set<string>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #life: AgentLife | undefined;
  #agent: Agent | undefined;
  /** Stops this life's connection from telling #recount of its state changes. */
  #unwatch: (() => void) | undefined;
  /** This device's share of the thread's tally as last counted (ONLINE | CONNECTED_ONCE | READY bits). */
  #counted = 0;
  #lastPhase: DevicePhase = 'idle';
  #starts = 0;
  #reboots = 0;
  #powerCuts = 0;
  #crashed = false;
  #cut = false;
  #closed = false;

  constructor(spec: VirtualDeviceSpec, thread: DeviceThread) {
    this.spec = spec;
    this.#t = thread;
    this.#link = new DeviceLink(thread.open, spec.thingName);
  }

  /** Joins now or after `joinAfterMs`; network faults count from the join. */
  start(): void {
    const f = this.spec.faults;
    this.#after(this.spec.joinAfterMs ?? 0, () => {
      this.#boot();
      for (const d of f.networkDrops ?? []) {
        this.#after(d.atMs, () => this.#setLinkDown(`drop@${d.atMs}`, true));
        this.#after(d.atMs + d.forMs, () => this.#setLinkDown(`drop@${d.atMs}`, false));
      }
      if (f.flapping !== undefined) this.#flap(f.flapping.upMs, f.flapping.downMs);
    });
    const sinceFleet = Date.now() - this.#t.fleetStartedAt;
    (f.offlineWindows ?? []).forEach((w, i) => {
      this.#after(w.fromMs - sinceFleet, () => this.#setLinkDown(`offline#${i}`, true));
      this.#after(w.toMs - sinceFleet, () => this.#setLinkDown(`offline#${i}`, false));
    });
  }

  /** The link's up/down is an input of #online: recount on every change. */
  #setLinkDown(reason: string, down: boolean): void {
    this.#link.setDown(reason, down);
    this.#recount();
  }

  #after(ms: number, fn: () => void): void {
    if (this.#closed) return;
    const t = setTimeout(
      () => {
        this.#timers.delete(t);
        if (!this.#closed) fn();
      },
      Math.max(0, ms),
    );
    this.#timers.add(t);
  }

  /** Up for upMs, down for downMs, from a seeded point in the cycle. */
  #flap(upMs: number, downMs: number): void {
    const offset = Math.floor(randomFor(this.#t.seed, 'flap', this.spec.thingName)() * upMs);
    const down = (): void => {
      this.#setLinkDown('flapping', true);
      this.#after(downMs, up);
    };
    const up = (): void => {
      this.#setLinkDown('flapping', false);
      this.#after(upMs, down);
    };
    this.#after(upMs - offset, down);
  }

  #runningVersion(): string | undefined {
    const text = this.#t.slotStore.get(this.spec.thingName);
    if (text === undefined) return undefined;
    const r = JSON.parse(text) as {
      booted?: 'A' | 'B' | null;
      committed?: 'A' | 'B';
      versions?: Partial<Record<'A' | 'B', { version?: string } | null>>;
    };
    const slot = r.booted ?? r.committed;
    return slot === undefined ? undefined : (r.versions?.[slot]?.version ?? undefined);
  }

  #config(): AgentConfig {
    const dir = flatString(join(this.#t.dataDir, 'devices', this.spec.thingName));
    return {
      thingName: this.spec.thingName,
      hardwareType: this.spec.hardwareType,
      dataDir: dir,
      // Unused: the simulator injects the connection, slots, trust and application.
      broker: { kind: 'mqtt', url: 'mqtt://virtual' },
      slots: { kind: 'directory', root: flatString(join(dir, 'slots')) },
      trustStore: flatString(join(dir, 'trust.json')),
      application: { command: ['virtual-application'] },
      healthReportIntervalSeconds: this.#t.healthReportIntervalSeconds,
      logLevel: 'silent',
    };
  }

  /** Boots once the thread's pacer has a slot; the slot is held until connected (or failed, or BOOT_SLOT_MS). */
  #boot(): void {
    if (this.#closed) return;
    void this.#t.bootPacer.acquire().then((release) => {
      if (this.#closed) release();
      else this.#bootNow(release);
    });
  }

  #bootNow(releaseSlot: () => void): void {
    const t = this.#t;
    const spec = this.spec;
    const thing = spec.thingName;
    if (t.slotStore.get(thing) === undefined) {
      const name = spec.startRelease?.name ?? 'app';
      provisionVirtualSlots(t.slotStore, thing, {
        name,
        version: spec.startVersion,
        securityVersion: spec.startRelease?.securityVersion ?? 0,
        manifestSha256: factoryDigest(name, spec.startVersion),
      });
    }
    const life = new AgentLife(spec.faults.clockSkewMs ?? 0);
    this.#life = life;
    this.#starts += 1;
    // The device's kernel boot id: new at every power-on and reboot, kept when only the agent restarts.
    const bootId = virtualBootId(`${t.fleetStartedAt}/${thing}/${1 + this.#reboots + this.#powerCuts}`);
    const clock = life.clock;
    const journal = life.journal(t.journalDb.forThing(thing));
    const onStep = (step: string): Promise<void> | undefined => {
      if (life.dead) return life.hang;
      const f = spec.faults;
      if (f.crashAtStep === step && !this.#crashed) {
        this.#crashed = true;
        this.#die(life, 'crash', CRASH_RESTART_MS);
        return life.hang;
      }
      if (f.powerCutAtStep?.step === step && !this.#cut) {
        this.#cut = true;
        this.#powerCuts += 1;
        this.#setLinkDown('power', true);
        this.#die(life, 'power cut', f.powerCutAtStep.offMs);
        return life.hang;
      }
      return undefined;
    };
    const runningVersion = (): string | undefined => this.#runningVersion();
    const slots = new VirtualSlotBackend({
      store: t.slotStore,
      key: thing,
      onActivate: () => this.#reboot(life),
      onStep,
    });
    const supervisor = virtualSupervisor({ clock, faults: spec.faults, runningVersion });
    const connection = createMqttConnection({
      transport: observedTransport(mqttJsStreamTransport(this.#link.open, { endpoint: 'virtual' }), this.#traffic),
      clientId: thing,
      protocolVersion: t.protocolVersion,
      keepaliveSeconds: VIRTUAL_KEEPALIVE_SECONDS,
      clock,
      random: randomFor(t.seed, 'mqtt', thing, String(this.#starts)),
      logger: t.agentLogger,
    });
    this.#unwatch?.();
    this.#unwatch = connection.onStateChange(() => this.#recount());
    const run = async (): Promise<void> => {
      const agent = await createAgent(this.#config(), {
        logger: t.agentLogger,
        clock,
        journal,
        slots,
        connection,
        supervisor,
        health: virtualHealthRunner({ clock, faults: spec.faults, supervisor, runningVersion }),
        fetcher: virtualFetcher({
          thread: t.bundles,
          thingName: thing,
          journal,
          clock,
          faults: spec.faults,
          corrupted: this.#corrupted,
        }),
        installer: virtualInstaller({ thread: t.bundles, clock }),
        trust: t.bundles.trust,
        onStep,
        kernelBootId: () => Promise.resolve(bootId),
      });
      if (life.dead) return;
      this.#agent = agent;
      this.#recount();
      await agent.start();
      let slotTimer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        connection.waitFor('connected').catch(() => undefined),
        new Promise((r) => (slotTimer = setTimeout(r, BOOT_SLOT_MS))),
      ]);
      clearTimeout(slotTimer);
    };
    run().then(releaseSlot, (e: unknown) => {
      releaseSlot();
      if (life.dead || this.#closed) return;
      t.logger.warn({ err: e, thing }, 'virtual device agent failed to start; starting it again');
      this.#die(life, 'start failed', START_RETRY_MS);
    });
  }

  /** The agent's run ends without a shutdown; a new one starts after `restartMs` (from the journal). */
  #die(life: AgentLife, why: string, restartMs: number): void {
    this.#t.logger.debug({ thing: this.spec.thingName, why }, 'virtual agent killed');
    this.#observePhase();
    life.kill();
    this.#link.cut();
    if (this.#life === life) {
      this.#unwatch?.();
      this.#unwatch = undefined;
      this.#agent = undefined;
      this.#life = undefined;
      this.#recount();
    }
    this.#after(restartMs, () => {
      this.#setLinkDown('power', false);
      this.#boot();
    });
  }

  /** The slots asked for a reboot: stop the agent as the system would (gracefully, then killed), boot again. */
  #reboot(life: AgentLife): void {
    setImmediate(() => {
      if (this.#life !== life || this.#closed) return;
      const agent = this.#agent;
      this.#reboots += 1;
      const stopped = agent === undefined ? Promise.resolve() : agent.close();
      void Promise.race([stopped, new Promise((r) => setTimeout(r, STOP_GRACE_MS))]).then(() => {
        if (this.#life !== life) return;
        this.#die(life, 'reboot', 0);
      });
    });
  }

  #observePhase(): DevicePhase {
    const a = this.#agent;
    if (a !== undefined) this.#lastPhase = a.status.update().current?.phase ?? 'idle';
    return this.#lastPhase;
  }

  /**
   * MQTT connected now: an agent runs, its link is up and its connection says so (a closed device is not, whatever
   * its connection does while it closes). Each input's change calls #recount.
   */
  #online(): boolean {
    const a = this.#agent;
    return !this.#closed && a !== undefined && this.#link.up && a.connection.state.kind === 'connected';
  }

  /** Recounts this device's share of the thread's tally and applies the change (called when an input may have). */
  #recount(): void {
    const online = this.#online();
    const traffic = this.#traffic;
    const now =
      (online ? ONLINE | (traffic.healthReports > 0 ? READY : 0) : 0) |
      (online || traffic.messagesIn > 0 ? CONNECTED_ONCE : 0);
    const was = this.#counted;
    if (now === was) return;
    this.#counted = now;
    const t = this.#t.tally;
    t.online += change(was, now, ONLINE);
    t.connectedOnce += change(was, now, CONNECTED_ONCE);
    t.ready += change(was, now, READY);
  }

  /** Its TrafficLog's first inbound message or first health report (see TrafficWatcher). */
  trafficStarted(): void {
    this.#recount();
  }

  /** Counts this device's phase, and 'offline' when it is, into `counts`. */
  countInto(counts: Record<string, number>): void {
    const phase = this.#observePhase();
    counts[phase] = (counts[phase] ?? 0) + 1;
    if (!this.#online()) counts['offline'] = (counts['offline'] ?? 0) + 1;
  }

  observe(): DeviceObservation {
    return {
      thingName: this.spec.thingName,
      hardwareType: this.spec.hardwareType,
      runningVersion: this.#runningVersion() ?? this.spec.startVersion,
      phase: this.#observePhase(),
      online: this.#online(),
      rollbacks: [...this.#traffic.rollbacks],
      jobs: [...this.#traffic.jobs].map(([jobId, j]) => ({ jobId, ...j })),
      messagesIn: this.#traffic.messagesIn,
      messagesOut: this.#traffic.messagesOut,
      healthReports: this.#traffic.healthReports,
      agentRestarts: Math.max(0, this.#starts - 1),
      reboots: this.#reboots,
      powerCuts: this.#powerCuts,
    };
  }

  /** Graceful: the agent closes (its update stays journaled), then the link and the fault timers go. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#recount();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const agent = this.#agent;
    const life = this.#life;
    if (agent !== undefined) {
      await Promise.race([agent.close().catch(() => undefined), new Promise((r) => setTimeout(r, STOP_GRACE_MS))]);
    }
    life?.kill();
    this.#link.cut();
    this.#unwatch?.();
    this.#unwatch = undefined;
  }
}
