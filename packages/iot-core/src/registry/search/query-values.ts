/**
 * How indexed values compare with query values. AWS compares case-insensitively ("Search is case insensitive"),
 * so strings are compared in lower case; a value that is a JSON number compares as a number.
 */

/** A decimal number as JSON writes it, with an optional sign: `75`, `-1.5`, `1e3`. Not NaN, not Infinity, no hex. */
const NUMERIC_LITERAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

export const isNumericLiteral = (text: string): boolean => NUMERIC_LITERAL.test(text);

/** The number a string value holds, for numeric ranges over attributes (always strings) and string shadow values. */
export function numericValue(value: string | number | boolean): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && isNumericLiteral(value)) return Number(value);
  return undefined;
}

export const foldCase = (text: string): string => text.toLowerCase();
