import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AUTOBOOT_MAX_BYTES,
  deviceTreeCell,
  isSlotError,
  PLAIN_REBOOT_ARGUMENT,
  TRYBOOT_REBOOT_ARGUMENT,
  TrybootSlotBackend,
} from '../src/slots/index.js';
import { release, silentLogger } from './slots-harness.js';
import { PARTITIONS, trybootHarness } from './slots-tryboot-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness() {
  const h = await trybootHarness();
  cleanups.push(() => h.close());
  return h;
}

// The two autoboot.txt files of Raspberry Pi's "Example update flow for A/B booting".
const INITIAL = '[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n';
const UPDATED = '[all]\ntryboot_a_b=1\nboot_partition=3\n[tryboot]\nboot_partition=2\n';

describe('Raspberry Pi tryboot slots', () => {
  it('follows Raspberry Pi\'s documented flow: autoboot.txt, reboot "0 tryboot", commit by swapping', async () => {
    const h = await harness();
    expect(await readFile(h.device.autobootPath, 'utf8')).toBe(INITIAL);
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.backend.armTrial('B', 2);
    expect(await readFile(h.device.autobootPath, 'utf8')).toBe(INITIAL); // arming does not touch the boot files
    await h.backend.activate();
    expect(h.device.reboots).toEqual([TRYBOOT_REBOOT_ARGUMENT]);
    expect(TRYBOOT_REBOOT_ARGUMENT).toBe('0 tryboot');
    const running = await h.restart();
    expect(running).toMatchObject({ booted: 'B', committed: 'A', trial: { slot: 'B', attempts: 1 } });
    expect(await readFile(join(h.device.dtDir, 'tryboot'))).toEqual(deviceTreeCell(1));
    await h.backend.commit();
    expect(await readFile(h.device.autobootPath, 'utf8')).toBe(UPDATED);
    expect(await h.restart()).toMatchObject({ booted: 'B', committed: 'B', trial: undefined });
  });

  it('a rollback reboots plainly, and the firmware is back on [all]', async () => {
    const h = await harness();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.backend.armTrial('B', 2);
    await h.backend.activate();
    await h.restart();
    await h.backend.rollback();
    await h.backend.activate();
    expect(h.device.reboots).toEqual([TRYBOOT_REBOOT_ARGUMENT, PLAIN_REBOOT_ARGUMENT]);
    expect(await h.restart()).toMatchObject({ booted: 'A', committed: 'A', failedTrial: { reason: 'rolled-back' } });
    expect(await readFile(h.device.autobootPath, 'utf8')).toBe(INITIAL);
  });

  it('a commit cut between autoboot.txt and the record is completed at the next start', async () => {
    const h = await harness();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.backend.armTrial('B', 2);
    await h.backend.activate();
    await h.restart();
    const cut = new TrybootSlotBackend({
      autobootPath: h.device.autobootPath,
      partitions: PARTITIONS,
      devices: h.device.devices,
      recordPath: h.device.recordPath,
      deviceTreeDir: h.device.dtDir,
      logger: silentLogger,
      reboot: () => undefined,
      onStep: (step) => {
        if (step === 'commit:record') throw new Error('power cut');
      },
    });
    await expect(cut.commit()).rejects.toThrow('power cut');
    expect(await readFile(h.device.autobootPath, 'utf8')).toBe(UPDATED);
    expect(JSON.parse(await readFile(h.device.recordPath, 'utf8'))).toMatchObject({ trial: { slot: 'B' } });
    expect(await h.restart()).toMatchObject({ booted: 'B', committed: 'B', trial: undefined, failedTrial: undefined });
    expect(JSON.parse(await readFile(h.device.recordPath, 'utf8'))).toMatchObject({ trial: null });
  });

  it('does not commit a trial slot booted without the tryboot flag', async () => {
    const h = await harness();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.backend.armTrial('B', 2);
    await writeFile(join(h.device.dtDir, 'partition'), deviceTreeCell(PARTITIONS.B)); // e.g. `reboot 3`
    await writeFile(join(h.device.dtDir, 'tryboot'), deviceTreeCell(0));
    const e = await h.backend.commit().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isSlotError(e, 'SLOT_TRIAL_NOT_BOOTED')).toBe(true);
    expect(await readFile(h.device.autobootPath, 'utf8')).toBe(INITIAL);
  });

  it('reads the firmware facts as device-tree cells: an absent tryboot is 0, an absent partition is corrupt', async () => {
    const h = await harness();
    await rm(join(h.device.dtDir, 'tryboot'));
    expect((await h.backend.state()).booted).toBe('A');
    await rm(join(h.device.dtDir, 'partition'));
    const e = await h.backend.state().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isSlotError(e, 'SLOT_STATE_CORRUPT')).toBe(true);
    expect((e as Error).message).toContain('partition');
  });

  it(`refuses an autoboot.txt over the firmware's ${AUTOBOOT_MAX_BYTES}-byte limit`, async () => {
    const h = await harness();
    await writeFile(h.device.autobootPath, `${INITIAL}${'# padding\n'.repeat(60)}`);
    const e = await h.backend.state().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isSlotError(e, 'SLOT_STATE_CORRUPT')).toBe(true);
  });
});
