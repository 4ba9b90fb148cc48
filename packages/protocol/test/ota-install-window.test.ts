import { describe, expect, it } from 'vitest';
import { isInsideInstallWindow, nextInstallWindow, type InstallWindow } from '@otafleet/protocol';

const at = (iso: string): number => Date.parse(iso);
const span = (o: { start: number; end: number }): [string, string] => [
  new Date(o.start).toISOString(),
  new Date(o.end).toISOString(),
];

describe('install windows (UTC, daily)', () => {
  const night: InstallWindow = { start: '22:00', durationMinutes: 240 };
  const lunch: InstallWindow = { start: '12:00', durationMinutes: 30 };

  it('before a window: the opening later that day', () => {
    expect(span(nextInstallWindow(lunch, at('2026-03-01T08:00:00Z')))).toEqual([
      '2026-03-01T12:00:00.000Z',
      '2026-03-01T12:30:00.000Z',
    ]);
    expect(isInsideInstallWindow(lunch, at('2026-03-01T11:59:59.999Z'))).toBe(false);
  });

  it('inside a window: that opening; the end is exclusive', () => {
    expect(isInsideInstallWindow(lunch, at('2026-03-01T12:00:00Z'))).toBe(true);
    expect(isInsideInstallWindow(lunch, at('2026-03-01T12:29:59.999Z'))).toBe(true);
    expect(isInsideInstallWindow(lunch, at('2026-03-01T12:30:00Z'))).toBe(false);
  });

  it('after a window: the next day', () => {
    expect(span(nextInstallWindow(lunch, at('2026-03-01T12:30:00Z')))).toEqual([
      '2026-03-02T12:00:00.000Z',
      '2026-03-02T12:30:00.000Z',
    ]);
  });

  it('a window across midnight is open after midnight, in the opening that began the day before', () => {
    expect(span(nextInstallWindow(night, at('2026-03-02T01:15:00Z')))).toEqual([
      '2026-03-01T22:00:00.000Z',
      '2026-03-02T02:00:00.000Z',
    ]);
    expect(isInsideInstallWindow(night, at('2026-03-02T01:15:00Z'))).toBe(true);
    expect(span(nextInstallWindow(night, at('2026-03-02T02:00:00Z')))).toEqual([
      '2026-03-02T22:00:00.000Z',
      '2026-03-03T02:00:00.000Z',
    ]);
  });

  it('the longest window still leaves a gap every day', () => {
    const longest: InstallWindow = { start: '00:00', durationMinutes: 1430 };
    expect(isInsideInstallWindow(longest, at('2026-03-01T23:49:59Z'))).toBe(true);
    expect(isInsideInstallWindow(longest, at('2026-03-01T23:50:00Z'))).toBe(false);
    expect(span(nextInstallWindow(longest, at('2026-03-01T23:55:00Z')))[0]).toBe('2026-03-02T00:00:00.000Z');
  });
});
