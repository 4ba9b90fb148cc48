import type { FleetQuery, RangeBound, ValuePattern, ValueRange } from './query-ast.js';
import { escapeWord } from './query-fields.js';

/**
 * Writes a query in canonical form: explicit AND/OR/NOT, nested groups parenthesized, field groups and
 * comparisons written out (`x>5` becomes `x:{5 TO *]`), values quoted unless they are plain words. Parsing the
 * result gives back an equal query, so this is also how a query is shown in logs and test tables.
 */
export function formatFleetQuery(query: FleetQuery): string {
  return format(query, false);
}

function format(query: FleetQuery, nested: boolean): string {
  switch (query.kind) {
    case 'all':
      return '*';
    case 'and':
    case 'or': {
      const body = query.operands.map((q) => format(q, true)).join(query.kind === 'and' ? ' AND ' : ' OR ');
      return nested ? `(${body})` : body;
    }
    case 'not':
      return `NOT ${format(query.operand, true)}`;
    case 'term':
      return `${query.field === undefined ? '' : `${query.field.name}:`}${formatValue(query.value)}`;
    case 'exists':
      return `${query.field.name}:*`;
    case 'range':
      return `${query.field.name}:${formatRange(query.range)}`;
  }
}

const PLAIN_WORD = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/;
const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'TO']);

function formatValue(value: ValuePattern): string {
  if (value.kind === 'exact')
    return PLAIN_WORD.test(value.text) && !KEYWORDS.has(value.text) ? value.text : quote(value.text);
  return value.parts
    .map((p, i) => (p.kind === 'text' ? escapeWord(p.text, i === 0) : p.kind === 'many' ? '*' : '?'))
    .join('');
}

const quote = (text: string): string => `"${text.replace(/[\\"]/g, '\\$&')}"`;

function formatRange(range: ValueRange): string {
  const bound = (b: RangeBound<number | string> | undefined): string =>
    b === undefined ? '*' : typeof b.value === 'number' ? String(b.value) : quote(b.value);
  const open = range.lower === undefined || range.lower.inclusive ? '[' : '{';
  const close = range.upper === undefined || range.upper.inclusive ? ']' : '}';
  return `${open}${bound(range.lower)} TO ${bound(range.upper)}${close}`;
}
