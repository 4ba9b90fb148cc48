import { err, ok, type Result } from '@otafleet/protocol';
import type { FleetQuery, FleetQueryError, QueryField, ValuePattern } from './query-ast.js';
import { resolveField } from './query-fields.js';
import {
  isKeyword,
  lexFleetQuery,
  plainText,
  syntaxError,
  type ComparisonOp,
  type Token,
  type WordToken,
} from './query-lexer.js';
import { invalidQuery, rangeOf, typedRangeError, typedValueError, type BoundText } from './query-typed.js';

/** AWS: "The maximum number of terms in a query is twelve." */
export const MAX_QUERY_TERMS = 12;
/** AWS: leading wildcards in at most one term per query, and such a query is at most 100 characters. */
export const MAX_LEADING_WILDCARD_TERMS = 1;
export const MAX_LEADING_WILDCARD_QUERY_LENGTH = 100;

/** Thrown inside the parser only, to unwind recursive descent; parseFleetQuery turns it into an err. */
class QueryFailure extends Error {
  constructor(readonly error: FleetQueryError) {
    super(error.message);
  }
}

/**
 * Parses a fleet indexing query string (the subset documented in docs/iot-core-search-and-scheduling.md):
 *
 *   query   := or
 *   or      := and ("OR" and)*
 *   and     := unary (["AND"] unary)*          (the default operator is AND, as AWS documents)
 *   unary   := ("NOT" | "-") unary | primary   (NOT binds tightest, then AND, then OR)
 *   primary := "(" or ")" | field ":" value | field ("<" | "<=" | ">" | ">=") bound | "*" | value
 *   value   := word | "quoted" | "*" | range | "(" group ")"       (group: or/and/unary over values)
 *   range   := ("[" | "{") bound "TO" bound ("]" | "}")            (bound: word, "quoted" or * for open)
 *
 * Supported: fields thingName, thingTypeName, thingGroupNames, attributes.<name>, shadow.reported|desired.<path>,
 * shadow.hasDelta, shadow.name.<shadow>.(reported|desired.<path>|hasDelta), connectivity.connected|timestamp|
 * disconnectReason; bare terms (any field) and bare `*` (every thing); wildcards `*` and `?` in words; quoted
 * literals; `\` escapes; `field:*`; inclusive/exclusive/open ranges and comparisons; AND/OR/NOT/`-`, implicit AND,
 * parentheses, field groups. AWS's limits: 12 terms, one leading-wildcard term, 100 characters with one.
 * Not supported (refused with an error naming the part): other fields, regular expressions, fuzzy/proximity (`~`),
 * boosting (`^`), wildcards in field names, unescaped `` ` @ # % / ' ; , ``, and Lucene's `&&`, `||`, `!`, `+`
 * where a term starts (inside a word they are ordinary characters: `1.0+build`).
 *
 * Errors name the offending part and its 0-based offset, e.g.
 * `Syntax error at 14: expected a value after "attributes.hw:"`.
 */
export function parseFleetQuery(text: string): Result<FleetQuery, FleetQueryError> {
  const tokens = lexFleetQuery(text);
  if (!tokens.ok) return tokens;
  try {
    return ok(new Parser(text, tokens.value).parseQuery());
  } catch (e) {
    if (e instanceof QueryFailure) return err(e.error);
    throw e;
  }
}

