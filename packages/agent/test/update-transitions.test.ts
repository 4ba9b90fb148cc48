import { describe, expect, it } from 'vitest';
import {
  RETIRED_UPDATE_STATE_IDS,
  SWITCHED_STATES,
  UPDATE_EVENTS,
  UPDATE_STATES,
  UPDATE_STATE_NAMES,
  UPDATE_TRANSITIONS,
  nextUpdateState,
  type UpdateStateName,
} from '@otafleet/agent';

const reachable = (from: UpdateStateName): Set<UpdateStateName> => {
  const seen = new Set<UpdateStateName>([from]);
  const queue = [from];
  for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
    for (const [a, , b] of UPDATE_TRANSITIONS) {
      if (a === s && !seen.has(b)) {
        seen.add(b);
        queue.push(b);
      }
    }
  }
  return seen;
};

describe('the update transition table', () => {
  it('keeps the stored state numbers exactly as shipped (a journal written earlier reads the same)', () => {
    expect(UPDATE_STATES).toEqual({
      Accepted: 1,
      Downloading: 2,
      Verified: 3,
      WaitingForWindow: 4,
      Installing: 5,
      Arming: 6,
      Activating: 7,
      HealthChecking: 8,
      ReportingSuccess: 9,
      Committing: 10,
      RollingBack: 11,
      ReportingFailure: 12,
      Canceling: 13,
      ReportingDownloaded: 14,
      Done: 15,
    });
    const ids = Object.values(UPDATE_STATES);
    expect(new Set(ids).size).toBe(ids.length);
    for (const retired of RETIRED_UPDATE_STATE_IDS) expect(ids).not.toContain(retired);
  });

  it('lists each (state, event) pair once, with known names only', () => {
    const keys = UPDATE_TRANSITIONS.map(([s, e]) => `${s}/${e}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const [s, e, n] of UPDATE_TRANSITIONS) {
      expect(UPDATE_STATE_NAMES).toContain(s);
      expect(UPDATE_STATE_NAMES).toContain(n);
      expect(UPDATE_EVENTS).toContain(e);
      expect(s).not.toBe('Done');
    }
  });

  it('reaches every state from Accepted, and Done from every state', () => {
    expect([...reachable('Accepted')].sort()).toEqual([...UPDATE_STATE_NAMES].sort());
    for (const s of UPDATE_STATE_NAMES) expect(reachable(s).has('Done'), s).toBe(true);
  });

  it('ends every state on a loop: StateLoopDetected leads out of each, and never back into the forward path', () => {
    for (const s of UPDATE_STATE_NAMES.filter((n) => n !== 'Done')) {
      const next = nextUpdateState(s, 'StateLoopDetected');
      expect(next, s).toBeDefined();
      expect(['ReportingFailure', 'RollingBack', 'Done']).toContain(next);
    }
  });

  it('after the switch, every failure and cancel rolls back before reporting (the device ends on its old slot)', () => {
    for (const s of SWITCHED_STATES) {
      if (s === 'Arming') continue; // an armed trial that never ran: Canceling disarms it
      for (const e of ['Failure', 'Cancel'] as const) expect(nextUpdateState(s, e), `${s}/${e}`).toBe('RollingBack');
    }
    expect(nextUpdateState('RollingBack', 'Success')).toBe('ReportingFailure');
  });

  it('commits only after ReportingSuccess succeeded (the Jobs service accepted SUCCEEDED)', () => {
    const into = UPDATE_TRANSITIONS.filter(([, , n]) => n === 'Committing');
    expect(into).toEqual([['ReportingSuccess', 'Success', 'Committing']]);
    expect(nextUpdateState('HealthChecking', 'Success')).toBe('ReportingSuccess');
  });

  it('before the switch, a failure reports without touching a slot', () => {
    for (const s of ['Accepted', 'Downloading', 'Installing'] as const) {
      expect(nextUpdateState(s, 'Failure')).toBe('ReportingFailure');
    }
  });
});
