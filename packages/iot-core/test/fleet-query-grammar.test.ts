import { describe, expect, it } from 'vitest';
import { formatFleetQuery, parseFleetQuery, type FleetQuery } from '../src/registry/search/index.js';
import { SUPPORTED_FIELDS } from '../src/registry/search/query-fields.js';

function parsed(text: string): FleetQuery {
  const r = parseFleetQuery(text);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(text)} to parse, got ${r.error.message}`);
  return r.value;
}

/**
 * Valid queries and their parsed shape, written in canonical form (explicit AND/OR/NOT, nested groups in
 * parentheses, field groups and comparisons desugared). The first block is AWS's own "Example thing queries".
 */
const VALID: readonly (readonly [string, string])[] = [
  // AWS's example thing queries (developer guide, example-queries).
  ['abc', 'abc'],
  ['thingName:myThingName', 'thingName:myThingName'],
  ['thingName:my*', 'thingName:my*'],
  ['thingName:*my', 'thingName:*my'],
  ['thingName:*my*', 'thingName:*my*'],
  ['thingName:ab?', 'thingName:ab?'],
  ['thingTypeName:aa', 'thingTypeName:aa'],
  ['thingGroupNames:a', 'thingGroupNames:a'],
  ['thingGroupNames:a*', 'thingGroupNames:a*'],
  ['attributes.myAttribute:75', 'attributes.myAttribute:75'],
  ['attributes.myAttribute:[75 TO 80]', 'attributes.myAttribute:[75 TO 80]'],
  ['attributes.myAttribute:{75 TO 80]', 'attributes.myAttribute:{75 TO 80]'],
  ['attributes.serialNumber:["abcd" TO "abcf"]', 'attributes.serialNumber:["abcd" TO "abcf"]'],
  ['attributes.myAttribute:i*t', 'attributes.myAttribute:i*t'],
  [
    'attributes.attr1:abc AND attributes.attr2<5 NOT attributes.attr3>10',
    'attributes.attr1:abc AND attributes.attr2:[* TO 5} AND NOT attributes.attr3:{10 TO *]',
  ],
  ['shadow.hasDelta:true', 'shadow.hasDelta:true'],
  ['NOT attributes.model:legacy', 'NOT attributes.model:legacy'],
  [
    'shadow.reported.stats.battery:{70 TO 100} (v2 OR v3) NOT attributes.model:legacy',
    'shadow.reported.stats.battery:{70 TO 100} AND (v2 OR v3) AND NOT attributes.model:legacy',
  ],
  ['shadow.reported.myvalues:2', 'shadow.reported.myvalues:2'],
  [
    'shadow.reported.location:* NOT shadow.desired.stats.battery:*',
    'shadow.reported.location:* AND NOT shadow.desired.stats.battery:*',
  ],
  ['shadow.name.myShadow.hasDelta:true', 'shadow.name.myShadow.hasDelta:true'],
  ['shadow.name.myShadow.desired.filament:*', 'shadow.name.myShadow.desired.filament:*'],
  ['shadow.name.myShadow.reported.location:*', 'shadow.name.myShadow.reported.location:*'],
  ['connectivity.connected:true', 'connectivity.connected:true'],
  ['connectivity.connected:false', 'connectivity.connected:false'],
  [
    'connectivity.connected:true AND connectivity.timestamp : [1557651600000 TO 1557867600000]',
    'connectivity.connected:true AND connectivity.timestamp:[1557651600000 TO 1557867600000]',
  ],
  [
    'connectivity.connected:true AND connectivity.timestamp > 1557651600000',
    'connectivity.connected:true AND connectivity.timestamp:{1557651600000 TO *]',
  ],
  ['connectivity.connected:*', 'connectivity.connected:*'],
  ['connectivity.disconnectReason:*', 'connectivity.disconnectReason:*'],
  [
    'connectivity.disconnectReason:CLIENT_INITIATED_DISCONNECT',
    'connectivity.disconnectReason:CLIENT_INITIATED_DISCONNECT',
  ],
  // The query syntax page: the hyphen excludes, and field grouping.
  ['thingName:(tv* AND -plasma)', 'thingName:tv* AND NOT thingName:plasma'],
  ['attributes.temperature>60', 'attributes.temperature:{60 TO *]'],
  // Precedence: NOT, then AND (explicit or implied), then OR.
  ['a OR b AND c', 'a OR (b AND c)'],
  ['a AND b OR c', '(a AND b) OR c'],
  ['a b OR c d', '(a AND b) OR (c AND d)'],
  ['NOT a AND b', 'NOT a AND b'],
  ['NOT (a OR b)', 'NOT (a OR b)'],
  ['NOT NOT a', 'NOT NOT a'],
  ['(a OR b) c', '(a OR b) AND c'],
  ['((thingName:a))', 'thingName:a'],
  ['a AND (b AND c)', 'a AND b AND c'],
  ['attributes.hw:rpi4 -thingGroupNames:canary', 'attributes.hw:rpi4 AND NOT thingGroupNames:canary'],
  ['x -y', 'x AND NOT y'],
  // Lower-case operators are ordinary terms, as in Lucene.
  ['thingName:and', 'thingName:and'],
  ['a and b', 'a AND and AND b'],
  ['thingName:"AND"', 'thingName:"AND"'],
  // Quoting and escaping.
  ['thingName:"pi 01"', 'thingName:"pi 01"'],
  ['shadow.reported.build:1.0+git AND thingName:a!', 'shadow.reported.build:"1.0+git" AND thingName:"a!"'],
  ['thingName:pi\\*01', 'thingName:"pi*01"'],
  ['thingName:"pi*01"', 'thingName:"pi*01"'],
  ['thingName:"say \\"hi\\""', 'thingName:"say \\"hi\\""'],
  ['attributes.owner:"ops@example.com"', 'attributes.owner:"ops@example.com"'],
  ['attributes.a\\:b:x', 'attributes.a\\:b:x'],
  ['thingName : pi-01', 'thingName:pi-01'],
  ['thingName:pi-* AND thingName:*-01', 'thingName:pi-* AND thingName:*-01'],
  ['thingName:?b', 'thingName:?b'],
  // Numbers, negative numbers, string ranges, open bounds.
  ['shadow.reported.temp:-5', 'shadow.reported.temp:"-5"'],
  ['shadow.reported.temp>=-5.5', 'shadow.reported.temp:[-5.5 TO *]'],
  ['shadow.reported.temp:[-5 TO 5}', 'shadow.reported.temp:[-5 TO 5}'],
  ['shadow.reported.temp<=1e3', 'shadow.reported.temp:[* TO 1000]'],
  ['attributes.x:[a TO m}', 'attributes.x:["a" TO "m"}'],
  ['attributes.x:[10 TO "20"]', 'attributes.x:["10" TO "20"]'],
  ['attributes.x:[* TO *]', 'attributes.x:*'],
  ['thingName:(>a AND <c)', 'thingName:{"a" TO *] AND thingName:[* TO "c"}'],
  ['attributes.site:(abc >m)', 'attributes.site:abc AND attributes.site:{"m" TO *]'],
  ['thingGroupNames:(a OR b OR c)', 'thingGroupNames:a OR thingGroupNames:b OR thingGroupNames:c'],
  [
    'thingGroupNames:(canary OR (beta AND NOT prod))',
    'thingGroupNames:canary OR (thingGroupNames:beta AND NOT thingGroupNames:prod)',
  ],
  ['shadow.reported.firmware.version:1.1.0', 'shadow.reported.firmware.version:1.1.0'],
  ['shadow.name.cfg\\:v1.desired.mode:eco', 'shadow.name.cfg\\:v1.desired.mode:eco'],
  ['shadow.hasDelta:TRUE', 'shadow.hasDelta:TRUE'],
  ['*', '*'],
  ['* AND thingName:a', '* AND thingName:a'],
  ['thingName:*', 'thingName:*'],
  // Twelve terms is the most AWS allows.
  ['a b c d e f g h i j k l', 'a AND b AND c AND d AND e AND f AND g AND h AND i AND j AND k AND l'],
];

const field = (name: string): string => `Unsupported field at 0: "${name}"`;

/** Invalid queries, the exact message and the offset it names. */
const INVALID: readonly (readonly [string, string, number])[] = [
  ['', 'Syntax error at 0: the query is empty', 0],
  ['   ', 'Syntax error at 0: the query is empty', 0],
  ['attributes.hw:', 'Syntax error at 14: expected a value after "attributes.hw:"', 14],
  ['attributes.hw: AND thingName:a', 'Syntax error at 15: expected a value after "attributes.hw:"', 15],
  ['thingName:AND', 'Syntax error at 10: expected a value after "thingName:"', 10],
  ['thingName::a', 'Syntax error at 10: expected a value after "thingName:"', 10],
  ['thingName>', 'Syntax error at 10: expected a value after "thingName>"', 10],
  ['attributes.x >= AND', 'Syntax error at 16: expected a value after "attributes.x >="', 16],
  ['thingName:(a', 'Syntax error at 12: expected ")" to close the "(" at 10', 12],
  ['(thingName:a', 'Syntax error at 12: expected ")" to close the "(" at 0', 12],
  ['(a OR (b)', 'Syntax error at 9: expected ")" to close the "(" at 0', 9],
  ['thingName:a)', 'Syntax error at 11: unbalanced ")"', 11],
  ['"abc', 'Syntax error at 0: unterminated quoted string', 0],
  ['thingName:"abc', 'Syntax error at 10: unterminated quoted string', 10],
  ['attributes.x:[1 TO', 'Syntax error at 18: expected an upper bound after "TO"', 18],
  ['attributes.x:[1 5]', 'Syntax error at 16: expected "TO" after the lower bound of the range', 16],
  ['attributes.x:[1 to 5]', 'Syntax error at 16: expected "TO" after the lower bound of the range', 16],
  ['attributes.x:[1 TO 5', 'Syntax error at 20: expected "]" or "}" to close the range opened at 13', 20],
  ['attributes.x:[TO 5]', "Syntax error at 14: expected a lower bound after the range's opening bracket", 14],
  ['attributes.x:[a* TO b]', 'Syntax error at 14: a range bound cannot contain wildcards: "a*"', 14],
  ['attributes.x:(a - b)', 'Syntax error at 16: "-" must be followed by a term, with no space between', 16],
  ['a - b', 'Syntax error at 2: "-" must be followed by a term, with no space between', 2],
  ['a AND', 'Syntax error at 5: expected a term after "AND"', 5],
  ['a AND )', 'Syntax error at 6: expected a term after "AND"', 6],
  ['a OR OR b', 'Syntax error at 5: expected a term after "OR"', 5],
  ['NOT', 'Syntax error at 3: expected a term after "NOT"', 3],
  ['a -(', 'Syntax error at 4: expected a term', 4],
  [')', 'Syntax error at 0: expected a term, found ")"', 0],
  ['OR a', 'Syntax error at 0: expected a term, found "OR"', 0],
  ['thingName:a :b', 'Syntax error at 12: unexpected ":"', 12],
  ['[1 TO 2]', 'Syntax error at 0: a range needs a field before it', 0],
  ['thingName:a >5', 'Syntax error at 12: a comparison needs a field before it', 12],
  [
    'thingName:(a OR attributes.x:b)',
    'Syntax error at 16: a field group holds values of thingName only, found the field "attributes.x"',
    16,
  ],
  ['thing*:a', 'Syntax error at 0: a field name cannot contain wildcards: "thing*"', 0],
  ['a@b', 'Syntax error at 1: unsupported character "@" (escape it with "\\" or quote the value)', 1],
  ['attributes.path:a/b', 'Syntax error at 17: unsupported character "/" (escape it with "\\" or quote the value)', 17],
  ["thingName:o'neil", 'Syntax error at 11: unsupported character "\'" (escape it with "\\" or quote the value)', 11],
  ['thingName:pi~2', 'Syntax error at 12: fuzzy and proximity searches ("~") are not supported', 12],
  ['thingName:pi^2', 'Syntax error at 12: boosting ("^") is not supported', 12],
  ['thingName:pi\\', 'Syntax error at 12: "\\" at the end of the query escapes nothing', 12],
  ['a && b', 'Syntax error at 2: "&&" is not supported: write AND', 2],
  ['a || b', 'Syntax error at 2: "||" is not supported: write OR', 2],
  ['!thingName:a', 'Syntax error at 0: "!" is not supported: write NOT', 0],
  ['a (+b)', 'Syntax error at 3: "+" (required term) is not supported: terms are AND-ed by default', 3],
  ['foo:bar', `${field('foo')}; supported fields: ${SUPPORTED_FIELDS}`, 0],
  ['thingname:x', `${field('thingname')}; supported fields: ${SUPPORTED_FIELDS}`, 0],
  [
    'attributes.:x',
    `${field('attributes.')} (an attribute name is 1-128 characters of [a-zA-Z0-9_.,@/:#-]); supported fields: ${SUPPORTED_FIELDS}`,
    0,
  ],
  [
    'shadow.reported:x',
    `${field('shadow.reported')} (name a key under reported, e.g. reported.firmware.version); supported fields: ${SUPPORTED_FIELDS}`,
    0,
  ],
  [
    'shadow.foo.x:1',
    `${field('shadow.foo.x')} (after shadow. come reported.<path>, desired.<path> or hasDelta); supported fields: ${SUPPORTED_FIELDS}`,
    0,
  ],
  [
    'shadow.name.bad!name.reported.x:1',
    `${field('shadow.name.bad!name.reported.x')} (a shadow name is 1-64 characters of [a-zA-Z0-9:_-]); supported fields: ${SUPPORTED_FIELDS}`,
    0,
  ],
  [
    'shadow.reported.a..b:1',
    `${field('shadow.reported.a..b')} (a shadow path has no empty keys); supported fields: ${SUPPORTED_FIELDS}`,
    0,
  ],
  [
    'thingName:a AND connectivity.connected:maybe',
    'Invalid query at 39: connectivity.connected is a Boolean field: query it with true, false or *',
    39,
  ],
  [
    'connectivity.connected:[1 TO 2]',
    'Invalid query at 23: connectivity.connected is a Boolean field: a range does not apply',
    23,
  ],
  [
    'shadow.hasDelta:yes',
    'Invalid query at 16: shadow.hasDelta is a Boolean field: query it with true, false or *',
    16,
  ],
  [
    'connectivity.timestamp:abc',
    'Invalid query at 23: connectivity.timestamp is a Number field (epoch milliseconds): query it with a number or a range',
    23,
  ],
  [
    'connectivity.timestamp:["a" TO "b"]',
    'Invalid query at 23: connectivity.timestamp is a Number field (epoch milliseconds): its range bounds are numbers',
    23,
  ],
  ['thingName:*a AND thingGroupNames:*b', 'Invalid query at 33: only one term per query may start with a wildcard', 33],
  ['thingName:?a *b', 'Invalid query at 13: only one term per query may start with a wildcard', 13],
  ['a b c d e f g h i j k l m', 'Invalid query at 24: a query has at most 12 terms', 24],
  ['thingName:(a OR b OR c OR d OR e OR f OR g) h i j k l m', 'Invalid query at 54: a query has at most 12 terms', 54],
  [
    `thingName:*x AND attributes.site:${'s'.repeat(80)}`,
    'Invalid query at 100: a query with a leading wildcard is at most 100 characters long (this one has 113)',
    100,
  ],
];

