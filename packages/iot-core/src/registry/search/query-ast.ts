/**
 * The parsed form of a fleet indexing query (see query-parser.ts for the grammar). Field groups
 * (`thingName:(a OR -b)`) and comparisons (`x>5`) are desugared at parse time, so a query is only these nodes.
 */
export type FleetQuery =
  /** A bare `*`: every thing. */
  | { readonly kind: 'all' }
  | { readonly kind: 'and'; readonly operands: readonly FleetQuery[] }
  | { readonly kind: 'or'; readonly operands: readonly FleetQuery[] }
  | { readonly kind: 'not'; readonly operand: FleetQuery }
  /** `field:value`, or a bare value (field undefined: any registry or shadow field). */
  | { readonly kind: 'term'; readonly field: QueryField | undefined; readonly value: ValuePattern }
  /** `field:*`: the field has a value. */
  | { readonly kind: 'exists'; readonly field: QueryField }
  | { readonly kind: 'range'; readonly field: QueryField; readonly range: ValueRange };

/** A field as written (`name`, canonical and escaped) and what it refers to. */
export interface QueryField {
  readonly name: string;
  readonly ref: FieldRef;
}

export type ShadowSectionName = 'reported' | 'desired';
export type ConnectivityKey = 'connected' | 'timestamp' | 'disconnectReason';

export type FieldRef =
  | { readonly kind: 'thingName' }
  | { readonly kind: 'thingTypeName' }
  | { readonly kind: 'thingGroupNames' }
  | { readonly kind: 'attribute'; readonly name: string }
  /** `shadowName` undefined: the classic shadow. */
  | {
      readonly kind: 'shadowValue';
      readonly shadowName: string | undefined;
      readonly section: ShadowSectionName;
      readonly path: readonly string[];
    }
  | { readonly kind: 'shadowHasDelta'; readonly shadowName: string | undefined }
  | { readonly kind: 'connectivity'; readonly key: ConnectivityKey };

/** A value to compare with: literal (quoted, or unquoted without wildcards), or a wildcard pattern. */
export type ValuePattern =
  | { readonly kind: 'exact'; readonly text: string }
  | { readonly kind: 'wildcard'; readonly parts: readonly WildcardPart[] };

/** `many` is `*` (any run of characters, possibly empty), `one` is `?` (exactly one character). */
export type WildcardPart =
  { readonly kind: 'text'; readonly text: string } | { readonly kind: 'many' } | { readonly kind: 'one' };

export interface RangeBound<T> {
  readonly value: T;
  readonly inclusive: boolean;
}

/** A numeric range has only unquoted numeric bounds; any other range compares strings. Undefined = open. */
export type ValueRange =
  | {
      readonly type: 'number';
      readonly lower: RangeBound<number> | undefined;
      readonly upper: RangeBound<number> | undefined;
    }
  | {
      readonly type: 'string';
      readonly lower: RangeBound<string> | undefined;
      readonly upper: RangeBound<string> | undefined;
    };

/** A query's position-carrying error, in the form of AWS's InvalidQueryException message. */
export interface FleetQueryError {
  readonly message: string;
  /** 0-based offset into the query string of the part that is wrong. */
  readonly position: number;
}
