import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createUbootSlotBackend,
  isSlotError,
  provisionUbootSlots,
  UBOOT_DEFAULT_ENV,
  type SlotError,
} from '../src/slots/index.js';
import { imageBytes, release, sha256, silentLogger, tempDir } from './slots-harness.js';
import { ubootDevice, ubootHarness, ubootTools } from './slots-uboot-harness.js';

// Real bootloader tools run many times per test; on a loaded machine that takes long (no timing is asserted).
vi.setConfig({ testTimeout: 120_000 });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function caught(promise: Promise<unknown>): Promise<SlotError> {
  const e = await promise.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isSlotError(e)) throw new Error(`expected a SlotError, got ${String(e)}`);
  return e;
}

async function harness() {
  const h = await ubootHarness();
  cleanups.push(() => h.close());
  return h;
}

describe('U-Boot slots through the real fw_printenv / fw_setenv', () => {
  it('writes exactly the documented variables for arm, commit and rollback', async () => {
    const h = await harness();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.backend.armTrial('B', 4);
    let env = await h.device.printenv();
    expect([env.get('trial_slot'), env.get('upgrade_available'), env.get('bootcount'), env.get('bootlimit')]).toEqual([
      'B',
      '1',
      '0',
      '4',
    ]);
    expect(env.get('boot_slot')).toBe('A');

    await h.backend.activate();
    await h.restart();
    expect((await h.device.printenv()).get('bootcount')).toBe('1'); // U-Boot counted the trial boot
    await h.backend.commit();
    env = await h.device.printenv();
    expect([env.get('boot_slot'), env.get('upgrade_available'), env.get('bootcount'), env.has('trial_slot')]).toEqual([
      'B',
      '0',
      '0',
      false,
    ]);
    expect(env.get('altbootcmd')).toBe(UBOOT_DEFAULT_ENV.altbootcmd); // the board's scripts are left alone

    const v3 = release('3.0.0');
    await h.backend.install('A', await h.makeSource(v3), v3);
    await h.backend.armTrial('A', 2);
    await h.backend.rollback();
    env = await h.device.printenv();
    expect([env.get('upgrade_available'), env.get('trial_slot'), env.get('boot_slot')]).toEqual(['0', 'A', 'B']);
  });

  it('a torn environment write (newest copy damaged) leaves the previous environment in force', async () => {
    const h = await harness();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    const before = await readFile(h.device.envPath);
    await h.backend.armTrial('B', 3);
    const after = await readFile(h.device.envPath);
    const half = after.byteLength / 2;
    const written = before.subarray(0, half).equals(after.subarray(0, half)) ? half : 0;
    expect(before.subarray(written, written + half).equals(after.subarray(written, written + half))).toBe(false);
    after.fill(0, written + 16, written + 64); // power lost mid-write of that copy: its CRC no longer matches
    await writeFile(h.device.envPath, after);
    const state = await h.backend.state();
    expect(state.trial).toBeUndefined(); // the copy before armTrial
    expect(state.committed).toBe('A');
    expect(await h.restart()).toMatchObject({ booted: 'A', trial: undefined });
    expect((await h.backend.armTrial('B', 3)).trial).toEqual({ slot: 'B', attempts: 0, maxAttempts: 3 });
  });

  it('refuses to arm (and to provision) without altbootcmd, changing nothing', async () => {
    const tools = ubootTools();
    const tmp = await tempDir('slots-uboot-noalt-');
    cleanups.push(tmp.remove);
    const { altbootcmd: _dropped, ...withoutFallback } = UBOOT_DEFAULT_ENV;
    const device = await ubootDevice(tmp.path, tools, withoutFallback);
    const e = await caught(provisionUbootSlots({ fwEnvConfig: device.fwEnvConfig, recordPath: device.recordPath }));
    expect(e.code).toBe('SLOT_BOOTLOADER_UNPREPARED');

    const h = await harness();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.device.setenv('altbootcmd', '');
    const envBefore = await h.device.printenv();
    expect((await caught(h.backend.armTrial('B', 3))).code).toBe('SLOT_BOOTLOADER_UNPREPARED');
    expect(await h.device.printenv()).toEqual(envBefore);
  });

  it('records the fallback when bootcount passed bootlimit but altbootcmd did not save it', async () => {
    const h = await harness();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.backend.armTrial('B', 3);
    await h.device.setenv('bootcount', '4'); // U-Boot counted past the limit, then booted A without saving
    const state = await h.backend.recordBootAttempt();
    expect(state).toMatchObject({
      booted: 'A',
      trial: undefined,
      failedTrial: { slot: 'B', attempts: 3, reason: 'attempts-exhausted' },
    });
    expect((await h.device.printenv()).get('upgrade_available')).toBe('0');
  });

  it('an image that does not match its size or SHA-256 is refused and the slot reads as empty', async () => {
    const h = await harness();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    const source = await h.makeSource(release('3.0.0'));
    if (source.kind !== 'image') throw new Error('image source expected');
    const wrongHash = { ...source, sha256: sha256(Buffer.from('something else')) };
    expect((await caught(h.backend.install('B', wrongHash, release('3.0.0')))).code).toBe('SLOT_IMAGE_MISMATCH');
    expect((await h.backend.state()).versions.B).toBeUndefined(); // invalidated before the first byte
    expect((await caught(h.backend.armTrial('B', 2))).code).toBe('SLOT_EMPTY');
    expect((await caught(h.backend.install('B', { ...source, size: source.size + 1 }, release('3.0.0')))).code).toBe(
      'SLOT_IMAGE_MISMATCH',
    );
    await h.backend.install('B', source, release('3.0.0'));
    const written = await readFile(h.device.devices.B);
    expect(written.subarray(0, source.size).equals(imageBytes(release('3.0.0')))).toBe(true);
  });

  it('a missing tool or partition is a clear, coded failure', async () => {
    const h = await harness();
    const base = {
      fwEnvConfig: h.device.fwEnvConfig,
      recordPath: h.device.recordPath,
      devices: h.device.devices,
      cmdlinePath: h.device.cmdlinePath,
      logger: silentLogger,
      reboot: () => undefined,
    };
    const v2 = release('2.0.0');
    const noTool = createUbootSlotBackend({ ...base, setenv: '/nonexistent/fw_setenv' });
    await noTool.install('B', await h.makeSource(v2), v2);
    const e = await caught(noTool.armTrial('B', 3));
    expect(e.code).toBe('SLOT_TOOL_FAILED');
    expect(e.message).toContain('/nonexistent/fw_setenv');
    const noPartition = createUbootSlotBackend({
      ...base,
      devices: { A: h.device.devices.A, B: `${h.device.dir}/missing` },
    });
    expect((await caught(noPartition.install('B', await h.makeSource(v2), v2))).code).toBe('SLOT_IO_ERROR');
  });
});
