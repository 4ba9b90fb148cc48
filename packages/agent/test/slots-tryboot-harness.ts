import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deviceTreeCell, provisionTrybootSlots, TrybootSlotBackend } from '../src/slots/index.js';
import { imageBytes, release, sha256, silentLogger, tempDir, type SlotHarness } from './slots-harness.js';

const DEVICE_BYTES = 256 * 1024;
export const PARTITIONS = { A: 2, B: 3 } as const;

export interface TrybootDevice {
  readonly autobootPath: string;
  readonly dtDir: string;
  readonly recordPath: string;
  readonly devices: { A: string; B: string };
  /** Every argument the agent passed to reboot, in order. */
  readonly reboots: string[];
  /** One boot as the Raspberry Pi firmware does it (see firmwareBoot). */
  boot(): Promise<number>;
}

/**
 * The firmware's side, written from Raspberry Pi's documentation (not from the backend's code): the
 * one-shot tryboot flag is set by `reboot "0 tryboot"` and cleared before the firmware starts, so only the
 * boot right after such a reboot uses `[tryboot]`; every other boot (a crash, a watchdog reset, a power
 * cycle, a plain reboot) uses `[all]`. The firmware reports the partition and the flag in /chosen/bootloader.
 */
export async function trybootDevice(dir: string): Promise<TrybootDevice> {
  const dtDir = join(dir, 'device-tree', 'chosen', 'bootloader');
  await mkdir(dtDir, { recursive: true });
  const devices = { A: join(dir, 'mmcblk0p2'), B: join(dir, 'mmcblk0p3') };
  for (const path of Object.values(devices)) await writeFile(path, Buffer.alloc(DEVICE_BYTES, 0xee));
  const reboots: string[] = [];
  let consumed = 0;
  const autobootPath = join(dir, 'bootfs', 'autoboot.txt');
  await mkdir(join(dir, 'bootfs'));
  const device: TrybootDevice = {
    autobootPath,
    dtDir,
    recordPath: join(dir, 'data', 'slots.json'),
    devices,
    reboots,
    async boot() {
      const last = reboots.length > consumed ? reboots.at(-1) : undefined;
      consumed = reboots.length;
      const tryboot = last?.split(' ').includes('tryboot') === true;
      const sections = new Map<string, string>();
      let section = 'all';
      for (const line of (await readFile(autobootPath, 'utf8')).split('\n')) {
        const filter = /^\[(\w+)\]$/.exec(line.trim());
        if (filter?.[1]) section = filter[1];
        const m = /^boot_partition=(\d+)$/.exec(line.trim());
        if (m?.[1]) sections.set(section, m[1]);
      }
      const partition = Number((tryboot ? sections.get('tryboot') : undefined) ?? sections.get('all'));
      await writeFile(join(dtDir, 'partition'), deviceTreeCell(partition));
      await writeFile(join(dtDir, 'tryboot'), deviceTreeCell(tryboot ? 1 : 0));
      return partition;
    },
  };
  await mkdir(join(dir, 'data'));
  return device;
}

export async function trybootHarness(): Promise<SlotHarness & { device: TrybootDevice }> {
  const tmp = await tempDir('slots-tryboot-');
  const device = await trybootDevice(tmp.path);
  const factory = release('1.0.0');
  await writeFile(device.devices.A, imageBytes(factory));
  await provisionTrybootSlots({
    autobootPath: device.autobootPath,
    partitions: PARTITIONS,
    recordPath: device.recordPath,
    factory,
  });
  await device.boot(); // first power-on
  let sources = 0;
  const create = () =>
    new TrybootSlotBackend({
      autobootPath: device.autobootPath,
      partitions: PARTITIONS,
      devices: device.devices,
      recordPath: device.recordPath,
      deviceTreeDir: device.dtDir,
      logger: silentLogger,
      reboot: (argument) => void device.reboots.push(argument),
    });
  const harness: SlotHarness & { device: TrybootDevice } = {
    kind: 'tryboot',
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
    activations: () => device.reboots.length,
    corruptions: {
      'autoboot.txt lacks tryboot_a_b': () => writeFile(device.autobootPath, '[all]\nboot_partition=2\n'),
      'autoboot.txt is missing': () => rm(device.autobootPath),
      'autoboot.txt names an unknown partition': () =>
        writeFile(device.autobootPath, '[all]\ntryboot_a_b=1\nboot_partition=7\n[tryboot]\nboot_partition=3\n'),
      'device tree partition cell is text': () => writeFile(join(device.dtDir, 'partition'), '2\n'),
      'agent record is missing': () => rm(device.recordPath),
    },
    close: tmp.remove,
  };
  return harness;
}
