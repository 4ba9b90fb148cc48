import { ListThingsInThingGroupCommand, type IoTClient } from '@aws-sdk/client-iot';
import type { Logger } from 'pino';
import type { BundleStore, StoredBundle } from '../bundles/bundle-store.js';
import { ensureQueryGroup } from '../devices/query-target.js';
import type { JobPresignedUrlConfig } from '../bundles/types.js';
import type { HealthStore } from '../health/types.js';
import { evaluateGate, type GateVerdict, type HealthSample, type WaveInstallCounts } from '../rollout/health-gate.js';
import type { OperatorAction, RolloutEvent } from '../rollout/states.js';
import { isRolloutStopped } from '../rollout/transitions.js';
import { checkWaves, planWaves, rolloutRank, waveForLateJoiner } from '../rollout/wave-plan.js';
import type { Result } from '@otafleet/protocol';
import type { RolloutDefinition, RolloutRecord, RolloutStore, StoreError, WaveRecord } from '../store/types.js';
import { DEFAULT_DEVICE_POLICY, installDocument, rollbackDocument, type DeviceUpdatePolicy } from './job-documents.js';
import { createWaveStaging } from './wave-staging.js';
import {
  addToWaveGroup,
  cancelJob,
  ensureJob,
  ensureWaveGroup,
  jobCounts,
  jobState,
  rollbackJobId,
  waveJobId,
} from './wave-jobs.js';

export interface RolloutEngineDeps {
  readonly iot: IoTClient;
  readonly store: RolloutStore;
  readonly health: HealthStore;
  readonly bundles: BundleStore;
  /** The URL devices download a bundle from (the store's signed URL, or AWS's presigned-URL placeholder). */
  readonly bundleUrl: (bundle: StoredBundle) => string;
  /** The presignedUrlConfig install jobs carry when bundleUrl is an S3 presigned-URL placeholder. */
  readonly presignedUrlConfig?: JobPresignedUrlConfig;
  readonly now: () => number;
  readonly logger: Logger;
  readonly devicePolicy?: DeviceUpdatePolicy;
  /** Baseline devices sampled at most (devices not updated yet), to bound the cost of a gate at fleet scale. */
  readonly baselineSampleSize?: number;
  /**
   * Fill the next wave's thing group in the background while the current wave runs (default true), so the
   * hand-off after a passed gate is one CreateJob, not one AddThingToThingGroup per device.
   */
  readonly stageNextWave?: boolean;
  /**
   * How long the gate reuses its baselines (the wave's own figures from before the update and the not-yet-updated
   * devices' sample), in ms of monotonic time; default 0, read every tick. Baselines move slowly (a report per
   * device per health interval), and each is a query over thousands of devices, every tick of every wave.
   */
  readonly baselineRefreshMs?: number;
  /** Told each wave job's counts as read (for metrics). */
  readonly onJobCounts?: (rolloutId: string, wave: number, counts: WaveInstallCounts) => void;
}

/** What one tick did, for logs, metrics and tests. */
export type TickOutcome =
  { readonly kind: 'idle'; readonly why: string } | { readonly kind: 'moved'; readonly what: string };

const SERVICE = 'service';

export interface RolloutEngine {
  /** Plans and stores a rollout over the target's current devices. */
  create(id: string, definition: RolloutDefinition, actor: string): Promise<RolloutRecord>;
  /** Takes the next step of one rollout; safe to call again after a crash at any point. */
  tick(id: string): Promise<TickOutcome>;
  /** Ticks every rollout still moving, until nothing moves (bounded). */
  tickAll(maxSteps?: number): Promise<number>;
  /** Devices in the target that are not in the rollout yet, placed in waves (and deployed if theirs is). */
  addLateJoiners(id: string): Promise<readonly string[]>;
  /**
   * An operator's action. `promote` also passes the current wave's failed gate (the operator takes the
   * decision the gate refused). Refusals come back as the store's errors (NOT_FOUND, ILLEGAL_TRANSITION).
   */
  act(id: string, action: OperatorAction, actor: string, reason?: string): Promise<Result<RolloutRecord, StoreError>>;
}

export class RolloutEngineError extends Error {
  constructor(
    readonly code: 'INVALID_ROLLOUT' | 'UNKNOWN_BUNDLE' | 'UNKNOWN_ROLLOUT' | 'STORE_REFUSED',
    message: string,
  ) {
    super(message);
    this.name = 'RolloutEngineError';
  }
}

