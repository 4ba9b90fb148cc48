import { describe, expect, it } from 'vitest';
import {
  ANY_FIELD,
  compileFleetQuery,
  dynamicGroupDelta,
  fieldsOf,
  fieldsTouched,
  matchesFleetQuery,
  parseFleetQuery,
  type FleetQuery,
  type IndexedThing,
} from '../src/registry/search/index.js';

function q(text: string): FleetQuery {
  const r = parseFleetQuery(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const thing = (over: Partial<IndexedThing> & { thingName?: string } = {}): IndexedThing => ({
  thingName: 'pi-0001',
  attributes: {},
  thingGroupNames: [],
  ...over,
});

/** [query, thing, expected] — each row one rule of docs/iot-core-search-and-scheduling.md. */
const CASES: readonly (readonly [string, IndexedThing, boolean])[] = [
  // Names, wildcards, case-insensitive search.
  ['thingName:pi-0001', thing(), true],
  ['thingName:PI-0001', thing(), true],
  ['thingName:pi-*', thing(), true],
  ['thingName:pi-000?', thing(), true],
  ['thingName:pi-00?', thing(), false],
  ['thingName:*0001', thing(), true],
  ['thingName:*', thing(), true],
  ['thingName:pi-0001*', thing(), true],
  ['thingName:gw-*', thing(), false],
  ['thingName:"pi-0001"', thing(), true],
  ['thingName:pi\\*', thing({ thingName: 'pi*' }), true],
  ['thingName:pi\\*', thing({ thingName: 'pix' }), false],
  ['thingTypeName:rpi4', thing({ thingTypeName: 'RPi4' }), true],
  ['thingTypeName:*', thing(), false],
  // Groups match by element.
  ['thingGroupNames:canary', thing({ thingGroupNames: ['prod', 'canary'] }), true],
  ['thingGroupNames:can*', thing({ thingGroupNames: ['prod', 'canary'] }), true],
  ['thingGroupNames:beta', thing({ thingGroupNames: ['prod', 'canary'] }), false],
  ['thingGroupNames:*', thing(), false],
  ['thingGroupNames:(prod AND canary)', thing({ thingGroupNames: ['prod', 'canary'] }), true],
  ['thingGroupNames:(prod AND -canary)', thing({ thingGroupNames: ['prod', 'canary'] }), false],
  // Attributes are strings; numeric ranges read numeric strings; string ranges compare strings.
  ['attributes.hw:rpi4', thing({ attributes: { hw: 'rpi4' } }), true],
  ['attributes.hw:rpi4', thing({ attributes: { HW: 'rpi4' } }), false],
  ['attributes.temperature>60', thing({ attributes: { temperature: '61' } }), true],
  ['attributes.temperature>60', thing({ attributes: { temperature: '60' } }), false],
  ['attributes.temperature>=60', thing({ attributes: { temperature: '60' } }), true],
  ['attributes.temperature>60', thing({ attributes: { temperature: 'hot' } }), false],
  ['attributes.myAttribute:[75 TO 80]', thing({ attributes: { myAttribute: '075' } }), true],
  ['attributes.myAttribute:{75 TO 80]', thing({ attributes: { myAttribute: '75' } }), false],
  ['attributes.myAttribute:{75 TO 80]', thing({ attributes: { myAttribute: '80' } }), true],
  ['attributes.myAttribute:75', thing({ attributes: { myAttribute: '075' } }), false],
  ['attributes.serialNumber:["abcd" TO "abcf"]', thing({ attributes: { serialNumber: 'abce' } }), true],
  ['attributes.serialNumber:["abcd" TO "abcf"]', thing({ attributes: { serialNumber: 'ABCF' } }), true],
  ['attributes.serialNumber:["abcd" TO "abcf"}', thing({ attributes: { serialNumber: 'abcf' } }), false],
  ['attributes.serialNumber:["abcd" TO "abcf"]', thing({ attributes: { serialNumber: 'abcg' } }), false],
  ['attributes.myAttribute:i*t', thing({ attributes: { myAttribute: 'it' } }), true],
  ['attributes.myAttribute:i*t', thing({ attributes: { myAttribute: 'inst' } }), true],
  ['attributes.myAttribute:i*t', thing({ attributes: { myAttribute: 'its' } }), false],
  ['attributes.owner:"ops@example.com"', thing({ attributes: { owner: 'ops@example.com' } }), true],
  ['attributes.hw:*', thing({ attributes: { hw: '' } }), true],
  // NOT is the complement: things without the attribute match too.
  ['NOT attributes.model:legacy', thing({ attributes: { model: 'legacy' } }), false],
  ['NOT attributes.model:legacy', thing({ attributes: { model: 'v2' } }), true],
  ['NOT attributes.model:legacy', thing(), true],
  // Shadow values: numbers compare as numbers, arrays by element, objects only for existence.
  ['shadow.reported.firmware.version:1.1.0', thing({ shadow: { reported: { firmware: { version: '1.1.0' } } } }), true],
  ['shadow.reported.firmware.version:1.1.*', thing({ shadow: { reported: { firmware: { version: '1.1.7' } } } }), true],
  ['shadow.reported.firmware.version:1.1.0', thing({ shadow: { desired: { firmware: { version: '1.1.0' } } } }), false],
  ['shadow.desired.firmware.version:1.1.0', thing({ shadow: { desired: { firmware: { version: '1.1.0' } } } }), true],
  ['shadow.reported.stats.battery:{70 TO 100}', thing({ shadow: { reported: { stats: { battery: 70 } } } }), false],
  ['shadow.reported.stats.battery:{70 TO 100}', thing({ shadow: { reported: { stats: { battery: 71.5 } } } }), true],
  ['shadow.reported.stats.battery:{70 TO 100}', thing({ shadow: { reported: { stats: { battery: '99' } } } }), true],
  ['shadow.reported.stats.battery:75', thing({ shadow: { reported: { stats: { battery: 75 } } } }), true],
  ['shadow.reported.stats.battery:75.0', thing({ shadow: { reported: { stats: { battery: 75 } } } }), true],
  ['shadow.reported.stats.battery:7*', thing({ shadow: { reported: { stats: { battery: 75 } } } }), false],
  ['shadow.reported.stats.battery:["70" TO "80"]', thing({ shadow: { reported: { stats: { battery: 75 } } } }), false],
  ['shadow.reported.myvalues:2', thing({ shadow: { reported: { myvalues: [1, 2, 3] } } }), true],
  ['shadow.reported.myvalues:4', thing({ shadow: { reported: { myvalues: [1, 2, 3] } } }), false],
  [
    'shadow.reported.nics.ip:10.0.0.2',
    thing({ shadow: { reported: { nics: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }] } } }),
    true,
  ],
  ['shadow.reported.enabled:true', thing({ shadow: { reported: { enabled: true } } }), true],
  ['shadow.reported.enabled:false', thing({ shadow: { reported: { enabled: true } } }), false],
  ['shadow.reported.location:*', thing({ shadow: { reported: { location: { lat: 1 } } } }), true],
  ['shadow.reported.location:*', thing({ shadow: { reported: { location: {} } } }), false],
  ['shadow.reported.location:*', thing({ shadow: { reported: { location: null } } }), false],
  ['shadow.reported.location:*', thing({ shadow: { reported: { location: [] } } }), false],
  ['shadow.reported.location:x', thing({ shadow: { reported: { location: { lat: 'x' } } } }), false],
  ['shadow.reported.location:*', thing(), false],
  // hasDelta: desired keys whose values differ from reported.
  ['shadow.hasDelta:true', thing({ shadow: { desired: { a: 1 }, reported: { a: 1 } } }), false],
  ['shadow.hasDelta:true', thing({ shadow: { desired: { a: 1 }, reported: { a: 2 } } }), true],
  ['shadow.hasDelta:true', thing({ shadow: { desired: { a: { b: 1 } }, reported: { a: { b: 1, c: 2 } } } }), false],
  ['shadow.hasDelta:false', thing({ shadow: { reported: { a: 1 } } }), true],
  ['shadow.hasDelta:false', thing(), false],
  ['shadow.hasDelta:*', thing({ shadow: {} }), true],
  // Named shadows are separate from the classic one.
  ['shadow.name.cfg.reported.mode:eco', thing({ namedShadows: { cfg: { reported: { mode: 'eco' } } } }), true],
  ['shadow.name.cfg.reported.mode:eco', thing({ shadow: { reported: { mode: 'eco' } } }), false],
  ['shadow.name.cfg.hasDelta:true', thing({ namedShadows: { cfg: { desired: { mode: 'eco' } } } }), true],
  ['shadow.name.other.reported.mode:*', thing({ namedShadows: { cfg: { reported: { mode: 'eco' } } } }), false],
  // Connectivity.
  ['connectivity.connected:true', thing({ connectivity: { connected: true } }), true],
  ['connectivity.connected:false', thing({ connectivity: { connected: true } }), false],
  ['connectivity.connected:false', thing(), false],
  ['connectivity.connected:*', thing({ connectivity: { connected: false } }), true],
  ['connectivity.connected:*', thing(), false],
  [
    'connectivity.connected:true AND connectivity.timestamp:[1557651600000 TO 1557867600000]',
    thing({ connectivity: { connected: true, timestamp: 1557651600000 } }),
    true,
  ],
  [
    'connectivity.timestamp > 1557651600000',
    thing({ connectivity: { connected: true, timestamp: 1557651600000 } }),
    false,
  ],
  [
    'connectivity.disconnectReason:CLIENT_INITIATED_DISCONNECT',
    thing({ connectivity: { connected: false, disconnectReason: 'CLIENT_INITIATED_DISCONNECT' } }),
    true,
  ],
  ['connectivity.disconnectReason:*', thing({ connectivity: { connected: true } }), false],
  // A term without a field searches registry and shadow values, not field names.
  ['abc', thing({ attributes: { site: 'ABC' } }), true],
  ['abc', thing({ attributes: { abc: 'x' } }), false],
  ['canary', thing({ thingGroupNames: ['canary'] }), true],
  ['eco', thing({ namedShadows: { cfg: { desired: { mode: { now: 'eco' } } } } }), true],
  ['1.1.0', thing({ shadow: { reported: { firmware: { version: '1.1.0' } } } }), true],
  ['rpi*', thing({ thingTypeName: 'rpi5' }), true],
  [
    'CLIENT_INITIATED_DISCONNECT',
    thing({ connectivity: { connected: false, disconnectReason: 'CLIENT_INITIATED_DISCONNECT' } }),
    false,
  ],
  ['*', thing(), true],
  // Boolean structure.
  ['thingName:pi-* AND attributes.hw:rpi4', thing({ attributes: { hw: 'rpi3' } }), false],
  ['thingName:pi-* OR attributes.hw:rpi4', thing({ attributes: { hw: 'rpi3' } }), true],
  ['thingName:gw-* OR attributes.hw:rpi4 AND thingGroupNames:canary', thing({ attributes: { hw: 'rpi4' } }), false],
  [
    '(thingName:gw-* OR attributes.hw:rpi4) thingGroupNames:canary',
    thing({ attributes: { hw: 'rpi4' }, thingGroupNames: ['canary'] }),
    true,
  ],
  ['thingName:(tv* AND -plasma)', thing({ thingName: 'tv-1' }), true],
  ['thingName:(tv* AND -plasma)', thing({ thingName: 'plasma' }), false],
];

