import { describe, expect, it } from 'vitest';
import {
  ROLLOUT_EVENTS,
  ROLLOUT_STATUSES,
  ROLLOUT_TRANSITIONS,
  WAVE_EVENTS,
  WAVE_STATUSES,
  WAVE_TRANSITIONS,
  isFinalRolloutStatus,
  isRolloutStopped,
  nextRolloutStatus,
  nextWaveStatus,
} from '@otafleet/fleet-service';

describe('rollout transition table', () => {
  it('answers every (status, event) pair: listed pairs move, every other pair is refused naming both', () => {
    let legal = 0;
    for (const from of ROLLOUT_STATUSES) {
      for (const event of ROLLOUT_EVENTS) {
        const row = ROLLOUT_TRANSITIONS.find(([f, e]) => f === from && e === event);
        const result = nextRolloutStatus(from, event);
        if (row) {
          legal++;
          expect(result).toEqual({ ok: true, value: row[2] });
        } else {
          expect(result.ok).toBe(false);
          if (!result.ok) {
            expect(result.error.code).toBe('ILLEGAL_TRANSITION');
            expect(result.error.message).toContain(from);
            expect(result.error.message).toContain(event);
          }
        }
      }
    }
    expect(legal).toBe(ROLLOUT_TRANSITIONS.length);
  });

  it('the happy path and the three gate actions', () => {
    expect(nextRolloutStatus('scheduled', 'start')).toEqual({ ok: true, value: 'running' });
    expect(nextRolloutStatus('running', 'last-wave-passed')).toEqual({ ok: true, value: 'completed' });
    expect(nextRolloutStatus('running', 'gate-breached-pause')).toEqual({ ok: true, value: 'paused' });
    expect(nextRolloutStatus('running', 'gate-breached-abort')).toEqual({ ok: true, value: 'aborted' });
    expect(nextRolloutStatus('running', 'gate-breached-rollback')).toEqual({ ok: true, value: 'rolling-back' });
    expect(nextRolloutStatus('paused', 'promote')).toEqual({ ok: true, value: 'running' });
  });

  it('final statuses take nothing; an aborted rollout can still roll its devices back', () => {
    for (const status of ['completed', 'rolled-back', 'canceled'] as const) {
      expect(isFinalRolloutStatus(status)).toBe(true);
      for (const event of ROLLOUT_EVENTS) expect(nextRolloutStatus(status, event).ok).toBe(false);
      const refused = nextRolloutStatus(status, 'resume');
      expect(!refused.ok && refused.error.message).toContain('is final');
    }
    expect(isFinalRolloutStatus('aborted')).toBe(false);
    expect(nextRolloutStatus('aborted', 'rollback')).toEqual({ ok: true, value: 'rolling-back' });
    expect(nextRolloutStatus('aborted', 'resume').ok).toBe(false);
    expect(isRolloutStopped('aborted')).toBe(true);
    expect(isRolloutStopped('paused')).toBe(false);
  });
});

describe('wave transition table', () => {
  it('answers every (status, event) pair', () => {
    for (const from of WAVE_STATUSES) {
      for (const event of WAVE_EVENTS) {
        const row = WAVE_TRANSITIONS.find(([f, e]) => f === from && e === event);
        expect(nextWaveStatus(from, event)).toEqual(
          row ? { ok: true, value: row[2] } : expect.objectContaining({ ok: false }),
        );
      }
    }
  });

  it('deploy → settle → gate, early breach while deploying, promote past a failed gate', () => {
    expect(nextWaveStatus('pending', 'deploy')).toEqual({ ok: true, value: 'deploying' });
    expect(nextWaveStatus('deploying', 'settled')).toEqual({ ok: true, value: 'soaking' });
    expect(nextWaveStatus('soaking', 'gate-passed')).toEqual({ ok: true, value: 'passed' });
    expect(nextWaveStatus('deploying', 'gate-breached')).toEqual({ ok: true, value: 'failed' });
    expect(nextWaveStatus('failed', 'promote')).toEqual({ ok: true, value: 'passed' });
    expect(nextWaveStatus('passed', 'deploy').ok).toBe(false);
    expect(nextWaveStatus('skipped', 'deploy').ok).toBe(false);
  });
});
