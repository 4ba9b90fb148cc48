/**
 * The U-Boot side of the A/B contract, written once: docs/agent-slots.md shows these and the tests
 * build their environment image from them. U-Boot must be built with CONFIG_BOOTCOUNT_LIMIT and
 * CONFIG_BOOTCOUNT_ENV: on every boot with `upgrade_available=1` it increments `bootcount`, saves the
 * environment, and runs `altbootcmd` instead of `bootcmd` once `bootcount` exceeds `bootlimit`.
 */

/** The variables the agent reads and writes. */
export const UBOOT_VARS = {
  /** A|B: the committed slot. */
  bootSlot: 'boot_slot',
  /** A|B while a trial is armed, or after one ended uncommitted (then with upgrade_available=0); empty otherwise. */
  trialSlot: 'trial_slot',
  /** 1 while a trial is armed: U-Boot counts boots and boots trial_slot. */
  upgradeAvailable: 'upgrade_available',
  /** Trial boots so far (U-Boot increments it; the agent zeroes it when arming and committing). */
  bootcount: 'bootcount',
  /** The trial's maxAttempts. */
  bootlimit: 'bootlimit',
  /** Must exist: what U-Boot runs when bootcount > bootlimit. */
  altbootcmd: 'altbootcmd',
} as const;

/**
 * Scripts for the board's default environment (CONFIG_EXTRA_ENV_SETTINGS, or imported from a uEnv.txt).
 * `ota_boot_A`/`ota_boot_B` are board-specific; these load a kernel from the slot's root partition on
 * mmc 0 (partitions 2 and 3) and pass `ota.slot=` so the agent can tell which slot booted.
 * `altbootcmd` leaves bootcount above bootlimit: that is how the agent tells "attempts exhausted" from
 * its own rollback.
 */
export const UBOOT_DEFAULT_ENV: Readonly<Record<string, string>> = {
  boot_slot: 'A',
  upgrade_available: '0',
  bootcount: '0',
  bootlimit: '3',
  ota_select:
    'if test "${upgrade_available}" = 1 && test -n "${trial_slot}"; then setenv ota_slot ${trial_slot}; else setenv ota_slot ${boot_slot}; fi',
  bootcmd: 'run ota_select; run ota_boot_${ota_slot}',
  altbootcmd: 'setenv upgrade_available 0; saveenv; run bootcmd',
  ota_boot_A:
    'setenv bootargs ${ota_bootargs} root=/dev/mmcblk0p2 ota.slot=A; load mmc 0:2 ${kernel_addr_r} /boot/Image; booti ${kernel_addr_r} - ${fdt_addr}',
  ota_boot_B:
    'setenv bootargs ${ota_bootargs} root=/dev/mmcblk0p3 ota.slot=B; load mmc 0:3 ${kernel_addr_r} /boot/Image; booti ${kernel_addr_r} - ${fdt_addr}',
};

/** The default environment as mkenvimage's input (`name=value` lines). */
export const ubootEnvText = (vars: Readonly<Record<string, string>> = UBOOT_DEFAULT_ENV): string =>
  Object.entries(vars)
    .map(([name, value]) => `${name}=${value}\n`)
    .join('');