describe('fleet query matching', () => {
  it.each(CASES)('%s', (text, t, expected) => {
    expect(matchesFleetQuery(q(text), t)).toBe(expected);
    expect(compileFleetQuery(q(text))(t)).toBe(expected);
  });

  it('ignores inherited properties: a field named like an Object.prototype member is simply absent', () => {
    expect(matchesFleetQuery(q('attributes.constructor:*'), thing())).toBe(false);
    expect(matchesFleetQuery(q('shadow.reported.toString:*'), thing({ shadow: { reported: {} } }))).toBe(false);
    expect(matchesFleetQuery(q('shadow.name.constructor.reported.x:*'), thing({ namedShadows: {} }))).toBe(false);
  });
});

describe('fieldsOf', () => {
  it('lists the data paths a query reads, sorted and unique', () => {
    expect(
      fieldsOf(q('thingName:pi-* AND (attributes.hw:rpi4 OR NOT attributes.hw:rpi3) thingGroupNames:canary')),
    ).toEqual(['attributes.hw', 'thingGroupNames', 'thingName']);
    expect(
      fieldsOf(q('shadow.reported.firmware.version:1.1.0 shadow.name.cfg.desired.mode:* connectivity.connected:true')),
    ).toEqual(['connectivity.connected', 'shadow.name.cfg.desired.mode', 'shadow.reported.firmware.version']);
    expect(fieldsOf(q('shadow.hasDelta:true'))).toEqual(['shadow.desired', 'shadow.reported']);
    expect(fieldsOf(q('attributes.temperature>60'))).toEqual(['attributes.temperature']);
    expect(fieldsOf(q('abc'))).toEqual([ANY_FIELD]);
    expect(fieldsOf(q('*'))).toEqual([]);
  });

  it('says which changes can move a thing in or out of a dynamic group', () => {
    const read = fieldsOf(q('shadow.reported.firmware.version:1.1.0 AND thingGroupNames:canary'));
    expect(fieldsTouched(read, ['shadow.reported.firmware.version'])).toBe(true);
    expect(fieldsTouched(read, ['shadow.reported.firmware'])).toBe(true);
    expect(fieldsTouched(read, ['shadow.reported'])).toBe(true);
    expect(fieldsTouched(read, ['shadow.reported.firmware.version.build'])).toBe(true);
    expect(fieldsTouched(read, ['shadow.reported.firmwareX'])).toBe(false);
    expect(fieldsTouched(read, ['shadow.desired.firmware.version', 'attributes.hw'])).toBe(false);
    expect(fieldsTouched(read, ['thingGroupNames'])).toBe(true);
    expect(fieldsTouched(read, [])).toBe(false);
    expect(fieldsTouched([ANY_FIELD], ['attributes.hw'])).toBe(true);
    expect(fieldsTouched([], ['attributes.hw'])).toBe(false);
  });
});

describe('dynamicGroupDelta', () => {
  const group = q('shadow.reported.firmware.version:1.1.0');
  const on = (version: string): IndexedThing => thing({ shadow: { reported: { firmware: { version } } } });

  it('enters when the reported version starts to match and leaves when it stops', () => {
    expect(dynamicGroupDelta(group, on('1.0.0'), on('1.1.0'))).toBe('enter');
    expect(dynamicGroupDelta(group, on('1.1.0'), on('1.2.0'))).toBe('leave');
    expect(dynamicGroupDelta(group, on('1.1.0'), on('1.1.0'))).toBe('stay-in');
    expect(dynamicGroupDelta(group, on('1.0.0'), on('1.2.0'))).toBe('stay-out');
  });

  it('treats a new thing as entering and a deleted thing as leaving', () => {
    expect(dynamicGroupDelta(group, undefined, on('1.1.0'))).toBe('enter');
    expect(dynamicGroupDelta(group, on('1.1.0'), undefined)).toBe('leave');
    expect(dynamicGroupDelta(group, undefined, on('1.0.0'))).toBe('stay-out');
    expect(dynamicGroupDelta(group, undefined, undefined)).toBe('stay-out');
  });
});
