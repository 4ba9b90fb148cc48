import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTrialRunning, SlotError, type SlotErrorCode, type SlotState } from '../src/slots/index.js';
import { directoryHarness } from './slots-directory-harness.js';
import { grubHarness } from './slots-grub-harness.js';
import { release, type SlotHarness } from './slots-harness.js';
import { trybootHarness } from './slots-tryboot-harness.js';
import { ubootHarness } from './slots-uboot-harness.js';
import { virtualHarness } from './slots-virtual-harness.js';

// Real bootloader tools run many times per test; on a loaded machine that takes long (no timing is asserted).
vi.setConfig({ testTimeout: 120_000 });

/**
 * One contract, every backend: the same update flows and refusals, with each backend's own bootloader (or
 * restart) played by its harness — U-Boot through the real fw_printenv/fw_setenv, GRUB in the real GRUB
 * (grub-emu), tryboot as the Raspberry Pi firmware documents it, directory slots on real files.
 */
const HARNESSES: Record<string, () => Promise<SlotHarness>> = {
  directory: directoryHarness,
  uboot: ubootHarness,
  grub: grubHarness,
  tryboot: trybootHarness,
  virtual: virtualHarness,
};

async function rejection(promise: Promise<unknown>): Promise<SlotError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof SlotError) return e;
    throw e;
  }
  throw new Error('expected a SlotError, but the call succeeded');
}

async function expectCode(promise: Promise<unknown>, code: SlotErrorCode): Promise<SlotError> {
  const e = await rejection(promise);
  expect(e.code, e.message).toBe(code);
  return e;
}

