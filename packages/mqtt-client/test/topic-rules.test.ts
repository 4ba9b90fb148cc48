import { describe, expect, it } from 'vitest';
import { assertPublishTopic, routingFilterOf } from '@otafleet/mqtt-client';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

describe('topic rules', () => {
  it('accepts publish topics and refuses wildcards, empty, NUL and oversized ones with InvalidTopic', () => {
    expect(codeOf(() => assertPublishTopic('$aws/things/pi-1/shadow/update'))).toBeUndefined();
    for (const bad of ['', 'a/+/b', 'a/#', 'a\u0000b', 'x'.repeat(65_536), 42])
      expect(codeOf(() => assertPublishTopic(bad))).toBe('InvalidTopic');
  });

  it('routes a shared subscription by the filter after $share/<group>/', () => {
    expect(routingFilterOf('$share/fleet-service/dt/+/health')).toBe('dt/+/health');
    expect(routingFilterOf('$share/g/#')).toBe('#');
    expect(routingFilterOf('dt/+/health')).toBe('dt/+/health');
    expect(routingFilterOf('$aws/things/pi-1/shadow/get/+')).toBe('$aws/things/pi-1/shadow/get/+');
  });

  it('refuses malformed filters with InvalidTopicFilter', () => {
    for (const bad of [
      '',
      'a/#/b',
      'a/b#',
      'a+/b',
      '$share/',
      '$share//dt/x',
      '$share/g+/dt/x',
      '$share/g',
      '$share/g/',
      '$share/g/a/#/b',
    ])
      expect(
        codeOf(() => routingFilterOf(bad)),
        bad,
      ).toBe('InvalidTopicFilter');
  });
});
