import { Type, type Static } from '@sinclair/typebox';

/**
 * A daily install window in UTC: the agent downloads and verifies at once, and installs only inside the window.
 * A window may cross midnight (22:00 for 240 minutes ends at 02:00). The duration bounds follow AWS IoT Jobs'
 * maintenance windows (durationInMinutes 1–1430), so a window never covers a whole day.
 */
export const InstallWindowSchema = Type.Object(
  {
    start: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM, UTC' }),
    durationMinutes: Type.Integer({ minimum: 1, maximum: 1430 }),
  },
  { additionalProperties: false },
);
export type InstallWindow = Static<typeof InstallWindowSchema>;

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** Epoch-millisecond bounds of one opening of a window: `start` inclusive, `end` exclusive. */
export interface WindowOpening {
  readonly start: number;
  readonly end: number;
}

/** The opening of `window` that contains `nowMs`, else the next one. Pure: the caller passes its clock. */
export function nextInstallWindow(window: InstallWindow, nowMs: number): WindowOpening {
  const [hours, minutes] = window.start.split(':').map(Number) as [number, number];
  const offset = (hours * 60 + minutes) * MINUTE_MS;
  const duration = window.durationMinutes * MINUTE_MS;
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS + offset;
  // Yesterday's opening may still be open (a window across midnight); else today's, else tomorrow's.
  const start = nowMs < today - DAY_MS + duration ? today - DAY_MS : nowMs < today + duration ? today : today + DAY_MS;
  return { start, end: start + duration };
}

export const isInsideInstallWindow = (window: InstallWindow, nowMs: number): boolean =>
  nextInstallWindow(window, nowMs).start <= nowMs;