describe.each(Object.keys(HARNESSES))('slot backend contract: %s', (name) => {
  let h: SlotHarness;
  afterEach(async () => {
    await h.close();
  });
  const open = async (): Promise<SlotHarness> => (h = await (HARNESSES[name] as () => Promise<SlotHarness>)());

  /** activate(), then whatever it set off: a reboot (the agent starts again) or an application restart. */
  const activateAndRestart = async (): Promise<SlotState> => {
    const before = h.activations();
    await h.backend.activate();
    expect(h.activations()).toBe(before + 1);
    return h.backend.activation === 'reboot' ? await h.restart() : await h.backend.state();
  };

  /** The OTA flow up to a running trial of slot B holding `version`. */
  const runTrial = async (version: string, maxAttempts = 3): Promise<SlotState> => {
    const contents = release(version);
    await h.backend.install('B', await h.makeSource(contents), contents);
    await h.backend.armTrial('B', maxAttempts);
    const state = await activateAndRestart();
    expect(isTrialRunning(state)).toBe(true);
    return state;
  };

  it('a fresh device runs the committed factory release in slot A, slot B empty', async () => {
    await open();
    const state = await h.restart();
    expect(state).toEqual({
      booted: 'A',
      committed: 'A',
      trial: undefined,
      failedTrial: undefined,
      versions: { A: h.factory },
    });
  });

  it('install → arm → activate → booted trial → commit; the commit holds across restarts; the next update goes to A', async () => {
    await open();
    const factoryA = await h.fingerprint('A');
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    expect((await h.backend.state()).versions).toEqual({ A: h.factory, B: v2 });

    const armed = await h.backend.armTrial('B', 3);
    expect(armed.trial).toEqual({ slot: 'B', attempts: 0, maxAttempts: 3 });
    expect(armed.booted).toBe('A');
    expect(armed.committed).toBe('A');

    const running = await activateAndRestart();
    expect(running).toMatchObject({ booted: 'B', committed: 'A', trial: { slot: 'B', attempts: 1, maxAttempts: 3 } });

    const committed = await h.backend.commit();
    expect(committed).toMatchObject({ booted: 'B', committed: 'B', trial: undefined, failedTrial: undefined });
    for (let i = 0; i < 2; i++) {
      expect(await h.restart()).toMatchObject({ booted: 'B', committed: 'B', trial: undefined });
    }
    expect(await h.fingerprint('A')).toBe(factoryA); // the rollback target was never touched

    const v3 = release('3.0.0');
    await expectCode(h.backend.install('B', await h.makeSource(v3), v3), 'SLOT_IS_BOOTED');
    await h.backend.install('A', await h.makeSource(v3), v3);
    await h.backend.armTrial('A', 2);
    expect(await activateAndRestart()).toMatchObject({ booted: 'A', trial: { slot: 'A', attempts: 1 } });
    expect(await h.backend.commit()).toMatchObject({ booted: 'A', committed: 'A', versions: { A: v3, B: v2 } });
  });

  it('a trial that never commits ends on the committed slot after maxAttempts boots, with the reason', async () => {
    await open();
    const factoryA = await h.fingerprint('A');
    let state = await runTrial('2.0.0', 3);
    const trialBoots: number[] = [];
    for (let i = 0; i < 20 && state.trial !== undefined; i++) {
      if (isTrialRunning(state)) {
        trialBoots.push(state.trial.attempts);
        state = await h.restart(); // the new release crashes: no commit, the device/agent starts over
      } else {
        state = await activateAndRestart(); // armed but not running: the agent activates it again
      }
    }
    expect(trialBoots).toEqual([1, 2, 3]);
    expect(state).toMatchObject({ booted: 'A', committed: 'A', trial: undefined });
    expect(state.failedTrial).toEqual({ slot: 'B', attempts: 3, maxAttempts: 3, reason: 'attempts-exhausted' });
    expect(await h.fingerprint('A')).toBe(factoryA);
    // It stays there: nothing loops back into the failed slot.
    expect(await h.restart()).toMatchObject({ booted: 'A', committed: 'A', trial: undefined });
    expect(await h.backend.rollback()).toMatchObject({ failedTrial: { reason: 'attempts-exhausted' } });
  });

  it('rollback() of a running trial returns to the committed slot and is idempotent', async () => {
    await open();
    const factoryA = await h.fingerprint('A');
    await runTrial('2.0.0');
    const rolled = await h.backend.rollback();
    expect(rolled).toMatchObject({ booted: 'B', committed: 'A', trial: undefined });
    expect(rolled.failedTrial).toEqual({ slot: 'B', attempts: 1, maxAttempts: 3, reason: 'rolled-back' });
    expect(await h.backend.rollback()).toEqual(rolled);
    const back = await activateAndRestart();
    expect(back).toMatchObject({
      booted: 'A',
      committed: 'A',
      trial: undefined,
      failedTrial: { reason: 'rolled-back' },
    });
    expect(await h.backend.rollback()).toEqual(back);
    expect(await h.restart()).toMatchObject({ booted: 'A', committed: 'A' });
    expect(await h.fingerprint('A')).toBe(factoryA);
    expect((await h.backend.state()).versions.A).toEqual(h.factory);
  });

  it('rollback() of a trial armed but not yet activated disarms it; nothing boots the trial slot', async () => {
    await open();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.backend.armTrial('B', 3);
    expect(await h.backend.rollback()).toMatchObject({
      trial: undefined,
      failedTrial: { attempts: 0, reason: 'rolled-back' },
    });
    expect(await activateAndRestart()).toMatchObject({ booted: 'A', committed: 'A', trial: undefined });
  });

  it('a power cut between armTrial and activate still leads to a trial the agent can settle', async () => {
    await open();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.backend.armTrial('B', 3);
    let state = await h.restart(); // power cut: no activate() call
    if (!isTrialRunning(state)) {
      expect(state).toMatchObject({ booted: 'A', trial: { slot: 'B' } });
      state = await activateAndRestart();
    }
    expect(isTrialRunning(state)).toBe(true);
    expect(await h.backend.commit()).toMatchObject({ committed: 'B' });
  });

  it('install refuses the booted, the committed and an armed slot, and changes nothing', async () => {
    await open();
    const v2 = release('2.0.0');
    await expectCode(h.backend.install('A', await h.makeSource(v2), v2), 'SLOT_IS_BOOTED');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.backend.armTrial('B', 2);
    const fingerprintB = await h.fingerprint('B');
    const v3 = release('3.0.0');
    await expectCode(h.backend.install('B', await h.makeSource(v3), v3), 'SLOT_TRIAL_ARMED');
    expect(await h.fingerprint('B')).toBe(fingerprintB);
    await activateAndRestart();
    const fingerprintA = await h.fingerprint('A');
    const during = await h.backend.state();
    await expectCode(h.backend.install('B', await h.makeSource(v3), v3), 'SLOT_IS_BOOTED');
    await expectCode(h.backend.install('A', await h.makeSource(v3), v3), 'SLOT_IS_COMMITTED');
    expect(await h.backend.state()).toEqual(during);
    expect(await h.fingerprint('A')).toBe(fingerprintA);
    expect(await h.fingerprint('B')).toBe(fingerprintB);
  });

  it('commit without a trial is a no-op; commit of a trial that is not running is refused', async () => {
    await open();
    const before = await h.backend.state();
    expect(await h.backend.commit()).toEqual(before);
    expect(await h.backend.commit()).toEqual(before);
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    const armed = await h.backend.armTrial('B', 3);
    await expectCode(h.backend.commit(), 'SLOT_TRIAL_NOT_BOOTED');
    expect(await h.backend.state()).toEqual(armed);
    await activateAndRestart();
    const committed = await h.backend.commit();
    expect(await h.backend.commit()).toEqual(committed); // idempotent
  });

  it('armTrial refuses an empty slot, the committed slot, bad attempts and a trial already under way', async () => {
    await open();
    await expectCode(h.backend.armTrial('B', 3), 'SLOT_EMPTY');
    await expectCode(h.backend.armTrial('A', 3), 'SLOT_IS_COMMITTED');
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    for (const bad of [0, 11, 1.5, Number.NaN]) await expectCode(h.backend.armTrial('B', bad), 'SLOT_INVALID_ARGUMENT');
    await expectCode(h.backend.armTrial('C' as 'A', 3), 'SLOT_INVALID_ARGUMENT');
    expect((await h.backend.state()).trial).toBeUndefined();
    await h.backend.armTrial('B', 3);
    expect(await h.backend.armTrial('B', 5)).toMatchObject({ trial: { slot: 'B', attempts: 0, maxAttempts: 5 } });
    await activateAndRestart();
    await expectCode(h.backend.armTrial('B', 3), 'SLOT_TRIAL_IN_PROGRESS');
  });

  it('a failed release in slot B is replaced by the next install, whose trial can commit', async () => {
    await open();
    await runTrial('2.0.0', 1);
    let state = await h.restart(); // crash: the only attempt is gone
    if (state.trial !== undefined) state = await activateAndRestart();
    expect(state.failedTrial).toMatchObject({ slot: 'B', reason: 'attempts-exhausted' });
    const fixed = release('2.0.1');
    await h.backend.install('B', await h.makeSource(fixed), fixed);
    await h.backend.armTrial('B', 2);
    expect(await activateAndRestart()).toMatchObject({ booted: 'B', failedTrial: undefined, versions: { B: fixed } });
    expect(await h.backend.commit()).toMatchObject({ committed: 'B', versions: { A: h.factory, B: fixed } });
  });

  it('bad arguments are refused with a code and change nothing', async () => {
    await open();
    const before = await h.backend.state();
    const v2 = release('2.0.0');
    const source = await h.makeSource(v2);
    await expectCode(h.backend.install('B', source, { ...v2, version: 'two' }), 'SLOT_INVALID_ARGUMENT');
    await expectCode(h.backend.install('B', source, { ...v2, manifestSha256: 'abc' }), 'SLOT_INVALID_ARGUMENT');
    await expectCode(h.backend.install('X' as 'B', source, v2), 'SLOT_INVALID_ARGUMENT');
    for (const kind of ['directory', 'image'] as const) {
      if (h.backend.accepts.includes(kind)) continue;
      const wrong = kind === 'directory' ? { kind, path: '/tmp' } : { kind, path: '/dev/null', size: 0 };
      await expectCode(h.backend.install('B', wrong, v2), 'SLOT_SOURCE_UNSUPPORTED');
    }
    expect(await h.backend.state()).toEqual(before);
  });

  it('damaged records are SLOT_STATE_CORRUPT with a message that names them', async () => {
    await open();
    for (const what of Object.keys(h.corruptions)) {
      await h.close();
      await open();
      await h.corruptions[what]?.();
      const e = await expectCode(h.backend.state(), 'SLOT_STATE_CORRUPT');
      expect(e.message.length, what).toBeGreaterThan(20);
      await expectCode(h.backend.recordBootAttempt(), 'SLOT_STATE_CORRUPT');
      const v2 = release('2.0.0');
      await expectCode(h.backend.install('B', await h.makeSource(v2), v2), 'SLOT_STATE_CORRUPT');
    }
  });
});
