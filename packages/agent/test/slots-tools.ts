import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The real bootloader tools the slot tests run, found on PATH or (as root) installed with apt-get, the way
 * @otafleet/iot-core/testing finds Mosquitto. These tests are never skipped.
 * Debian ships fw_printenv/fw_setenv in libubootenv-tool (u-boot-tools keeps mkenvimage).
 */
export const SLOT_TOOL_PACKAGES = {
  fw_printenv: 'libubootenv-tool',
  fw_setenv: 'libubootenv-tool',
  mkenvimage: 'u-boot-tools',
  'grub-editenv': 'grub-common',
  'grub-script-check': 'grub-common',
  'grub-emu': 'grub-emu',
  mcopy: 'mtools',
  'mkfs.fat': 'dosfstools',
} as const;
export type SlotTool = keyof typeof SLOT_TOOL_PACKAGES;

const CANDIDATE_DIRS = ['/usr/bin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/local/sbin'];

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const lookup = (tool: string): string | undefined =>
  [...(process.env.PATH ?? '').split(delimiter), ...CANDIDATE_DIRS]
    .filter((d) => d.length > 0)
    .map((d) => join(d, tool))
    .find(executable);

const aptGet = (args: readonly string[]): boolean => {
  try {
    execFileSync('apt-get', args, {
      stdio: 'ignore',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return true;
  } catch {
    return false;
  }
};

/** Paths of the tools; installs the missing ones' packages (one apt-get call) when running as root. */
export function requireSlotTools<T extends SlotTool>(tools: readonly T[]): Record<T, string> {
  const missing = tools.filter((t) => lookup(t) === undefined);
  if (missing.length > 0 && process.getuid?.() === 0) {
    const install = ['install', '-y', '--no-install-recommends', ...new Set(missing.map((t) => SLOT_TOOL_PACKAGES[t]))];
    // A fresh machine may have no package lists yet: update once and try again.
    if (!aptGet(install)) void (aptGet(['update']) && aptGet(install));
  }
  const found = {} as Record<T, string>;
  for (const tool of tools) {
    const path = lookup(tool);
    if (path === undefined) {
      throw new Error(
        `${tool} is required for the slot tests: install Debian's ${SLOT_TOOL_PACKAGES[tool]} (apt-get install -y ${SLOT_TOOL_PACKAGES[tool]}) or put it on PATH`,
      );
    }
    found[tool] = path;
  }
  return found;
}
