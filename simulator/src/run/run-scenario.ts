import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { rollbackJobId, waveGroupName, type CreateRolloutBody } from '@otafleet/fleet-service';
import type { DeviceObservation, VirtualFleet } from '../fleet/contracts.js';
import { startVirtualFleet } from '../fleet/fleet.js';
import { inNamespace, namespaced, type ScenarioPlan } from '../scenario/expand.js';
import { FLEET_GROUP } from '../scenario/rules.js';
import { buildReport, type RunFacts, type SimReport } from '../report/report.js';
import { FleetApiError, type RolloutView } from './fleet-api.js';
import { executionsOf, thingsInGroup, type CoreExecution } from './registry.js';
import { buildReleases, SIM_SIGNER, simTrustSet } from './releases.js';
import { runningStackTarget, type RunningStack } from './running-stack.js';
import { localTarget, type RunTarget } from './target.js';

/** What a run reports while it goes: devices per phase, the rollout's and its waves' status. */
export interface RunProgress {
  readonly elapsedMs: number;
  readonly stage: 'starting' | 'enrolling' | 'connecting' | 'rollout' | 'settling' | 'reporting';
  readonly phases: Readonly<Record<string, number>>;
  readonly rollout?: { readonly status: string; readonly waves: readonly { name: string; status: string }[] };
}

export interface RunOptions {
  readonly plan: ScenarioPlan;
  readonly logger: Logger;
  /** Worker threads for the devices; default: 2 from 500 devices, else on the main thread. */
  readonly workers?: number;
  /** Scratch directory (removed afterwards unless keepData); default a new temporary one. */
  readonly dataDir?: string;
  readonly keepData?: boolean;
  readonly onProgress?: (p: RunProgress) => void;
  /** Aborting stops waiting: the fleet and the stack close, and the run ends with `interrupted`. */
  readonly signal?: AbortSignal;
  /**
   * How devices are enrolled: `sdk` through AWS's IoT client against the core's control plane (the operator's
   * path), `registry` straight into the core's registry (the same code behind those routes, without thousands of
   * signed HTTP requests: the default, as enrolment is setup, not what a scenario tests).
   */
  readonly enrolment?: 'sdk' | 'registry';
  /** How devices check the shared bundle file (VirtualFleetOptions.bundleVerification); default per-content-hash. */
  readonly bundleVerification?: 'per-device' | 'per-content-hash';
  /** How often the rollout is polled (ms); default 500. */
  readonly pollMs?: number;
  /**
   * A stack already running (`pnpm start`, or the fleet service against AWS IoT Core) instead of the run's own:
   * devices enrolled through its fleet API and connected over mutual TLS; `enrolment` does not apply.
   */
  readonly running?: RunningStack & {
    /** Prefixes the run's thing names, thing groups and rollout id there; [a-z0-9]{1,12}. */
    readonly namespace: string;
  };
}

export class RunSetupError extends Error {
  override readonly name = 'RunSetupError';
}

/** `work`, its failure a setup failure (exit 2): `explain` may say it better than the error does. */
async function asSetup<T>(work: Promise<T>, explain?: (e: unknown) => string | undefined): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof RunSetupError) throw e;
    const text = explain?.(e) ?? (e instanceof Error ? e.message : String(e));
    throw new RunSetupError(text, { cause: e });
  }
}

/** Rollout statuses after which nothing moves without an operator. */
const RESTING = new Set(['completed', 'aborted', 'rolled-back', 'canceled', 'paused']);
const FINAL_EXECUTION = new Set(['SUCCEEDED', 'FAILED', 'REJECTED', 'CANCELED', 'TIMED_OUT', 'REMOVED']);
const SETTLED_PHASES = new Set(['idle', 'succeeded', 'rolled-back', 'failed', 'canceled', 'downloaded']);

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const wake = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', wake);
      resolve();
    }, ms);
    signal?.addEventListener('abort', wake, { once: true });
  });

/** `work`, or a warning after `ms` (a part that does not close must not keep the run from ending). */
async function bounded(work: Promise<void> | undefined, ms: number, what: string, logger: Logger): Promise<void> {
  if (work === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      logger.warn({ ms }, `${what} did not close in time; going on`);
      resolve();
    }, ms);
  });
  await Promise.race([work.catch((e: unknown) => logger.warn({ err: e }, `${what} did not close cleanly`)), late]);
  clearTimeout(timer);
}

/**
 * The devices' periodic health-report interval: 5 s, longer as the fleet grows so the fleet service ingests about
 * 50 periodic reports a second whatever the size (1,000 devices: 20 s; 10,000: 200 s). An update's outcome is
 * reported at once (the agent's HealthReporter), not on this interval, so the gate does not wait for it.
 */
export const healthReportIntervalFor = (devices: number): number => Math.max(5, Math.ceil(devices / 50));

