import { execFile } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGrubSlotBackend, GRUB_SLOT_SCRIPT, isSlotError, MAX_TRIAL_ATTEMPTS } from '../src/slots/index.js';
import { release, silentLogger, tempDir } from './slots-harness.js';
import { grubHarness, grubTools } from './slots-grub-harness.js';

// Real bootloader tools run many times per test; on a loaded machine that takes long (no timing is asserted).
vi.setConfig({ testTimeout: 120_000 });

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness() {
  const h = await grubHarness();
  cleanups.push(() => h.close());
  return h;
}

describe('GRUB slots through the real grub-editenv and GRUB (grub-emu)', () => {
  it('GRUB_SLOT_SCRIPT passes grub-script-check', async () => {
    const tools = grubTools();
    const tmp = await tempDir('slots-grub-check-');
    cleanups.push(tmp.remove);
    const cfg = join(tmp.path, 'grub.cfg');
    await writeFile(cfg, GRUB_SLOT_SCRIPT);
    await run(tools['grub-script-check'], [cfg]); // rejects on a syntax error
    await writeFile(cfg, `${GRUB_SLOT_SCRIPT}\nif [ x = x ]; then\n`);
    await expect(run(tools['grub-script-check'], [cfg])).rejects.toThrow();
  });

  it(`GRUB counts a trial up to ${MAX_TRIAL_ATTEMPTS} boots, then falls back and marks it exhausted`, async () => {
    const h = await harness();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    await h.backend.armTrial('B', MAX_TRIAL_ATTEMPTS);
    const seen: string[] = [];
    for (let boot = 1; boot <= MAX_TRIAL_ATTEMPTS + 1; boot++) {
      const slot = await h.device.boot();
      seen.push(`${slot}${(await h.device.list()).get('trial_attempts') ?? ''}`);
    }
    expect(seen).toEqual([
      ...Array.from({ length: MAX_TRIAL_ATTEMPTS }, (_, i) => `B${i + 1}`),
      `A${MAX_TRIAL_ATTEMPTS}`,
    ]);
    expect((await h.device.list()).get('trial_state')).toBe('exhausted');
    expect(await h.backend.recordBootAttempt()).toMatchObject({
      booted: 'A',
      trial: undefined,
      failedTrial: { slot: 'B', attempts: MAX_TRIAL_ATTEMPTS, reason: 'attempts-exhausted' },
    });
  });

  it('writes the documented variables, replacing grubenv whole (a new 1 KiB file, no temp left behind)', async () => {
    const h = await harness();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    const inodeBefore = (await stat(h.device.grubenvPath)).ino;
    await h.backend.armTrial('B', 3);
    const info = await stat(h.device.grubenvPath);
    expect(info.ino).not.toBe(inodeBefore);
    expect(info.size).toBe(1024);
    let env = await h.device.list();
    expect(Object.fromEntries(env)).toEqual({
      boot_slot: 'A',
      trial_slot: 'B',
      trial_state: 'armed',
      trial_attempts: '0',
      trial_max: '3',
    });
    await h.backend.activate();
    await h.restart();
    await h.backend.commit();
    env = await h.device.list();
    expect(Object.fromEntries(env)).toEqual({ boot_slot: 'B' });
    expect((await readdir(dirname(h.device.grubenvPath))).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('a missing grub-editenv fails with SLOT_TOOL_FAILED and leaves grubenv as it was', async () => {
    const h = await harness();
    const v2 = release('2.0.0');
    await h.backend.install('B', await h.makeSource(v2), v2);
    const before = await h.device.list();
    const broken = createGrubSlotBackend({
      grubenvPath: h.device.grubenvPath,
      recordPath: h.device.recordPath,
      devices: h.device.devices,
      cmdlinePath: h.device.cmdlinePath,
      logger: silentLogger,
      reboot: () => undefined,
      editenv: '/nonexistent/grub-editenv',
    });
    const e = await broken.armTrial('B', 3).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isSlotError(e, 'SLOT_TOOL_FAILED')).toBe(true);
    expect(await h.device.list()).toEqual(before);
  });
});
