import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GATE,
  planWaves,
  type RolloutDefinition,
  type RolloutStore,
  type WaveSpec,
} from '@otafleet/fleet-service';

const waves: WaveSpec[] = [{ count: 2 }, { percent: 50 }, { percent: 100 }];
export const definition: RolloutDefinition = {
  name: 'app 1.1.0 to the lab',
  bundle: { bundleId: 'sha256-abc', version: '1.1.0' },
  target: { kind: 'group', groupName: 'lab' },
  waves,
  seed: 'seed-1',
  gate: DEFAULT_GATE,
  onBreach: 'rollback',
  soakSeconds: 60,
  waveTimeoutSeconds: 600,
};
const things = Array.from({ length: 10 }, (_, i) => `pi-${i}`);
const by = { at: 1_000, actor: 'alice' };

/**
 * What every RolloutStore must do, whatever database is behind it. `open` returns a fresh, empty store; `reopen`
 * (when given) opens the same data again, to prove changes outlive the store object.
 */
export function rolloutStoreContract(
  name: string,
  open: () => Promise<RolloutStore>,
  reopen?: (closed: RolloutStore) => Promise<RolloutStore>,
): void {
  describe(`RolloutStore contract: ${name}`, () => {
    const created = async (): Promise<RolloutStore> => {
      const store = await open();
      const result = await store.createRollout('r1', definition, planWaves(things, waves, definition.seed), by);
      expect(result.ok).toBe(true);
      return store;
    };

    it('creates a rollout scheduled, with its waves pending, its devices placed and an audit entry', async () => {
      const store = await created();
      const rollout = await store.getRollout('r1');
      expect(rollout).toMatchObject({ id: 'r1', status: 'scheduled', currentWave: 0, version: 1, definition });
      const stored = await store.waves('r1');
      expect(stored.map((w) => [w.name, w.status])).toEqual([
        ['canary', 'pending'],
        ['wave-2', 'pending'],
        ['wave-3', 'pending'],
      ]);
      expect((await store.devices('r1')).length).toBe(10);
      expect((await store.devices('r1', 0)).length).toBe(2);
      expect(await store.auditLog('r1')).toEqual([
        expect.objectContaining({ actor: 'alice', action: 'created', to: 'scheduled' }),
      ]);
      await store.close();
    });

    it('refuses a second rollout with the same id and changes nothing', async () => {
      const store = await created();
      const again = await store.createRollout('r1', { ...definition, name: 'other' }, [], by);
      expect(again).toMatchObject({ ok: false, error: { code: 'ALREADY_EXISTS' } });
      expect((await store.getRollout('r1'))?.definition.name).toBe(definition.name);
      expect((await store.auditLog('r1')).length).toBe(1);
      await store.close();
    });

    it('moves through the transition table, auditing each step with who and why', async () => {
      const store = await created();
      expect(await store.applyRolloutEvent('r1', 'start', { at: 2_000, actor: 'service' })).toMatchObject({
        ok: true,
        value: { status: 'running', version: 2, updatedAt: 2_000 },
      });
      const paused = await store.applyRolloutEvent('r1', 'gate-breached-pause', {
        at: 3_000,
        actor: 'service',
        reason: 'crash-rate above 0.5',
        currentWave: 1,
      });
      expect(paused).toMatchObject({
        ok: true,
        value: { status: 'paused', currentWave: 1, statusReason: 'crash-rate above 0.5' },
      });
      const log = await store.auditLog('r1');
      expect(log.map((e) => [e.action, e.from, e.to, e.detail])).toEqual([
        ['created', undefined, 'scheduled', undefined],
        ['start', 'scheduled', 'running', undefined],
        ['gate-breached-pause', 'running', 'paused', 'crash-rate above 0.5'],
      ]);
      await store.close();
    });

    it('refuses an illegal event, a stale version and an unknown rollout, changing nothing', async () => {
      const store = await created();
      expect(await store.applyRolloutEvent('r1', 'resume', by)).toMatchObject({
        ok: false,
        error: { code: 'ILLEGAL_TRANSITION', message: expect.stringContaining('scheduled') },
      });
      expect(await store.applyRolloutEvent('r1', 'start', { ...by, expectedVersion: 7 })).toMatchObject({
        ok: false,
        error: { code: 'VERSION_CONFLICT', currentVersion: 1 },
      });
      expect(await store.applyRolloutEvent('nope', 'start', by)).toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND' },
      });
      expect(await store.getRollout('r1')).toMatchObject({ status: 'scheduled', version: 1 });
      expect((await store.auditLog('r1')).length).toBe(1);
      await store.close();
    });

    it('moves waves through deploy, settle and gate, keeping the job id, the times and the verdict', async () => {
      const store = await created();
      await store.applyWaveEvent('r1', 0, 'deploy', { at: 10, actor: 'service', jobId: 'rollout-r1-w0' });
      await store.applyWaveEvent('r1', 0, 'settled', { at: 20, actor: 'service' });
      const verdict = { decision: 'pass' as const, findings: [] };
      const passed = await store.applyWaveEvent('r1', 0, 'gate-passed', { at: 30, actor: 'service', verdict });
      expect(passed).toMatchObject({
        ok: true,
        value: { status: 'passed', jobId: 'rollout-r1-w0', deployedAt: 10, settledAt: 20, decidedAt: 30, verdict },
      });
      expect(await store.applyWaveEvent('r1', 0, 'deploy', by)).toMatchObject({
        ok: false,
        error: { code: 'ILLEGAL_TRANSITION' },
      });
      expect(await store.applyWaveEvent('r1', 9, 'deploy', by)).toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND' },
      });
      await store.close();
    });

    it('adds late joiners once: a device already in the rollout stays in its wave', async () => {
      const store = await created();
      const inCanary = (await store.devices('r1', 0))[0]?.thingName ?? '';
      const added = await store.addDevices('r1', 2, ['pi-new-1', inCanary, 'pi-new-1', 'pi-new-2'], by);
      expect(added).toEqual({ ok: true, value: ['pi-new-1', 'pi-new-2'] });
      expect((await store.devices('r1')).find((d) => d.thingName === inCanary)?.wave).toBe(0);
      expect(await store.addDevices('r1', 2, ['pi-new-1'], by)).toEqual({ ok: true, value: [] });
      expect(await store.addDevices('r1', 7, ['x'], by)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      await store.close();
    });

    it('lists rollouts, optionally by status', async () => {
      const store = await created();
      await store.createRollout('r2', definition, [], { at: 2_000, actor: 'bob' });
      await store.applyRolloutEvent('r2', 'start', by);
      expect((await store.listRollouts()).map((r) => r.id)).toEqual(['r1', 'r2']);
      expect((await store.listRollouts({ status: 'running' })).map((r) => r.id)).toEqual(['r2']);
      await store.close();
    });

    if (reopen !== undefined) {
      it('keeps everything across a close and reopen', async () => {
        const store = await created();
        await store.applyRolloutEvent('r1', 'start', by);
        await store.applyWaveEvent('r1', 0, 'deploy', { ...by, jobId: 'j0' });
        await store.close();
        const again = await reopen(store);
        expect(await again.getRollout('r1')).toMatchObject({ status: 'running', version: 2 });
        expect((await again.waves('r1'))[0]).toMatchObject({ status: 'deploying', jobId: 'j0' });
        expect((await again.auditLog('r1')).length).toBe(3);
        await again.close();
      });
    }
  });
}