/**
 * How often the fleet service looks for late joiners: every second when the scenario has some, else as a
 * production stack does (30 s). Each look lists the whole target group (40 control-plane calls at 10,000
 * devices) and reads every device of the rollout: once a second that took a large share of the main thread.
 */
const lateJoinerIntervalFor = (plan: ScenarioPlan): number => (plan.lateJoiners.length > 0 ? 1_000 : 30_000);

/** A rollout id the fleet service accepts (≤ 40 of [a-zA-Z0-9_-]), stable for a scenario and seed. */
const rolloutIdOf = (plan: ScenarioPlan): string =>
  namespaced(
    plan,
    plan.scenario.rollout.id ?? `${plan.scenario.name.replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 28)}-s${plan.seed}`,
  ).slice(0, 40);

/** The rollout's target as the stack names it; a query on a shared stack could select devices not the run's. */
function targetOf(plan: ScenarioPlan): CreateRolloutBody['target'] {
  const t = plan.scenario.rollout.target ?? { kind: 'group', groupName: FLEET_GROUP };
  if (t.kind === 'group') return { kind: 'group', groupName: namespaced(plan, t.groupName) };
  if (plan.namespace !== undefined)
    throw new RunSetupError(
      "a query target is refused on a running stack: it could select devices that are not the run's; target a group",
    );
  return t;
}

/**
 * Runs a scenario end to end: the local stack in process, the devices enrolled in the core's registry, signed
 * bundles uploaded through the fleet API, the virtual fleet on the core's embedded broker, the rollout created and
 * followed through the fleet API to a resting status (or the deadline), then the report.
 */