describe('fleet query grammar: valid queries', () => {
  it.each(VALID)('%s', (text, canonical) => {
    expect(formatFleetQuery(parsed(text))).toBe(canonical);
  });

  it.each(VALID)('the canonical form of %s parses back to the same query', (text) => {
    const query = parsed(text);
    expect(parsed(formatFleetQuery(query))).toEqual(query);
  });

  it('gives the tree the canonical form describes', () => {
    expect(parsed('thingName:pi-* attributes.hw:rpi4 OR NOT connectivity.connected:true')).toEqual({
      kind: 'or',
      operands: [
        {
          kind: 'and',
          operands: [
            {
              kind: 'term',
              field: { name: 'thingName', ref: { kind: 'thingName' } },
              value: { kind: 'wildcard', parts: [{ kind: 'text', text: 'pi-' }, { kind: 'many' }] },
            },
            {
              kind: 'term',
              field: { name: 'attributes.hw', ref: { kind: 'attribute', name: 'hw' } },
              value: { kind: 'exact', text: 'rpi4' },
            },
          ],
        },
        {
          kind: 'not',
          operand: {
            kind: 'term',
            field: { name: 'connectivity.connected', ref: { kind: 'connectivity', key: 'connected' } },
            value: { kind: 'exact', text: 'true' },
          },
        },
      ],
    });
    expect(parsed('shadow.name.cfg.reported.net.ssid:x')).toMatchObject({
      field: { ref: { kind: 'shadowValue', shadowName: 'cfg', section: 'reported', path: ['net', 'ssid'] } },
    });
    expect(parsed('attributes.n:{1 TO 2]')).toMatchObject({
      range: { type: 'number', lower: { value: 1, inclusive: false }, upper: { value: 2, inclusive: true } },
    });
  });
});

describe('fleet query grammar: invalid queries', () => {
  it.each(INVALID)('%j', (text, message, position) => {
    const r = parseFleetQuery(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toEqual({ message, position });
  });

  it('names an offset inside the query for every error', () => {
    for (const [text, , position] of INVALID) expect(position).toBeLessThanOrEqual(Math.max(text.length, 0));
  });
});
