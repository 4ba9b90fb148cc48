import { MAX_TRIAL_ATTEMPTS } from './schema.js';

/** The grubenv variables the agent writes and the GRUB script below consumes. */
export const GRUB_VARS = {
  /** A|B: the committed slot. */
  bootSlot: 'boot_slot',
  /** A|B: the slot of the trial (armed, or ended as trial_state says). */
  trialSlot: 'trial_slot',
  /** armed | exhausted | rolled-back | empty (no trial on record). */
  trialState: 'trial_state',
  /** Trial boots so far; the script counts them. */
  trialAttempts: 'trial_attempts',
  /** The trial's maxAttempts. */
  trialMax: 'trial_max',
} as const;

export const GRUB_TRIAL_STATES = ['', 'armed', 'exhausted', 'rolled-back'] as const;
export type GrubTrialState = (typeof GRUB_TRIAL_STATES)[number];

/** GRUB script has no arithmetic: the counter steps through a chain of comparisons (0→1 … 9→10). */
const increment = Array.from({ length: MAX_TRIAL_ATTEMPTS }, (_, n) =>
  n === 0
    ? `    if [ "\${trial_attempts}" = 0 ]; then set trial_attempts=1`
    : `    elif [ "\${trial_attempts}" = ${n} ]; then set trial_attempts=${n + 1}`,
).join('\n');

/**
 * The slot selection for grub.cfg, before the menu entries (docs/agent-slots.md shows a whole grub.cfg).
 * It sets `ota_slot`; entries boot that slot's kernel and pass `ota.slot=${ota_slot}`. Each boot of an
 * armed trial with attempts left counts one and boots the trial slot; with none left it marks the trial
 * exhausted and boots the committed slot. `save_env` rewrites the file's own blocks in place (it can only
 * do so on a plain file system: no LVM, RAID or compression under grubenv). `ota_env` may be set before
 * this snippet to place grubenv elsewhere than `${prefix}/grubenv`. The tests run this script in the
 * real GRUB (grub-emu).
 */
export const GRUB_SLOT_SCRIPT = `# otafleet A/B slot selection (docs/agent-slots.md)
if [ -z "\${ota_env}" ]; then set ota_env="\${prefix}/grubenv"; fi
load_env -f "\${ota_env}" boot_slot trial_slot trial_state trial_attempts trial_max
set ota_slot="\${boot_slot}"
if [ "\${trial_state}" = armed ]; then
  if [ "\${trial_attempts}" -lt "\${trial_max}" ]; then
${increment}
    fi
    set ota_slot="\${trial_slot}"
  else
    set trial_state=exhausted
  fi
  save_env -f "\${ota_env}" trial_state trial_attempts
fi
if [ "\${ota_slot}" != B ]; then set ota_slot=A; fi
`;
