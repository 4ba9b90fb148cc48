import { describe, expect, it } from 'vitest';
import {
  compileTopicFilter,
  isInThingNamespace,
  isValidTopicName,
  isWellFormedFilter,
  jobsAnswerTopic,
  shadowAnswerTopic,
  THING_NAMESPACE_ACL_PATTERNS,
  thingNamespaceOf,
  thingNamespaces,
  topicMatches,
} from '@otafleet/protocol';

describe('topicMatches and compileTopicFilter', () => {
  it.each([
    ['a/+/c', 'a/b/c', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'a', true],
    ['a/+', 'a/b/c', false],
    ['a/+', 'a', false],
    ['a/+', 'a/', true], // an empty level is a level
    ['a/+/b', 'a//b', true],
    ['a/+/+', 'a/b', false],
    ['a/+/c', 'a/b/cd', false],
    ['a/bc/+', 'a/b/c', false],
    ['a/b', 'a/b/', false],
    ['#', 'x/y', true],
    ['#', '$SYS/x', false],
    ['+/x', '$aws/x', false],
    ['$aws/things/+/shadow/get', '$aws/things/t1/shadow/get', true],
    ['$aws/things/+/shadow/get', '$aws/things/t1/shadow/update', false],
    ['$aws/things/+/shadow/+', '$aws/things/t1/shadow/name/n/update', false],
    ['$aws/things/+/shadow/name/+/+', '$aws/things/t1/shadow/name/n/update', true],
  ])('%s vs %s -> %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
    expect(compileTopicFilter(filter)(topic)).toBe(expected);
  });

  it('both matchers agree with a split-per-level reference on every filter/topic pair of a small alphabet', () => {
    const reference = (filter: string, topic: string): boolean => {
      const f = filter.split('/');
      const t = topic.split('/');
      if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
      for (let i = 0; i < f.length; i++) {
        if (f[i] === '#') return true;
        if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
      }
      return f.length === t.length;
    };
    const topics = ['a', 'b', '$a', '', 'ab'].flatMap((x) => [x, `${x}/a`, `${x}/b/a`, `${x}//a`, `${x}/`]);
    const filters = ['a', '+', '#', '$a', 'ab'].flatMap((x) => [x, `${x}/+`, `${x}/#`, `${x}/a`, `${x}/+/a`, `${x}/`]);
    let compared = 0;
    for (const filter of filters) {
      const compiled = compileTopicFilter(filter);
      for (const topic of topics) {
        const expected = reference(filter, topic);
        expect([filter, topic, compiled(topic), topicMatches(filter, topic)]).toEqual([
          filter,
          topic,
          expected,
          expected,
        ]);
        compared++;
      }
    }
    expect(compared).toBe(filters.length * topics.length);
  });
});

describe('per-thing namespaces', () => {
  it('are the thing topics and the telemetry prefix', () => {
    expect(thingNamespaces('pi-1')).toEqual(['$aws/things/pi-1', 'dt/pi-1']);
    expect(THING_NAMESPACE_ACL_PATTERNS).toEqual(['$aws/things/%u/#', 'dt/%u/#']);
  });

  it.each([
    ['$aws/things/pi-1/shadow/update', '$aws/things/pi-1'],
    ['$aws/things/pi-1', '$aws/things/pi-1'],
    ['dt/pi-1/health', 'dt/pi-1'],
    ['dt/pi-1', 'dt/pi-1'],
    ['$aws/things/+/shadow/update', undefined],
    ['$aws/things/#', undefined],
    ['$aws/things/', undefined],
    ['dt/+/health', undefined],
    ['other/pi-1', undefined],
    ['$aws/events/presence/connected/pi-1', undefined],
  ])('%s lies in %s', (topic, ns) => {
    expect(thingNamespaceOf(topic)).toBe(ns);
  });

  it.each([
    ['pi-1', '$aws/things/pi-1/jobs/notify-next', true],
    ['pi-1', 'dt/pi-1/#', true],
    ['pi-1', '$aws/things/pi-10/jobs/notify-next', false],
    ['pi-1', '$aws/things/pi-2/shadow/get', false],
    ['pi-1', '$aws/things/+/shadow/get', false],
    ['pi-1', 'dt/pi-2/health', false],
  ])('%s owns %s: %s', (thing, topic, owned) => {
    expect(isInThingNamespace(thing, topic)).toBe(owned);
  });

  it.each([
    ['a/b', true, true],
    ['a/+', false, true],
    ['a/#', false, true],
    ['a/#/b', false, false],
    ['a/b#', false, false],
    ['a/+b', false, false],
    ['', false, false],
  ])('%s: topic name %s, filter %s', (text, topic, filter) => {
    expect(isValidTopicName(text)).toBe(topic);
    expect(isWellFormedFilter(text)).toBe(filter);
  });

  it('a filter is well formed exactly when a split-per-level reference says so, for every string of a small alphabet', () => {
    const reference = (filter: string): boolean => {
      const levels = filter.split('/');
      return (
        filter.length > 0 &&
        levels.every((l, i) => l === '+' || (l === '#' && i === levels.length - 1) || !/[+#]/.test(l))
      );
    };
    let strings = [''];
    let checked = 0;
    for (let length = 0; length <= 5; length++) {
      for (const s of strings) {
        expect([s, isWellFormedFilter(s)]).toEqual([s, reference(s)]);
        checked++;
      }
      strings = strings.flatMap((s) => ['a', '/', '+', '#'].map((c) => s + c));
    }
    expect(checked).toBe((4 ** 6 - 1) / 3); // 1 + 4 + ... + 4^5
  });
});

describe('answer topics extend the request topic', () => {
  it('for Jobs and Shadow', () => {
    expect(jobsAnswerTopic('$aws/things/t/jobs/j1/update', 'accepted')).toBe('$aws/things/t/jobs/j1/update/accepted');
    expect(jobsAnswerTopic('$aws/things/t/jobs/start-next', 'rejected')).toBe('$aws/things/t/jobs/start-next/rejected');
    expect(shadowAnswerTopic('$aws/things/t/shadow/update', 'delta')).toBe('$aws/things/t/shadow/update/delta');
  });
});
