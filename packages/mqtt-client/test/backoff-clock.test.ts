import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  DEFAULT_BACKOFF,
  ManualClock,
  MqttClientError,
  createMqttConnection,
  mqttJsStreamTransport,
} from '@otafleet/mqtt-client';

describe('backoffDelayMs (full jitter)', () => {
  const policy = { baseMs: 500, capMs: 30_000, resetAfterConnectedMs: 30_000 };
  it('is random() * min(cap, base * 2^attempt)', () => {
    expect(backoffDelayMs(0, policy, () => 0.5)).toBe(250);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(2000);
    expect(backoffDelayMs(3, policy, () => 0.999)).toBe(3996);
    expect(backoffDelayMs(6, policy, () => 0.5)).toBe(15_000); // 32 s capped at 30 s
    expect(backoffDelayMs(10_000, policy, () => 0.5)).toBe(15_000); // no overflow for huge attempts
  });
  it('spans the whole window from 0: random() = 0 retries at once', () => {
    expect(backoffDelayMs(4, policy, () => 0)).toBe(0);
    const draws = [0.1, 0.4, 0.9].map((r) => backoffDelayMs(4, policy, () => r));
    expect(draws).toEqual([800, 3200, 7200]);
  });
  it('has documented defaults', () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 500, capMs: 30_000, resetAfterConnectedMs: 30_000 });
  });
  it('refuses a policy that cannot work, naming the option', () => {
    const transport = mqttJsStreamTransport(() => {
      throw new Error('unused');
    });
    for (const [backoff, option] of [
      [{ baseMs: 0 }, 'backoff.baseMs'],
      [{ baseMs: 1000, capMs: 10 }, 'backoff.capMs'],
      [{ resetAfterConnectedMs: -1 }, 'backoff.resetAfterConnectedMs'],
    ] as const) {
      let thrown: unknown;
      try {
        createMqttConnection({ transport, clientId: 'x', backoff });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(MqttClientError);
      expect(thrown).toMatchObject({ code: 'InvalidOptions', message: expect.stringContaining(option) });
    }
  });
});

describe('ManualClock', () => {
  it('fires due timers in time order on advance, including ones they set within the window', () => {
    const clock = new ManualClock(100);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => {
      fired.push(`a@${clock.now()}`);
      clock.setTimeout(() => fired.push(`c@${clock.now()}`), 5);
    }, 10);
    expect(clock.nextTimerIn()).toBe(10);
    clock.advance(9);
    expect(fired).toEqual([]);
    clock.advance(11);
    expect(fired).toEqual(['a@110', 'c@115', 'b@120']);
    expect(clock.now()).toBe(120);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.nextTimerIn()).toBeUndefined();
  });
  it('never fires a cleared timer; equal deadlines fire in the order they were set', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const first = clock.setTimeout(() => fired.push(1), 5);
    clock.setTimeout(() => fired.push(2), 5);
    clock.setTimeout(() => fired.push(3), 5);
    clock.clearTimeout(first);
    clock.advance(5);
    expect(fired).toEqual([2, 3]);
  });
  it('refuses to go back in time', () => {
    expect(() => new ManualClock().advance(-1)).toThrow(RangeError);
  });
});