class Parser {
  private at = 0;
  private terms = 0;
  private leadingWildcards = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
  ) {}

  parseQuery(): FleetQuery {
    if (this.tokens.length === 0) this.fail(syntaxError(0, 'the query is empty'));
    const query = this.parseOr(undefined);
    const extra = this.peek();
    if (extra !== undefined) {
      this.fail(
        syntaxError(extra.start, extra.kind === 'rparen' ? 'unbalanced ")"' : `unexpected ${this.describe(extra)}`),
      );
    }
    if (this.leadingWildcards > 0 && this.text.length > MAX_LEADING_WILDCARD_QUERY_LENGTH) {
      this.fail(
        invalidQuery(
          MAX_LEADING_WILDCARD_QUERY_LENGTH,
          `a query with a leading wildcard is at most ${MAX_LEADING_WILDCARD_QUERY_LENGTH} characters long (this one has ${this.text.length})`,
        ),
      );
    }
    return query;
  }

  /** `field` is set inside a field group (`thingName:( ... )`), where every term is a value of that field. */
  private parseOr(field: FieldContext | undefined): FleetQuery {
    const operands = [this.parseAnd(field)];
    while (isKeyword(this.peek(), 'OR')) {
      const or = this.next();
      operands.push(this.parseAnd(field, or));
    }
    return operands.length === 1
      ? (operands[0] as FleetQuery)
      : { kind: 'or', operands: operands.flatMap(flatten('or')) };
  }

  private parseAnd(field: FieldContext | undefined, after?: Token): FleetQuery {
    const operands = [this.parseUnary(field, after)];
    for (;;) {
      const token = this.peek();
      if (isKeyword(token, 'AND')) {
        const and = this.next();
        operands.push(this.parseUnary(field, and));
      } else if (token !== undefined && this.startsUnary(token)) {
        operands.push(this.parseUnary(field));
      } else {
        break;
      }
    }
    return operands.length === 1
      ? (operands[0] as FleetQuery)
      : { kind: 'and', operands: operands.flatMap(flatten('and')) };
  }

  private startsUnary(token: Token): boolean {
    if (isKeyword(token, 'AND') || isKeyword(token, 'OR')) return false;
    return ['word', 'quoted', 'lparen', 'minus', 'lbracket', 'lbrace', 'cmp'].includes(token.kind);
  }

  private parseUnary(field: FieldContext | undefined, after?: Token): FleetQuery {
    const token = this.peek();
    if (isKeyword(token, 'NOT') || token?.kind === 'minus') {
      const not = this.next();
      return { kind: 'not', operand: this.parseUnary(field, not) };
    }
    return this.parsePrimary(field, after);
  }

  private parsePrimary(field: FieldContext | undefined, after?: Token): FleetQuery {
    const token = this.peek();
    if (token === undefined || token.kind === 'rparen' || isKeyword(token, 'AND') || isKeyword(token, 'OR')) {
      const position = token?.start ?? this.text.length;
      if (after !== undefined) this.fail(syntaxError(position, `expected a term after "${this.source(after)}"`));
      this.fail(
        syntaxError(
          position,
          token === undefined ? 'expected a term' : `expected a term, found ${this.describe(token)}`,
        ),
      );
    }
    if (token.kind === 'lparen') {
      this.next();
      const inner = this.parseOr(field);
      const close = this.peek();
      if (close?.kind !== 'rparen') {
        this.fail(syntaxError(close?.start ?? this.text.length, `expected ")" to close the "(" at ${token.start}`));
      }
      this.next();
      return inner;
    }
    const following = this.tokens[this.at + 1];
    const namesField = token.kind === 'word' && (following?.kind === 'colon' || following?.kind === 'cmp');
    if (field !== undefined) {
      // In a field group `(a >5)` is the value a and the comparison >5; only "x:" names another field.
      if (token.kind === 'word' && following?.kind === 'colon') {
        this.fail(
          syntaxError(
            token.start,
            `a field group holds values of ${field.field.name} only, found the field "${token.raw}"`,
          ),
        );
      }
      return this.parseFieldValue(field, this.next());
    }
    if (namesField) return this.parseFieldTerm(this.next() as WordToken);
    if (token.kind === 'word' || token.kind === 'quoted') {
      this.next();
      this.countTerm(token);
      if (token.kind === 'word' && isLoneStar(token)) return { kind: 'all' };
      return { kind: 'term', field: undefined, value: this.pattern(token) };
    }
    if (token.kind === 'lbracket' || token.kind === 'lbrace' || token.kind === 'cmp') {
      this.fail(syntaxError(token.start, `a ${token.kind === 'cmp' ? 'comparison' : 'range'} needs a field before it`));
    }
    this.fail(syntaxError(token.start, `expected a term, found ${this.describe(token)}`));
  }

  /** `field:value`, `field:[a TO b]`, `field:( group )` or `field<bound`. */
  private parseFieldTerm(name: WordToken): FleetQuery {
    const fieldText = plainText(name);
    if (fieldText === undefined)
      this.fail(syntaxError(name.start, `a field name cannot contain wildcards: "${name.raw}"`));
    const resolved = resolveField(fieldText, name.start);
    if (!resolved.ok) this.fail(resolved.error);
    const operator = this.next();
    const field: FieldContext = { field: resolved.value, written: this.text.slice(name.start, operator.end) };
    if (operator.kind === 'cmp') return this.parseComparison(field, operator.op);
    const value = this.peek();
    if (value?.kind === 'lparen') {
      this.next();
      const group = this.parseOr(field);
      const close = this.peek();
      if (close?.kind !== 'rparen') {
        this.fail(syntaxError(close?.start ?? this.text.length, `expected ")" to close the "(" at ${value.start}`));
      }
      this.next();
      return group;
    }
    if (
      value === undefined ||
      !['word', 'quoted', 'lbracket', 'lbrace', 'minus'].includes(value.kind) ||
      this.isOperator(value)
    ) {
      this.fail(syntaxError(value?.start ?? this.text.length, `expected a value after "${field.written}"`));
    }
    return this.parseFieldValue(field, this.next());
  }

  private isOperator(token: Token): boolean {
    return isKeyword(token, 'AND') || isKeyword(token, 'OR') || isKeyword(token, 'NOT');
  }

  /** One value of a field: a term, `*`, or a range. */
  private parseFieldValue(field: FieldContext, token: Token): FleetQuery {
    if (token.kind === 'lbracket' || token.kind === 'lbrace') return this.parseRange(field, token);
    if (token.kind === 'cmp') return this.parseComparison(field, token.op);
    if (token.kind === 'minus') {
      const word = this.adjacentWord(token);
      if (word === undefined) this.fail(syntaxError(token.end, 'expected a value after "-"'));
      return this.fieldTerm(field, {
        ...word,
        raw: `-${word.raw}`,
        parts: [{ kind: 'text', text: '-' }, ...word.parts],
        start: token.start,
      });
    }
    if (token.kind === 'word' || token.kind === 'quoted') return this.fieldTerm(field, token);
    this.fail(syntaxError(token.start, `expected a value for ${field.field.name}, found ${this.describe(token)}`));
  }

  private fieldTerm(field: FieldContext, token: WordToken | Extract<Token, { kind: 'quoted' }>): FleetQuery {
    this.countTerm(token);
    if (token.kind === 'word' && isLoneStar(token)) return { kind: 'exists', field: field.field };
    const value = this.pattern(token);
    const typeError = typedValueError(field.field, token.start, value);
    if (typeError !== undefined) this.fail(typeError);
    return { kind: 'term', field: field.field, value };
  }

  private parseComparison(field: FieldContext, op: ComparisonOp): FleetQuery {
    const token = this.peek();
    const bound = token === undefined ? undefined : this.bound(token);
    if (token === undefined || bound === undefined || bound === 'open') {
      const written = field.written.endsWith(op) ? field.written : `${field.written}${op}`;
      this.fail(syntaxError(token?.start ?? this.text.length, `expected a value after "${written}"`));
    }
    this.countTerm(token);
    const inclusive = op.endsWith('=');
    const lower = op.startsWith('>') ? bound : undefined;
    const upper = op.startsWith('<') ? bound : undefined;
    return this.rangeNode(field, token.start, lower, upper, inclusive, inclusive);
  }

  private parseRange(field: FieldContext, open: Token): FleetQuery {
    this.countTerm(open);
    const lowerToken = this.peek();
    const lower = lowerToken === undefined ? undefined : this.bound(lowerToken);
    if (lower === undefined)
      this.fail(
        syntaxError(lowerToken?.start ?? this.text.length, "expected a lower bound after the range's opening bracket"),
      );
    const to = this.peek();
    if (!isKeyword(to, 'TO'))
      this.fail(syntaxError(to?.start ?? this.text.length, 'expected "TO" after the lower bound of the range'));
    this.next();
    const upperToken = this.peek();
    const upper = upperToken === undefined ? undefined : this.bound(upperToken);
    if (upper === undefined)
      this.fail(syntaxError(upperToken?.start ?? this.text.length, 'expected an upper bound after "TO"'));
    const close = this.peek();
    if (close?.kind !== 'rbracket' && close?.kind !== 'rbrace') {
      this.fail(
        syntaxError(close?.start ?? this.text.length, `expected "]" or "}" to close the range opened at ${open.start}`),
      );
    }
    this.next();
    if (lower === 'open' && upper === 'open') return { kind: 'exists', field: field.field };
    return this.rangeNode(
      field,
      open.start,
      lower === 'open' ? undefined : lower,
      upper === 'open' ? undefined : upper,
      open.kind === 'lbracket',
      close.kind === 'rbracket',
    );
  }

  /** Reads one range bound (consuming it): 'open' for `*`, undefined when the token cannot be a bound. */
  private bound(token: Token): BoundText | 'open' | undefined {
    if (token.kind === 'quoted') {
      this.next();
      return { text: token.text, quoted: true };
    }
    let word: WordToken | undefined;
    let prefix = '';
    if (token.kind === 'minus') {
      this.next();
      word = this.adjacentWord(token);
      if (word === undefined) this.fail(syntaxError(token.end, 'expected a number after "-"'));
      prefix = '-';
    } else if (token.kind === 'word' && !isKeyword(token, 'TO') && !this.isOperator(token)) {
      word = token;
      this.next();
    }
    if (word === undefined) return undefined;
    const text = plainText(word);
    if (text === undefined) {
      if (prefix === '' && isLoneStar(word)) return 'open';
      this.fail(syntaxError(word.start, `a range bound cannot contain wildcards: "${word.raw}"`));
    }
    return { text: prefix + text, quoted: false };
  }

  /** The word right after a consumed `-` token with no space between (the lexer split it off as an exclusion). */
  private adjacentWord(minus: Token): WordToken | undefined {
    const word = this.tokens[this.at];
    return word?.kind === 'word' && word.start === minus.end ? (this.next() as WordToken) : undefined;
  }

  private rangeNode(
    field: FieldContext,
    position: number,
    lower: BoundText | undefined,
    upper: BoundText | undefined,
    lowerInclusive: boolean,
    upperInclusive: boolean,
  ): FleetQuery {
    const range = rangeOf(lower, upper, lowerInclusive, upperInclusive);
    const typeError = typedRangeError(field.field, position, range);
    if (typeError !== undefined) this.fail(typeError);
    return { kind: 'range', field: field.field, range };
  }

  private pattern(token: WordToken | Extract<Token, { kind: 'quoted' }>): ValuePattern {
    if (token.kind === 'quoted') return { kind: 'exact', text: token.text };
    const text = plainText(token);
    if (text !== undefined) return { kind: 'exact', text };
    if (token.parts[0]?.kind !== 'text') this.countLeadingWildcard(token);
    return { kind: 'wildcard', parts: token.parts };
  }

  private countTerm(token: Token): void {
    this.terms++;
    if (this.terms > MAX_QUERY_TERMS)
      this.fail(invalidQuery(token.start, `a query has at most ${MAX_QUERY_TERMS} terms`));
  }

  private countLeadingWildcard(token: Token): void {
    this.leadingWildcards++;
    if (this.leadingWildcards > MAX_LEADING_WILDCARD_TERMS) {
      this.fail(invalidQuery(token.start, 'only one term per query may start with a wildcard'));
    }
  }

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private next(): Token {
    const token = this.tokens[this.at];
    if (token === undefined) throw new Error('parser read past the last token');
    this.at++;
    return token;
  }

  private source(token: Token): string {
    return this.text.slice(token.start, token.end);
  }

  private describe(token: Token): string {
    return `"${this.source(token)}"`;
  }

  private fail(error: FleetQueryError): never {
    throw new QueryFailure(error);
  }
}

interface FieldContext {
  readonly field: QueryField;
  /** The field and its operator as written (`attributes.hw:`), for messages. */
  readonly written: string;
}

const isLoneStar = (word: WordToken): boolean => word.parts.length === 1 && word.parts[0]?.kind === 'many';

const flatten =
  (kind: 'and' | 'or') =>
  (q: FleetQuery): readonly FleetQuery[] =>
    q.kind === kind ? q.operands : [q];
