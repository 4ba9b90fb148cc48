/**
 * The crash-loop rule, written once: `crashes` unrequested exits within `windowMs` make a crash loop. Pure, so the
 * supervisor and the health runner read the same rule and a test can drive it with plain numbers.
 */
export interface CrashLoopRule {
  readonly crashes: number;
  readonly windowMs: number;
}

export const DEFAULT_CRASH_LOOP_RULE: CrashLoopRule = { crashes: 3, windowMs: 60_000 };

/** The crash times (epoch ms) inside the window that ends at `now`, when they are enough to be a loop. */
export function crashLoopIn(
  crashTimes: readonly number[],
  now: number,
  rule: CrashLoopRule,
): { readonly crashes: number; readonly windowMs: number } | undefined {
  const inWindow = crashTimes.filter((t) => t > now - rule.windowMs && t <= now).length;
  return inWindow >= rule.crashes ? { crashes: inWindow, windowMs: rule.windowMs } : undefined;
}