export function createRolloutEngine(deps: RolloutEngineDeps): RolloutEngine {
  const policy = deps.devicePolicy ?? DEFAULT_DEVICE_POLICY;
  const log = deps.logger;
  const staging = createWaveStaging(deps.iot, log);
  // A rollout's devices only grow (late joiners, through this engine), so they are read once per process and
  // kept per wave; the gate asks for them every tick.
  const rolloutDevices = new Map<string, Promise<ReadonlyMap<number, readonly string[]>>>();
  const devicesByWave = (id: string): Promise<ReadonlyMap<number, readonly string[]>> => {
    let cached = rolloutDevices.get(id);
    if (cached === undefined) {
      cached = deps.store.devices(id).then((all) => {
        const byWave = new Map<number, string[]>();
        for (const d of all) {
          const list = byWave.get(d.wave);
          if (list === undefined) byWave.set(d.wave, [d.thingName]);
          else list.push(d.thingName);
        }
        return byWave;
      });
      cached.catch(() => rolloutDevices.delete(id));
      rolloutDevices.set(id, cached);
    }
    return cached;
  };
  const devicesOf = async (id: string, wave: number): Promise<readonly string[]> =>
    (await devicesByWave(id)).get(wave) ?? [];
  // Waves whose group and job this process has ensured: a deploying wave is deployed once per process (after a
  // restart, once more, as the journal cannot say how far the last process got), not on every tick.
  const deployed = new Set<string>();
  const waveKey = (id: string, wave: number): string => `${id}\u0000${wave}`;
  // The gate's baselines per wave, with when they were read (monotonic ms).
  const baselines = new Map<
    string,
    { readonly at: number; readonly before: HealthSample; readonly notUpdated: HealthSample | undefined }
  >();

  /** Drops what this process keeps about a finished rollout. */
  function forget(id: string): void {
    rolloutDevices.delete(id);
    for (const k of [...deployed, ...baselines.keys()]) {
      if (k.startsWith(`${id}\u0000`)) {
        deployed.delete(k);
        baselines.delete(k);
      }
    }
  }

  /**
   * Starts staging every wave after `wave` (if enabled), one group after the other in the background: the
   * canary's minutes of health checks leave the service idle enough to fill all of them. Idempotent, so every
   * tick may call it.
   */
  function stageAfter(r: RolloutRecord, wave: WaveRecord, waveCount: number): void {
    if (deps.stageNextWave === false) return;
    for (let next = wave.index + 1; next < waveCount; next++) staging.stage(r.id, next, () => devicesOf(r.id, next));
  }

  /** A query target is read through the dynamic thing group made for it (an invalid query: INVALID_ROLLOUT). */
  async function targetGroup(target: RolloutDefinition['target']): Promise<string> {
    if (target.kind === 'group') return target.groupName;
    try {
      return await ensureQueryGroup(deps.iot, target.queryString);
    } catch (e) {
      if (e instanceof Error && (e.name === 'InvalidQueryException' || e.name === 'InvalidRequestException'))
        throw new RolloutEngineError('INVALID_ROLLOUT', `target queryString: ${e.message}`);
      throw e;
    }
  }

  async function targetDevices(definition: RolloutDefinition): Promise<string[]> {
    const groupName = await targetGroup(definition.target);
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await deps.iot.send(
        new ListThingsInThingGroupCommand({
          thingGroupName: groupName,
          recursive: true,
          maxResults: 250,
          nextToken,
        }),
      );
      names.push(...(page.things ?? []));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return names;
  }

  async function bundleOf(rollout: RolloutRecord): Promise<StoredBundle> {
    const bundle = await deps.bundles.get(rollout.definition.bundle.bundleId);
    if (bundle === undefined) {
      throw new RolloutEngineError(
        'UNKNOWN_BUNDLE',
        `rollout ${rollout.id}: bundle ${rollout.definition.bundle.bundleId} is not in the store`,
      );
    }
    return bundle;
  }

  const must = <T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T => {
    if (!result.ok) throw new RolloutEngineError('STORE_REFUSED', result.error.message);
    return result.value;
  };

  async function rolloutEvent(
    r: RolloutRecord,
    event: RolloutEvent,
    reason?: string,
    currentWave?: number,
  ): Promise<TickOutcome> {
    const next = must(
      await deps.store.applyRolloutEvent(r.id, event, {
        at: deps.now(),
        actor: SERVICE,
        expectedVersion: r.version,
        ...(reason === undefined ? {} : { reason }),
        ...(currentWave === undefined ? {} : { currentWave }),
      }),
    );
    log.info({ rolloutId: r.id, event, status: next.status, reason }, 'rollout moved');
    return { kind: 'moved', what: `rollout ${event} → ${next.status}` };
  }

  async function deployWave(r: RolloutRecord, wave: WaveRecord): Promise<void> {
    if (deployed.has(waveKey(r.id, wave.index))) return;
    const bundle = await bundleOf(r);
    const devices = await devicesOf(r.id, wave.index);
    const groupArn = await ensureWaveGroup(deps.iot, r.id, wave.index);
    // Staged (or filled by an earlier tick): add only devices that joined the wave since.
    const inGroup = await staging.staged(r.id, wave.index);
    await addToWaveGroup(
      deps.iot,
      r.id,
      wave.index,
      inGroup === undefined ? devices : devices.filter((d) => !inGroup.has(d)),
    );
    staging.filled(r.id, wave.index, devices);
    await ensureJob(deps.iot, {
      jobId: waveJobId(r.id, wave.index),
      targets: [groupArn],
      document: installDocument({ rolloutId: r.id, waveName: wave.name, bundle, url: deps.bundleUrl(bundle), policy }),
      description: `${r.definition.name}: ${wave.name}`,
      continuous: true,
      ...(r.definition.maxPerMinute === undefined ? {} : { maxPerMinute: r.definition.maxPerMinute }),
      ...(deps.presignedUrlConfig === undefined ? {} : { presignedUrlConfig: deps.presignedUrlConfig }),
      ...(r.definition.rate === undefined ? {} : { rolloutConfig: r.definition.rate }),
      ...(r.definition.maintenance === undefined ? {} : { maintenanceWindows: r.definition.maintenance.aws }),
    });
    deployed.add(waveKey(r.id, wave.index));
  }

  async function gateInput(r: RolloutRecord, wave: WaveRecord, install: WaveInstallCounts, soaked: boolean) {
    const byWave = await devicesByWave(r.id);
    const mine = byWave.get(wave.index) ?? [];
    const version = r.definition.bundle.version;
    const key = waveKey(r.id, wave.index);
    const now = performance.now();
    let baseline = baselines.get(key);
    if (baseline === undefined || now - baseline.at >= (deps.baselineRefreshMs ?? 0)) {
      const later: string[] = [];
      const limit = deps.baselineSampleSize ?? 5_000;
      for (const [index, things] of [...byWave].sort((a, b) => a[0] - b[0])) {
        if (index <= wave.index) continue;
        for (const t of things) if (later.length < limit) later.push(t);
      }
      baseline = {
        at: now,
        before: await deps.health.sample(mine, { firmwareVersion: version, not: true }),
        notUpdated:
          later.length === 0 ? undefined : await deps.health.sample(later, { firmwareVersion: version, not: true }),
      };
      baselines.set(key, baseline);
    }
    return {
      install,
      updated: await deps.health.sample(mine, { firmwareVersion: version }),
      updatedBefore: baseline.before,
      notUpdated: baseline.notUpdated,
      soaked,
    };
  }

  const breachSummary = (verdict: GateVerdict): string =>
    verdict.findings
      .filter((f) => !f.passed)
      .map((f) => f.message)
      .join('; ');

  async function judge(r: RolloutRecord, wave: WaveRecord): Promise<TickOutcome> {
    const jobId = wave.jobId ?? waveJobId(r.id, wave.index);
    const state = await jobState(deps.iot, jobId);
    let install = state.counts;
    deps.onJobCounts?.(r.id, wave.index, install);
    if (state.status === 'SCHEDULED') {
      // A maintenance window is closed: nothing more is released until it opens, and the wait is not the
      // release's fault, so neither the gate nor the wave's timeout runs.
      return { kind: 'idle', why: `${wave.name}: waiting for a maintenance window` };
    }
    const now = deps.now();
    // With maintenance windows the timeout runs from when the job last changed status (a window opened), so
    // the hours between windows do not count against the wave.
    const since =
      r.definition.maintenance !== undefined && wave.deployedAt !== undefined && state.lastUpdatedAt !== undefined
        ? Math.max(wave.deployedAt, state.lastUpdatedAt)
        : wave.deployedAt;
    const timedOut = since !== undefined && now - since > r.definition.waveTimeoutSeconds * 1000;
    if (timedOut && install.queued + install.inProgress > 0) {
      // Past the wave's timeout, what has not finished counts against the release.
      install = { ...install, failed: install.failed + install.queued + install.inProgress, queued: 0, inProgress: 0 };
    }
    const soaked = wave.settledAt !== undefined && now - wave.settledAt >= r.definition.soakSeconds * 1000;
    const verdict = evaluateGate(await gateInput(r, wave, install, soaked), r.definition.gate);
    if (verdict.decision === 'breach') {
      must(await deps.store.applyWaveEvent(r.id, wave.index, 'gate-breached', { at: now, actor: SERVICE, verdict }));
      const event: RolloutEvent = `gate-breached-${r.definition.onBreach}`;
      return rolloutEvent(r, event, `${wave.name}: ${breachSummary(verdict)}`);
    }
    if (wave.status === 'deploying') {
      if (verdict.decision === 'wait' && install.queued + install.inProgress > 0) {
        return { kind: 'idle', why: `${wave.name}: ${verdict.waitingFor}` };
      }
      must(await deps.store.applyWaveEvent(r.id, wave.index, 'settled', { at: now, actor: SERVICE }));
      return { kind: 'moved', what: `${wave.name} settled` };
    }
    if (verdict.decision === 'wait') {
      if (timedOut) {
        must(await deps.store.applyWaveEvent(r.id, wave.index, 'gate-breached', { at: now, actor: SERVICE, verdict }));
        return rolloutEvent(
          r,
          `gate-breached-${r.definition.onBreach}`,
          `${wave.name}: timed out waiting for ${verdict.waitingFor}`,
        );
      }
      return { kind: 'idle', why: `${wave.name}: ${verdict.waitingFor}` };
    }
    must(await deps.store.applyWaveEvent(r.id, wave.index, 'gate-passed', { at: now, actor: SERVICE, verdict }));
    const waves = await deps.store.waves(r.id);
    const isLast = wave.index === waves.length - 1;
    return isLast
      ? rolloutEvent(r, 'last-wave-passed', 'every wave passed its gate')
      : rolloutEvent(r, 'wave-passed', `${wave.name} passed its gate`, wave.index + 1);
  }

  async function stopWaves(r: RolloutRecord): Promise<boolean> {
    let moved = false;
    for (const wave of await deps.store.waves(r.id)) {
      if (wave.status === 'pending') {
        must(await deps.store.applyWaveEvent(r.id, wave.index, 'skip', { at: deps.now(), actor: SERVICE }));
        moved = true;
      } else if (wave.status === 'deploying' || wave.status === 'soaking' || wave.status === 'failed') {
        await cancelJob(deps.iot, wave.jobId ?? waveJobId(r.id, wave.index), `rollout ${r.id} stopped: ${r.status}`);
      }
    }
    return moved;
  }

  async function rollBack(r: RolloutRecord): Promise<TickOutcome> {
    await stopWaves(r);
    const deployed = (await deps.store.waves(r.id)).filter((w) => w.deployedAt !== undefined);
    const targets = await Promise.all(deployed.map((w) => ensureWaveGroup(deps.iot, r.id, w.index)));
    const jobId = rollbackJobId(r.id);
    if (targets.length > 0) {
      await ensureJob(deps.iot, {
        jobId,
        targets,
        document: rollbackDocument({
          rolloutId: r.id,
          fromVersion: r.definition.bundle.version,
          reason: r.statusReason ?? `rollout ${r.id} rolled back`,
          policy,
        }),
        description: `roll back ${r.definition.name}`,
        continuous: false,
      });
      const counts = await jobCounts(deps.iot, jobId);
      if (counts.queued + counts.inProgress > 0 || counts.targeted === 0) {
        return { kind: 'idle', why: `rollback: ${counts.queued + counts.inProgress} devices still going back` };
      }
    }
    return rolloutEvent(r, 'rollback-finished', r.statusReason);
  }

  async function tick(id: string): Promise<TickOutcome> {
    const r = await deps.store.getRollout(id);
    if (r === undefined) throw new RolloutEngineError('UNKNOWN_ROLLOUT', `no rollout ${id}`);
    switch (r.status) {
      case 'scheduled':
        if (r.definition.startAt !== undefined && deps.now() < r.definition.startAt) {
          return { kind: 'idle', why: `starts at ${new Date(r.definition.startAt).toISOString()}` };
        }
        return rolloutEvent(r, 'start');
      case 'paused':
        return { kind: 'idle', why: `paused: ${r.statusReason ?? 'by an operator'}` };
      case 'rolling-back':
        return rollBack(r);
      case 'aborted':
      case 'canceled':
        return (await stopWaves(r))
          ? { kind: 'moved', what: 'remaining waves skipped' }
          : { kind: 'idle', why: r.status };
      case 'completed':
      case 'rolled-back':
        forget(r.id);
        return { kind: 'idle', why: r.status };
      case 'running': {
        const waves = await deps.store.waves(r.id);
        const wave = waves.find((w) => w.status !== 'passed');
        if (wave === undefined) return rolloutEvent(r, 'last-wave-passed', 'every wave passed its gate');
        if (wave.index !== r.currentWave) {
          // A crash between the wave's gate-passed and the rollout's wave-passed: finish the step.
          return rolloutEvent(
            r,
            'wave-passed',
            `${waves[wave.index - 1]?.name ?? 'a wave'} passed its gate`,
            wave.index,
          );
        }
        switch (wave.status) {
          case 'pending':
            // Journal first: a crash after this line finds the wave deploying and ensures its job again.
            must(
              await deps.store.applyWaveEvent(r.id, wave.index, 'deploy', {
                at: deps.now(),
                actor: SERVICE,
                jobId: waveJobId(r.id, wave.index),
              }),
            );
            await deployWave(r, wave);
            return { kind: 'moved', what: `${wave.name} deployed` };
          case 'deploying':
            await deployWave(r, wave);
            stageAfter(r, wave, waves.length);
            return judge(r, wave);
          case 'soaking':
            stageAfter(r, wave, waves.length);
            return judge(r, wave);
          case 'failed': {
            // The wave's breach is journaled but the rollout's reaction is not (a crash between them), or an
            // operator resumed without promoting: a failed gate holds until someone promotes it.
            const reason = wave.verdict === undefined ? 'failed its gate' : breachSummary(wave.verdict);
            return rolloutEvent(r, `gate-breached-${r.definition.onBreach}`, `${wave.name}: ${reason}`);
          }
          case 'skipped':
          case 'passed': // not reached: `wave` is the first wave not passed
            return { kind: 'idle', why: `${wave.name} ${wave.status}` };
        }
      }
    }
    return { kind: 'idle', why: 'nothing to do' };
  }

  return {
    async create(id, definition, actor) {
      const waves = checkWaves(definition.waves);
      if (!waves.ok) throw new RolloutEngineError('INVALID_ROLLOUT', `${waves.error.path}: ${waves.error.message}`);
      const bundle = await deps.bundles.get(definition.bundle.bundleId);
      if (bundle === undefined)
        throw new RolloutEngineError('UNKNOWN_BUNDLE', `bundle ${definition.bundle.bundleId} is not in the store`);
      const devices = await targetDevices(definition);
      const plan = planWaves(devices, definition.waves, definition.seed);
      return must(await deps.store.createRollout(id, definition, plan, { at: deps.now(), actor }));
    },
    tick,
    async act(id, action, actor, reason) {
      const context = { at: deps.now(), actor, ...(reason === undefined ? {} : { reason }) };
      if (action === 'promote') {
        const r = await deps.store.getRollout(id);
        const wave = r === undefined ? undefined : (await deps.store.waves(id))[r.currentWave];
        if (r?.status === 'paused' && wave?.status === 'failed') {
          const promoted = await deps.store.applyWaveEvent(id, wave.index, 'promote', context);
          if (!promoted.ok) return promoted;
        }
      }
      const result = await deps.store.applyRolloutEvent(id, action, context);
      if (result.ok) log.info({ rolloutId: id, action, actor, status: result.value.status }, 'operator action');
      return result;
    },
    async tickAll(maxSteps = 1000) {
      let steps = 0;
      for (;;) {
        let moved = false;
        for (const r of await deps.store.listRollouts()) {
          if (steps >= maxSteps) return steps;
          const outcome = await tick(r.id);
          if (outcome.kind === 'moved') {
            moved = true;
            steps++;
          }
        }
        if (!moved) return steps;
      }
    },
    async addLateJoiners(id) {
      const r = await deps.store.getRollout(id);
      if (r === undefined) throw new RolloutEngineError('UNKNOWN_ROLLOUT', `no rollout ${id}`);
      if (isRolloutStopped(r.status)) return [];
      const known = new Set([...(await devicesByWave(id)).values()].flat());
      const joiners = (await targetDevices(r.definition)).filter((t) => !known.has(t));
      if (joiners.length === 0) return [];
      const waves = await deps.store.waves(id);
      const byWave = new Map<number, string[]>();
      for (const thing of joiners) {
        const index = waveForLateJoiner(rolloutRank(r.definition.seed, thing), waves, r.currentWave);
        byWave.set(index, [...(byWave.get(index) ?? []), thing]);
      }
      const added: string[] = [];
      for (const [index, things] of byWave) {
        const fresh = must(await deps.store.addDevices(id, index, things, { at: deps.now(), actor: SERVICE }));
        rolloutDevices.delete(id);
        const wave = waves[index];
        if (wave !== undefined && wave.deployedAt !== undefined) {
          await ensureWaveGroup(deps.iot, id, index);
          await addToWaveGroup(deps.iot, id, index, fresh);
        }
        added.push(...fresh);
      }
      return added;
    },
  };
}
