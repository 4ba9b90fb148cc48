import type { FleetQueryError, QueryField, RangeBound, ValuePattern, ValueRange } from './query-ast.js';
import { isNumericLiteral } from './query-values.js';

/** For limits and types rather than grammar: "Invalid query at N: …". */
export const invalidQuery = (position: number, detail: string): FleetQueryError => ({
  message: `Invalid query at ${position}: ${detail}`,
  position,
});

/** A range bound as written: quoted bounds are strings even when they look like numbers. */
export interface BoundText {
  readonly text: string;
  readonly quoted: boolean;
}

/** A range is numeric when every bound given is an unquoted number; otherwise it compares strings. */
export function rangeOf(
  lower: BoundText | undefined,
  upper: BoundText | undefined,
  lowerInclusive: boolean,
  upperInclusive: boolean,
): ValueRange {
  const numeric = [lower, upper].every((b) => b === undefined || (!b.quoted && isNumericLiteral(b.text)));
  if (numeric) {
    return {
      type: 'number',
      lower: lower === undefined ? undefined : { value: Number(lower.text), inclusive: lowerInclusive },
      upper: upper === undefined ? undefined : { value: Number(upper.text), inclusive: upperInclusive },
    };
  }
  const bound = (b: BoundText | undefined, inclusive: boolean): RangeBound<string> | undefined =>
    b === undefined ? undefined : { value: b.text, inclusive };
  return { type: 'string', lower: bound(lower, lowerInclusive), upper: bound(upper, upperInclusive) };
}

const isBooleanField = (field: QueryField): boolean =>
  field.ref.kind === 'shadowHasDelta' || (field.ref.kind === 'connectivity' && field.ref.key === 'connected');
const isTimestampField = (field: QueryField): boolean =>
  field.ref.kind === 'connectivity' && field.ref.key === 'timestamp';

/** Managed fields with a type (AWS: Boolean connected and hasDelta, Number timestamp) refuse other values. */
export function typedValueError(field: QueryField, position: number, value: ValuePattern): FleetQueryError | undefined {
  if (isBooleanField(field) && !(value.kind === 'exact' && /^(true|false)$/i.test(value.text))) {
    return invalidQuery(position, `${field.name} is a Boolean field: query it with true, false or *`);
  }
  if (isTimestampField(field) && !(value.kind === 'exact' && isNumericLiteral(value.text))) {
    return invalidQuery(
      position,
      `${field.name} is a Number field (epoch milliseconds): query it with a number or a range`,
    );
  }
  return undefined;
}

export function typedRangeError(field: QueryField, position: number, range: ValueRange): FleetQueryError | undefined {
  if (isBooleanField(field)) return invalidQuery(position, `${field.name} is a Boolean field: a range does not apply`);
  if (isTimestampField(field) && range.type !== 'number') {
    return invalidQuery(position, `${field.name} is a Number field (epoch milliseconds): its range bounds are numbers`);
  }
  return undefined;
}
