import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { uptime } from 'node:os';
import type { AgentJournal } from '../journal/types.js';

/** Which boot this is, as the health report and the reported state carry it. */
export interface BootIdentity {
  readonly bootId: string;
  readonly previousBootId?: string;
  readonly bootCount: number;
}

export const KERNEL_BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';
const META_BOOT = 'boot';
/**
 * Two starts whose computed boot times are this close belong to one boot. A larger clock step between two starts of
 * one boot counts one boot too many, which is harmless (reports order by previousBootId).
 */
const SAME_BOOT_TOLERANCE_MS = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Where the kernel's id of this boot comes from: undefined when there is none. */
export type KernelBootIdSource = () => Promise<string | undefined>;

/** The kernel's id of this boot read from `path` (Linux: /proc/sys/kernel/random/boot_id); none when unreadable. */
export const readKernelBootId =
  (path: string = KERNEL_BOOT_ID_PATH): KernelBootIdSource =>
  async () => {
    try {
      return (await readFile(path, 'utf8')).trim().toLowerCase();
    } catch {
      return undefined;
    }
  };

/** What is journaled: the identity, and when the boot began by the clock (for the fallback's same-boot test). */
interface StoredBoot extends BootIdentity {
  readonly bootStartedAt?: number;
}

function decode(text: string | undefined): StoredBoot | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Partial<StoredBoot>;
    if (typeof v.bootId !== 'string' || !UUID.test(v.bootId)) return undefined;
    if (typeof v.bootCount !== 'number' || !Number.isSafeInteger(v.bootCount) || v.bootCount < 1) return undefined;
    const previous = typeof v.previousBootId === 'string' && UUID.test(v.previousBootId) ? v.previousBootId : undefined;
    return {
      bootId: v.bootId,
      bootCount: v.bootCount,
      ...(previous === undefined ? {} : { previousBootId: previous }),
      ...(typeof v.bootStartedAt === 'number' && Number.isFinite(v.bootStartedAt)
        ? { bootStartedAt: v.bootStartedAt }
        : {}),
    };
  } catch {
    return undefined;
  }
}

const identityOf = (b: StoredBoot): BootIdentity => ({
  bootId: b.bootId,
  bootCount: b.bootCount,
  ...(b.previousBootId === undefined ? {} : { previousBootId: b.previousBootId }),
});

export interface BootIdentityOptions {
  /** Default: read from KERNEL_BOOT_ID_PATH. Anything that is not a UUID counts as no kernel id. */
  readonly kernelBootId?: KernelBootIdSource;
  /** Epoch ms now, and seconds since the system booted (defaults: Date.now, os.uptime). */
  readonly now?: () => number;
  readonly uptimeSeconds?: () => number;
}

/**
 * Resolves this boot's identity and journals it before anything reports it: the kernel's boot id when readable
 * (an agent restarted within one boot keeps its bootId, count and sequence); else a random id, kept for as long as
 * the boot time (now minus the system's uptime) stays the same. A new bootId counts one more boot and remembers the
 * one before it.
 */
export async function resolveBootIdentity(
  journal: Pick<AgentJournal, 'getMeta' | 'setMeta'>,
  options: BootIdentityOptions = {},
): Promise<BootIdentity> {
  const stored = decode(await journal.getMeta(META_BOOT));
  const text = await (options.kernelBootId ?? readKernelBootId())();
  const kernel = text !== undefined && UUID.test(text) ? text : undefined;
  // The boot time by the clock is only the fallback's test (and a syscall): not asked when the kernel has an id.
  const bootStartedAt =
    kernel === undefined ? (options.now ?? Date.now)() - (options.uptimeSeconds ?? uptime)() * 1000 : undefined;
  const sameBoot =
    stored !== undefined &&
    (kernel !== undefined
      ? stored.bootId === kernel
      : stored.bootStartedAt !== undefined &&
        bootStartedAt !== undefined &&
        Math.abs(stored.bootStartedAt - bootStartedAt) < SAME_BOOT_TOLERANCE_MS);
  if (sameBoot) return identityOf(stored);
  const next: BootIdentity = {
    bootId: kernel ?? randomUUID(),
    bootCount: (stored?.bootCount ?? 0) + 1,
    ...(stored === undefined ? {} : { previousBootId: stored.bootId }),
  };
  const record: StoredBoot = { ...next, ...(bootStartedAt === undefined ? {} : { bootStartedAt }) };
  await journal.setMeta(META_BOOT, JSON.stringify(record));
  return next;
}