export async function runScenario(options: RunOptions): Promise<SimReport> {
  const { logger } = options;
  const plan = options.running === undefined ? options.plan : inNamespace(options.plan, options.running.namespace);
  const started = Date.now();
  const timings: Record<string, number> = {};
  const mark = (name: string, since: number): void => void (timings[name] = Date.now() - since);
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ota-sim-')));
  const deadlineMs = (plan.scenario.expect.deadlineSeconds ?? 300) * 1000;
  let phases: Readonly<Record<string, number>> = {};
  let stage: RunProgress['stage'] = 'starting';
  let view: RolloutView | undefined;
  const progress = (): void =>
    options.onProgress?.({
      elapsedMs: Date.now() - started,
      stage,
      phases,
      ...(view === undefined
        ? {}
        : { rollout: { status: view.status, waves: view.waves.map((w) => ({ name: w.name, status: w.status })) } }),
    });

  let stack: RunTarget | undefined;
  let fleet: VirtualFleet | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    const t0 = Date.now();
    const target = targetOf(plan);
    const signer = options.running?.signer ?? SIM_SIGNER;
    const trust = simTrustSet(signer);
    const built = await buildReleases(plan.scenario.releases, join(dataDir, 'releases'), signer);
    try {
      if (options.running === undefined) {
        const trustPath = join(dataDir, 'trust.json');
        await writeFile(trustPath, JSON.stringify(trust));
        stack = await localTarget({
          dataDir,
          trustPath,
          logger,
          lateJoinerIntervalMs: lateJoinerIntervalFor(plan),
          groups: plan.groups,
          enrolment: options.enrolment ?? 'registry',
        });
      } else {
        stack = await runningStackTarget(options.running, plan);
      }
    } catch (e) {
      const what = options.running === undefined ? 'the local stack did not start' : 'the running stack';
      throw new RunSetupError(`${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    mark('stackStartMs', t0);
    progress();

    // Releases first: a fleet service that does not trust the key refuses them before any device is enrolled.
    const api = stack.api;
    const bundleIds = new Map<string, string>();
    for (const b of built) {
      const stored = await asSetup(api.uploadBundle(b.bytes), (e) =>
        e instanceof FleetApiError && e.status === 422
          ? `the fleet service refused release ${b.version}: ${e.message} (its trust set must hold the release key ` +
            `${signer.keyId} as active)`
          : undefined,
      );
      bundleIds.set(b.version, stored.sha256);
    }
    stage = 'enrolling';
    const t1 = Date.now();
    await asSetup(stack.enrol(plan.devices));
    mark('enrolMs', t1);

    const t2 = Date.now();
    fleet = await startVirtualFleet({
      devices: plan.devices.map((d) => d.spec),
      seed: plan.seed,
      workers: options.workers ?? (plan.devices.length >= 500 ? 2 : 0),
      ...(options.bundleVerification === undefined ? {} : { bundleVerification: options.bundleVerification }),
      broker: stack.broker,
      trustSetJson: JSON.stringify(trust),
      dataDir: join(dataDir, 'fleet'),
      healthReportIntervalSeconds: healthReportIntervalFor(plan.devices.length),
      logger: logger.child({ part: 'fleet' }),
    });
    const unsubscribe = fleet.onProgress((counts) => {
      phases = counts;
      progress();
    });
    // The rollout starts once the fleet is online: a wave deployed to devices still connecting would count their
    // start-up against its timeout, which is not what a scenario tests.
    stage = 'connecting';
    progress();
    const deadline = started + deadlineMs;
    for (;;) {
      // Online now, or once already (a device with a flapping link need not be up at this very moment).
      const { devices, connectedOnce } = await fleet.tally();
      if (connectedOnce === devices) break;
      if (Date.now() >= deadline || options.signal?.aborted === true) {
        throw new RunSetupError(`${devices - connectedOnce} of ${devices} devices had not connected by the deadline`);
      }
      await sleep(1_000, options.signal);
    }
    mark('fleetStartMs', t2);

    stage = 'rollout';
    const r = plan.scenario.rollout;
    const body: CreateRolloutBody = {
      id: rolloutIdOf(plan),
      name: r.name ?? `${plan.scenario.name}: ${r.release}`,
      bundleId: bundleIds.get(r.release) ?? '',
      target,
      waves: r.waves,
      seed: r.seed ?? `${plan.scenario.name}-${plan.seed}`,
      ...(r.gate === undefined ? {} : { gate: r.gate }),
      onBreach: r.onBreach,
      soakSeconds: r.soakSeconds ?? 0,
      waveTimeoutSeconds: r.waveTimeoutSeconds ?? 120,
      ...(r.maxPerMinute === undefined ? {} : { maxPerMinute: r.maxPerMinute }),
    };
    const t3 = Date.now();
    view = await api.createRollout(body);
    const activeFleet = fleet;
    const activeStack = stack;
    for (const batch of plan.lateJoiners) {
      timers.push(
        setTimeout(() => {
          void (async () => {
            await activeStack.enrol(batch.devices);
            await activeFleet.addDevices(batch.devices.map((d) => d.spec));
          })().catch((e: unknown) => logger.error({ err: e, group: batch.group }, 'late joiners did not join'));
        }, batch.afterMs),
      );
    }
    let reachedRest = false;
    while (Date.now() < deadline && options.signal?.aborted !== true) {
      view = await api.rollout(body.id ?? '');
      progress();
      if (RESTING.has(view.status)) {
        reachedRest = true;
        break;
      }
      await sleep(options.pollMs ?? 500, options.signal);
    }
    mark('rolloutMs', t3);

    // Once the rollout rests, give devices still finishing (in-flight installs of an aborted wave, late joiners)
    // until the deadline to reach a final job status.
    stage = 'settling';
    const t4 = Date.now();
    const waveJobs = (v: RolloutView): string[] => [
      ...v.waves.flatMap((w) => (w.jobId === undefined ? [] : [w.jobId])),
      rollbackJobId(v.id),
    ];
    let executions: CoreExecution[] = [];
    let observations: readonly DeviceObservation[] = [];
    for (;;) {
      executions = (await Promise.all(waveJobs(view).map((j) => executionsOf(activeStack.iot, j)))).flat();
      observations = await activeFleet.observe();
      const settled =
        executions.every((e) => FINAL_EXECUTION.has(e.status)) &&
        observations.every((o) => !o.online || SETTLED_PHASES.has(o.phase));
      if (!reachedRest || settled || Date.now() >= deadline || options.signal?.aborted === true) break;
      await sleep(options.pollMs ?? 500, options.signal);
    }
    mark('settleMs', t4);

    stage = 'reporting';
    progress();
    const members = new Map<number, string[]>();
    for (const w of view.waves) {
      if (w.deployedAt !== undefined)
        members.set(w.index, await thingsInGroup(activeStack.iot, waveGroupName(view.id, w.index)));
    }
    const audit = await api.audit(view.id);
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    const running = options.running;
    const facts: RunFacts = {
      plan,
      stack:
        running === undefined
          ? { kind: 'local' }
          : { kind: 'running', fleetApi: running.fleetApi, mqttUrl: running.mqttUrl, namespace: running.namespace },
      rollout: view,
      release: r.release,
      reachedRest,
      interrupted: options.signal?.aborted === true,
      deadlineSeconds: deadlineMs / 1000,
      waveMembers: members,
      executions,
      observations,
      audit,
      timings: { ...timings, totalMs: Date.now() - started },
    };
    return buildReport(facts);
  } finally {
    for (const t of timers) clearTimeout(t);
    const closing = Date.now();
    await bounded(fleet?.close(), 30_000, 'the virtual fleet', logger);
    await bounded(stack?.close(), 30_000, 'the local stack', logger);
    logger.info({ ms: Date.now() - closing }, 'fleet and stack closed');
    if (options.keepData !== true && options.dataDir === undefined) {
      await rm(dataDir, { recursive: true, force: true });
    }
  }
}
