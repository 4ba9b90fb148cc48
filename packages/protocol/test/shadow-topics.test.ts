import { describe, expect, it } from 'vitest';
import {
  SHADOW_REQUEST_FILTERS,
  checkShadowName,
  checkThingName,
  parseShadowTopic,
  shadowAnswerTopic,
  shadowTopic,
  shadowTopicPrefix,
  type ShadowTopic,
} from '@otafleet/protocol';

const kinds: Omit<ShadowTopic, 'thingName' | 'shadowName'>[] = [
  { operation: 'get' },
  { operation: 'get', responseType: 'accepted' },
  { operation: 'get', responseType: 'rejected' },
  { operation: 'update' },
  { operation: 'update', responseType: 'accepted' },
  { operation: 'update', responseType: 'rejected' },
  { operation: 'update', responseType: 'delta' },
  { operation: 'update', responseType: 'documents' },
  { operation: 'delete' },
  { operation: 'delete', responseType: 'accepted' },
  { operation: 'delete', responseType: 'rejected' },
];

describe('shadow topics', () => {
  it.each(kinds)('round-trips classic %o', (kind) => {
    const t: ShadowTopic = { thingName: 'dev:1_a-B', ...kind };
    const topic = shadowTopic(t);
    expect(topic.startsWith('$aws/things/dev:1_a-B/shadow/')).toBe(true);
    expect(parseShadowTopic(topic)).toEqual({ ok: true, value: t });
  });

  it.each(kinds)('round-trips named %o', (kind) => {
    const t: ShadowTopic = { thingName: 'thing1', shadowName: 'ota-config', ...kind };
    const topic = shadowTopic(t);
    expect(topic.startsWith('$aws/things/thing1/shadow/name/ota-config/')).toBe(true);
    expect(parseShadowTopic(topic)).toEqual({ ok: true, value: t });
  });

  it.each(kinds.filter((k) => k.responseType !== undefined))('answer topic from the request topic %o', (kind) => {
    for (const shadowName of [undefined, 'ota-config']) {
      const base = shadowName === undefined ? { thingName: 'thing1' } : { thingName: 'thing1', shadowName };
      const request = shadowTopic({ ...base, operation: kind.operation });
      const responseType = kind.responseType ?? 'accepted';
      expect(shadowAnswerTopic(request, responseType)).toBe(shadowTopic({ ...base, ...kind }));
    }
  });

  it('builds the exact AWS strings', () => {
    expect(shadowTopicPrefix('t')).toBe('$aws/things/t/shadow');
    expect(shadowTopicPrefix('t', 's')).toBe('$aws/things/t/shadow/name/s');
    expect(shadowTopic({ thingName: 't', operation: 'update', responseType: 'delta' })).toBe(
      '$aws/things/t/shadow/update/delta',
    );
    expect(SHADOW_REQUEST_FILTERS).toEqual(['$aws/things/+/shadow/+', '$aws/things/+/shadow/name/+/+']);
  });

  it.each([
    ['a/b/c', 'not-a-shadow-topic'],
    ['$aws/things/t', 'not-a-shadow-topic'],
    ['$aws/things/t/shadow', 'not-a-shadow-topic'],
    ['$aws/things/t/jobs/get', 'not-a-shadow-topic'],
    ['$aws/things/t/shadow/name/s', 'not-a-shadow-topic'],
    ['$aws/things/t/shadow/list', 'unknown-operation'],
    ['$aws/things/t/shadow/get/delta', 'unknown-operation'],
    ['$aws/things/t/shadow/delete/documents', 'unknown-operation'],
    ['$aws/things/t/shadow/update/accepted/x', 'unknown-operation'],
    ['$aws/things/t/shadow/name/s/frob', 'unknown-operation'],
    ['$aws/things/bad.name/shadow/get', 'invalid-thing-name'],
    ['$aws/things//shadow/get', 'invalid-thing-name'],
    [`$aws/things/${'x'.repeat(129)}/shadow/get`, 'invalid-thing-name'],
    ['$aws/things/t/shadow/name/bad$name/get', 'invalid-shadow-name'],
    ['$aws/things/t/shadow/name//get', 'invalid-shadow-name'],
    [`$aws/things/t/shadow/name/${'s'.repeat(65)}/get`, 'invalid-shadow-name'],
  ])('rejects %s as %s', (topic, kind) => {
    const r = parseShadowTopic(topic);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe(kind);
  });

  it('validates names at their limits', () => {
    expect(checkThingName('x'.repeat(128))).toBeUndefined();
    expect(checkThingName('x'.repeat(129))).toEqual({ kind: 'too-long', bytes: 129, limit: 128 });
    expect(checkThingName('')).toEqual({ kind: 'empty' });
    expect(checkThingName('a b')).toEqual({ kind: 'invalid-characters' });
    expect(checkThingName('é')).toEqual({ kind: 'invalid-characters' });
    expect(checkShadowName('s'.repeat(64))).toBeUndefined();
    expect(checkShadowName('s'.repeat(65))).toEqual({ kind: 'too-long', bytes: 65, limit: 64 });
    expect(checkShadowName('a+b')).toEqual({ kind: 'invalid-characters' });
  });
});
