import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createUbootSlotBackend, provisionUbootSlots, ubootEnvText, UBOOT_DEFAULT_ENV } from '../src/slots/index.js';
import { imageBytes, release, sha256, silentLogger, tempDir, type SlotHarness } from './slots-harness.js';
import { requireSlotTools } from './slots-tools.js';

const run = promisify(execFile);
/** One environment copy; the environment is redundant: two copies in one file, as on many boards. */
const ENV_SIZE = 0x4000;
const DEVICE_BYTES = 256 * 1024;

export type UbootTools = ReturnType<typeof ubootTools>;
export const ubootTools = () => requireSlotTools(['fw_printenv', 'fw_setenv', 'mkenvimage']);

export interface UbootDevice {
  readonly dir: string;
  readonly envPath: string;
  readonly fwEnvConfig: string;
  readonly cmdlinePath: string;
  readonly recordPath: string;
  readonly devices: { A: string; B: string };
  printenv(): Promise<Map<string, string>>;
  setenv(name: string, value: string): Promise<void>;
  /** One boot, as U-Boot does it (see bootloaderBoot). Returns the slot it booted. */
  boot(): Promise<'A' | 'B'>;
}

/** A file-backed redundant U-Boot environment made with the real mkenvimage, read/written with the real tools. */
export async function ubootDevice(dir: string, tools: UbootTools, env = UBOOT_DEFAULT_ENV): Promise<UbootDevice> {
  const envPath = join(dir, 'uboot-env.bin');
  const fwEnvConfig = join(dir, 'fw_env.config');
  const input = join(dir, 'uboot-env.txt');
  await writeFile(input, ubootEnvText(env));
  const copy = join(dir, 'uboot-env.copy');
  await run(tools.mkenvimage, ['-r', '-s', `0x${ENV_SIZE.toString(16)}`, '-o', copy, input]);
  const image = await readFile(copy);
  await writeFile(envPath, Buffer.concat([image, image]));
  await writeFile(
    fwEnvConfig,
    `${envPath} 0x0000 0x${ENV_SIZE.toString(16)}\n${envPath} 0x${ENV_SIZE.toString(16)} 0x${ENV_SIZE.toString(16)}\n`,
  );
  const cmdlinePath = join(dir, 'cmdline');
  const devices = { A: join(dir, 'mmcblk0p2'), B: join(dir, 'mmcblk0p3') };
  for (const path of Object.values(devices)) await writeFile(path, Buffer.alloc(DEVICE_BYTES, 0xee));
  const printenv = async () => {
    const { stdout } = await run(tools.fw_printenv, ['-c', fwEnvConfig]);
    return new Map(
      stdout
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
    );
  };
  const setenv = async (name: string, value: string) =>
    void (await run(tools.fw_setenv, ['-c', fwEnvConfig, name, value]));
  const device: UbootDevice = {
    dir,
    envPath,
    fwEnvConfig,
    cmdlinePath,
    recordPath: join(dir, 'slots.json'),
    devices,
    printenv,
    setenv,
    boot: () => bootloaderBoot(device),
  };
  await writeFile(cmdlinePath, 'console=ttyS0,115200 root=/dev/mmcblk0p2 ota.slot=A\n');
  return device;
}

/**
 * What U-Boot (CONFIG_BOOTCOUNT_LIMIT + CONFIG_BOOTCOUNT_ENV) and the scripts in UBOOT_DEFAULT_ENV do on
 * one boot, through the real fw_printenv/fw_setenv: bootcount_load reads bootcount only while
 * upgrade_available=1; bootcount is incremented and (only then) saved; bootcount > bootlimit runs
 * altbootcmd (`setenv upgrade_available 0; saveenv; run bootcmd`); bootcmd's ota_select boots trial_slot
 * while upgrade_available=1, else boot_slot; the kernel gets `ota.slot=`.
 */
export async function bootloaderBoot(device: UbootDevice): Promise<'A' | 'B'> {
  const env = await device.printenv();
  const upgrade = env.get('upgrade_available') === '1';
  const bootcount = (upgrade ? Number(env.get('bootcount') ?? '0') : 0) + 1;
  if (upgrade) await device.setenv('bootcount', String(bootcount));
  const bootlimit = Number(env.get('bootlimit') ?? '0');
  if (bootlimit > 0 && bootcount > bootlimit) {
    if (!env.get('altbootcmd')) throw new Error('U-Boot: bootlimit exceeded and no altbootcmd: stuck at the prompt');
    await device.setenv('upgrade_available', '0');
  }
  const after = await device.printenv();
  const trialSlot = after.get('trial_slot');
  const slot = after.get('upgrade_available') === '1' && trialSlot ? trialSlot : after.get('boot_slot');
  if (slot !== 'A' && slot !== 'B') throw new Error(`U-Boot: ota_boot_${String(slot)} does not exist`);
  const part = slot === 'A' ? 2 : 3;
  await writeFile(device.cmdlinePath, `console=ttyS0,115200 root=/dev/mmcblk0p${part} ota.slot=${slot}\n`);
  return slot;
}

export async function ubootHarness(): Promise<SlotHarness & { device: UbootDevice }> {
  const tools = ubootTools();
  const tmp = await tempDir('slots-uboot-');
  const device = await ubootDevice(tmp.path, tools);
  const factory = release('1.0.0');
  await writeFile(device.devices.A, imageBytes(factory)); // the image build wrote slot A
  await provisionUbootSlots({ fwEnvConfig: device.fwEnvConfig, recordPath: device.recordPath, factory });
  let reboots = 0;
  let sources = 0;
  const create = () =>
    createUbootSlotBackend({
      fwEnvConfig: device.fwEnvConfig,
      recordPath: device.recordPath,
      devices: device.devices,
      cmdlinePath: device.cmdlinePath,
      logger: silentLogger,
      reboot: () => {
        reboots++;
      },
    });
  const harness: SlotHarness & { device: UbootDevice } = {
    kind: 'uboot',
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
      'both environment copies are garbage': () => writeFile(device.envPath, Buffer.alloc(2 * ENV_SIZE, 0x5a)),
      'environment file is missing': () => rm(device.envPath),
      'boot_slot is not a slot': () => device.setenv('boot_slot', 'C'),
      'agent record is missing': () => rm(device.recordPath),
      'kernel command line has no ota.slot': () => writeFile(device.cmdlinePath, 'console=ttyS0 root=/dev/mmcblk0p2\n'),
    },
    close: tmp.remove,
  };
  return harness;
}
