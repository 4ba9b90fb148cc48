import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGrubSlotBackend, GRUB_SLOT_SCRIPT, provisionGrubSlots } from '../src/slots/index.js';
import { imageBytes, release, sha256, silentLogger, tempDir, type SlotHarness } from './slots-harness.js';
import { requireSlotTools } from './slots-tools.js';

const run = promisify(execFile);
const DEVICE_BYTES = 256 * 1024;

export const grubTools = () => requireSlotTools(['grub-editenv', 'grub-script-check', 'grub-emu', 'mcopy', 'mkfs.fat']);
export type GrubTools = ReturnType<typeof grubTools>;

export interface GrubDevice {
  /** grubenv as the running system sees it (what the agent edits). */
  readonly grubenvPath: string;
  readonly cmdlinePath: string;
  readonly recordPath: string;
  readonly devices: { A: string; B: string };
  /** One boot in the real GRUB (grub-emu) running GRUB_SLOT_SCRIPT. Returns the slot it chose. */
  boot(): Promise<'A' | 'B'>;
  list(): Promise<Map<string, string>>;
}

/**
 * The real GRUB boots the device: grub-emu runs a grub.cfg made of GRUB_SLOT_SCRIPT, loading and saving
 * grubenv on a FAT disk image (save_env writes the file's own sectors; it refuses host files, which have
 * no block list). Between boots the file is carried to and from the system's grubenv with mtools, the
 * way /boot holds the one file both sides see.
 */
export async function grubDevice(dir: string, tools: GrubTools): Promise<GrubDevice> {
  const grubDir = join(dir, 'grub');
  await mkdir(grubDir);
  const disk = join(dir, 'boot-disk.img');
  await run(tools['mkfs.fat'], ['-C', disk, '2048']);
  const deviceMap = join(dir, 'device.map');
  await writeFile(deviceMap, `(hd0) ${disk}\n`);
  await writeFile(
    join(grubDir, 'grub.cfg'),
    `set pager=0\nset ota_env=(hd0)/grubenv\n${GRUB_SLOT_SCRIPT}echo "OTA_SLOT=\${ota_slot}"\nhalt\n`,
  );
  const grubenvPath = join(dir, 'grubenv');
  const cmdlinePath = join(dir, 'cmdline');
  const devices = { A: join(dir, 'sda2'), B: join(dir, 'sda3') };
  for (const path of Object.values(devices)) await writeFile(path, Buffer.alloc(DEVICE_BYTES, 0xee));
  await writeFile(cmdlinePath, 'BOOT_IMAGE=/vmlinuz root=/dev/sda2 ota.slot=A\n');
  return {
    grubenvPath,
    cmdlinePath,
    recordPath: join(dir, 'slots.json'),
    devices,
    async list() {
      const { stdout } = await run(tools['grub-editenv'], [grubenvPath, 'list']);
      return new Map(
        stdout
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
      );
    },
    async boot() {
      await run(tools.mcopy, ['-o', '-i', disk, grubenvPath, '::grubenv']);
      const { stdout } = await run(tools['grub-emu'], ['-d', grubDir, '-m', deviceMap], { timeout: 20_000 });
      if (/error:/.test(stdout)) throw new Error(`GRUB reported an error:\n${stdout}`);
      const chosen = /OTA_SLOT=([AB])/.exec(stdout)?.[1];
      if (chosen !== 'A' && chosen !== 'B') throw new Error(`GRUB chose no slot:\n${stdout}`);
      await run(tools.mcopy, ['-o', '-i', disk, '::grubenv', grubenvPath]);
      await writeFile(cmdlinePath, `BOOT_IMAGE=/vmlinuz root=/dev/sda${chosen === 'A' ? 2 : 3} ota.slot=${chosen}\n`);
      return chosen;
    },
  };
}

export async function grubHarness(): Promise<SlotHarness & { device: GrubDevice }> {
  const tools = grubTools();
  const tmp = await tempDir('slots-grub-');
  const device = await grubDevice(tmp.path, tools);
  const factory = release('1.0.0');
  await writeFile(device.devices.A, imageBytes(factory));
  await provisionGrubSlots({ grubenvPath: device.grubenvPath, recordPath: device.recordPath, factory });
  let reboots = 0;
  let sources = 0;
  const create = () =>
    createGrubSlotBackend({
      grubenvPath: device.grubenvPath,
      recordPath: device.recordPath,
      devices: device.devices,
      cmdlinePath: device.cmdlinePath,
      logger: silentLogger,
      reboot: () => {
        reboots++;
      },
    });
  const harness: SlotHarness & { device: GrubDevice } = {
    kind: 'grub',
    device,
    backend: create(),
    factory,
    async makeSource(contents) {
      const bytes = imageBytes(contents);
      const path = join(tmp.path, `image-${++sources}.img`);
      await writeFile(path, bytes);
      return { kind: 'image', path, size: bytes.byteLength, sha256: sha256(bytes) };
    },
    fingerprint: async (slot) => sha256(await readFile(device.devices[slot])),
    async restart() {
      await device.boot();
      harness.backend = create();
      return await harness.backend.recordBootAttempt();
    },
    activations: () => reboots,
    corruptions: {
      'grubenv is not an environment block': () => writeFile(device.grubenvPath, Buffer.alloc(1024, 0x41)),
      'grubenv is missing': () => rm(device.grubenvPath),
      'trial_state is unknown': () =>
        run(tools['grub-editenv'], [device.grubenvPath, 'set', 'trial_state=maybe']).then(() => undefined),
      'agent record is not JSON': () => writeFile(device.recordPath, 'nope'),
    },
    close: tmp.remove,
  };
  return harness;
}
