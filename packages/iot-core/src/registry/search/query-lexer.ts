import { err, ok, type Result } from '@otafleet/protocol';
import type { FleetQueryError, WildcardPart } from './query-ast.js';

export type PunctuationKind = 'lparen' | 'rparen' | 'lbracket' | 'rbracket' | 'lbrace' | 'rbrace' | 'colon' | 'minus';
export type ComparisonOp = '<' | '<=' | '>' | '>=';

interface Span {
  readonly start: number;
  readonly end: number;
}

export type Token =
  | ({ readonly kind: PunctuationKind } & Span)
  | ({ readonly kind: 'cmp'; readonly op: ComparisonOp } & Span)
  | ({ readonly kind: 'quoted'; readonly text: string } & Span)
  /** `raw` is the source text; `parts` the value with escapes resolved and `*`/`?` as wildcards. */
  | ({ readonly kind: 'word'; readonly raw: string; readonly parts: readonly WildcardPart[] } & Span);

export type WordToken = Extract<Token, { kind: 'word' }>;

const PUNCTUATION: Readonly<Record<string, PunctuationKind>> = {
  '(': 'lparen',
  ')': 'rparen',
  '[': 'lbracket',
  ']': 'rbracket',
  '{': 'lbrace',
  '}': 'rbrace',
  ':': 'colon',
};

/** Characters AWS lists as unsupported in queries; accepted here only escaped (`\@`) or inside quotes. */
const UNSUPPORTED = new Set(['`', '@', '#', '%', '/', "'", ';', ',']);
/** Lucene operators for features AWS does not support (fuzzy/proximity search, boosting). */
const UNSUPPORTED_FEATURE: Readonly<Record<string, string>> = {
  '~': 'fuzzy and proximity searches ("~") are not supported',
  '^': 'boosting ("^") is not supported',
};

/** Java's Character.isWhitespace, which AWS names as the word separator: no-break spaces are not whitespace. */
export const isQueryWhitespace = (c: string): boolean => /\s/.test(c) && !/[\u00a0\u2007\u202f]/.test(c);

/** Ends a word: whitespace or a character with a meaning of its own. */
const endsWord = (c: string): boolean => isQueryWhitespace(c) || '()[]{}:"<>'.includes(c);

export const syntaxError = (position: number, detail: string): FleetQueryError => ({
  message: `Syntax error at ${position}: ${detail}`,
  position,
});

/** Splits a query into tokens. A `-` is the exclusion operator only where a term may start and a term follows. */
export function lexFleetQuery(text: string): Result<Token[], FleetQueryError> {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (isQueryWhitespace(c)) {
      i++;
      continue;
    }
    const punctuation = PUNCTUATION[c];
    if (punctuation !== undefined) {
      tokens.push({ kind: punctuation, start: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === '<' || c === '>') {
      const withEq = text.charAt(i + 1) === '=';
      const op: ComparisonOp = c === '<' ? (withEq ? '<=' : '<') : withEq ? '>=' : '>';
      tokens.push({ kind: 'cmp', op, start: i, end: i + (withEq ? 2 : 1) });
      i += withEq ? 2 : 1;
      continue;
    }
    if (c === '"') {
      const quoted = lexQuoted(text, i);
      if (!quoted.ok) return quoted;
      tokens.push(quoted.value);
      i = quoted.value.end;
      continue;
    }
    if (c === '-' && startsTerm(text, i)) {
      tokens.push({ kind: 'minus', start: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === '-' && atTermStart(text, i) && (i + 1 >= text.length || endsWord(text.charAt(i + 1)))) {
      return err(syntaxError(i, '"-" must be followed by a term, with no space between'));
    }
    const word = lexWord(text, i);
    if (!word.ok) return word;
    const lucene = atTermStart(text, i) ? luceneOperator(word.value.raw) : undefined;
    if (lucene !== undefined) return err(syntaxError(i, lucene));
    tokens.push(word.value);
    i = word.value.end;
  }
  return ok(tokens);
}

/** Lucene operators AWS does not document, refused where they would stand rather than read as words. */
function luceneOperator(raw: string): string | undefined {
  if (raw === '&&' || raw === '||') return `"${raw}" is not supported: write ${raw === '&&' ? 'AND' : 'OR'}`;
  if (raw.startsWith('!')) return '"!" is not supported: write NOT';
  if (raw.startsWith('+')) return '"+" (required term) is not supported: terms are AND-ed by default';
  return undefined;
}

/** Where a term may start: the query's start, or after whitespace or "(". */
function atTermStart(text: string, i: number): boolean {
  const before = i === 0 ? ' ' : text.charAt(i - 1);
  return isQueryWhitespace(before) || before === '(';
}

/** A hyphen excludes when it stands where a term starts and touches it. */
function startsTerm(text: string, i: number): boolean {
  const after = text.charAt(i + 1);
  return atTermStart(text, i) && after !== '' && !isQueryWhitespace(after) && !')]}:'.includes(after);
}

function lexQuoted(text: string, start: number): Result<Token, FleetQueryError> {
  let value = '';
  let j = start + 1;
  while (j < text.length && text.charAt(j) !== '"') {
    if (text.charAt(j) === '\\') {
      if (j + 1 >= text.length) break;
      value += text.charAt(j + 1);
      j += 2;
    } else {
      value += text.charAt(j);
      j++;
    }
  }
  if (j >= text.length) return err(syntaxError(start, 'unterminated quoted string'));
  return ok({ kind: 'quoted', text: value, start, end: j + 1 });
}

function lexWord(text: string, start: number): Result<WordToken, FleetQueryError> {
  const parts: WildcardPart[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') parts.push({ kind: 'text', text: literal });
    literal = '';
  };
  let j = start;
  while (j < text.length && !endsWord(text.charAt(j))) {
    const c = text.charAt(j);
    if (c === '\\') {
      if (j + 1 >= text.length) return err(syntaxError(j, '"\\" at the end of the query escapes nothing'));
      literal += text.charAt(j + 1);
      j += 2;
      continue;
    }
    const feature = UNSUPPORTED_FEATURE[c];
    if (feature !== undefined) return err(syntaxError(j, feature));
    if (UNSUPPORTED.has(c)) {
      return err(syntaxError(j, `unsupported character "${c}" (escape it with "\\" or quote the value)`));
    }
    if (c === '*' || c === '?') {
      flush();
      parts.push({ kind: c === '*' ? 'many' : 'one' });
    } else {
      literal += c;
    }
    j++;
  }
  flush();
  return ok({ kind: 'word', raw: text.slice(start, j), parts, start, end: j });
}

/** The word's text when it has no wildcards, else undefined. */
export function plainText(word: WordToken): string | undefined {
  let text = '';
  for (const part of word.parts) {
    if (part.kind !== 'text') return undefined;
    text += part.text;
  }
  return text;
}

/** AND, OR, NOT and TO are operators only in capitals, unescaped and unquoted (as in Lucene). */
export const isKeyword = (token: Token | undefined, keyword: 'AND' | 'OR' | 'NOT' | 'TO'): boolean =>
  token?.kind === 'word' && token.raw === keyword;
