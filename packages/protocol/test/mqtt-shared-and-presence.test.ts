import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import {
  isAwsEventsTopic,
  parseSharedSubscription,
  PresenceDisconnectedEventSchema,
  presenceConnectedTopic,
  presenceDisconnectedTopic,
  routingFilter,
} from '../src/index.js';

describe('shared subscriptions', () => {
  it.each([
    ['$share/fleet/dt/+/health', { group: 'fleet', filter: 'dt/+/health' }],
    ['$share/g/#', { group: 'g', filter: '#' }],
    ['$share/', undefined],
    ['$share/g', undefined],
    ['$share/g/', undefined],
    ['$share//x', undefined],
    ['$share/g+/x', undefined],
    ['$share/g#/x', undefined],
    ['$share/g/a/#/b', undefined],
    ['dt/+/health', undefined],
  ])('%s -> %j', (filter, expected) => {
    expect(parseSharedSubscription(filter)).toEqual(expected);
  });

  it('routes by the inner filter', () => {
    expect(routingFilter('$share/g/a/+')).toBe('a/+');
    expect(routingFilter('a/+')).toBe('a/+');
  });
});

describe('lifecycle events', () => {
  it('names the presence topics under $aws/events/', () => {
    expect(presenceConnectedTopic('c1')).toBe('$aws/events/presence/connected/c1');
    expect(presenceDisconnectedTopic('c1')).toBe('$aws/events/presence/disconnected/c1');
    expect(isAwsEventsTopic('$aws/events/job/j/completed')).toBe(true);
    expect(isAwsEventsTopic('$aws/events')).toBe(true);
    expect(isAwsEventsTopic('$aws/eventsx')).toBe(false);
    expect(isAwsEventsTopic('$aws/things/t/jobs/notify')).toBe(false);
  });

  it('a disconnect event needs an AWS disconnect reason', () => {
    const event = {
      clientId: 'c1',
      timestamp: 1,
      eventType: 'disconnected',
      sessionIdentifier: 's',
      principalIdentifier: 'p',
      versionNumber: 1,
      clientInitiatedDisconnect: false,
      disconnectReason: 'CONNECTION_LOST',
    };
    expect(Value.Check(PresenceDisconnectedEventSchema, event)).toBe(true);
    expect(Value.Check(PresenceDisconnectedEventSchema, { ...event, disconnectReason: 'BORED' })).toBe(false);
    expect(Value.Check(PresenceDisconnectedEventSchema, { ...event, eventType: 'connected' })).toBe(false);
  });
});
