import type { HealthCheckSpec } from '@otafleet/protocol';

/**
 * One check's answer in one round. `definite`: the check got an answer that says "unhealthy" (a 500, exit 1, a
 * dead process), as opposed to no answer yet (refused connection, timeout) which may still turn into a pass.
 */
export type CheckOutcome =
  { readonly ok: true } | { readonly ok: false; readonly definite: boolean; readonly detail: string };

export type CheckFailure = Extract<CheckOutcome, { ok: false }>;

export const passed: CheckOutcome = { ok: true };

export const failed = (definite: boolean, detail: string): CheckFailure => ({ ok: false, definite, detail });

/** How a failure names its check: its position in the job document and what it probes. */
export function describeCheck(spec: HealthCheckSpec, index: number): string {
  const what = ((): string => {
    switch (spec.kind) {
      case 'http':
        return `http ${spec.url}`;
      case 'command':
        return `command ${spec.argv.join(' ')}`;
      case 'process':
        if (spec.name !== undefined) return `process named ${spec.name}`;
        if (spec.pidFile !== undefined) return `process in ${spec.pidFile}`;
        return 'process (the supervised application)';
      case 'mqtt':
        return 'mqtt (broker connection and shadow sync)';
    }
  })();
  return `check ${index + 1} (${what})`;
}
