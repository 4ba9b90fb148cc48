import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { err, ok, type Result } from '@otafleet/protocol';
import { checkScenarioRules, type RuleIssue } from './rules.js';
import { displayPath, locate, pointerSegments } from './locate.js';
import { ScenarioSchema, type Scenario } from './schema.js';

/** One thing wrong with a scenario file, where it is, and what it should be. */
export interface ScenarioIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The field, as `faults[0].percent`. */
  readonly path: string;
  readonly message: string;
}

export const formatIssue = (i: ScenarioIssue): string => `${i.file}:${i.line}:${i.column}: ${i.message}`;

/** A scenario that could not be used: every issue found (up to a limit), each with its line. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(readonly issues: readonly ScenarioIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

const MAX_ISSUES = 20;
const validator = TypeCompiler.Compile(ScenarioSchema);

const typeName = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : typeof value;

const knownKeys = (schema: TSchema): string =>
  Object.keys((schema as { properties?: Record<string, unknown> }).properties ?? {}).join(', ');

/** A violation in words: the schema's own `errorMessage` where it has one, else a sentence per kind of error. */
function describe(e: ValueError): string {
  const path = displayPath(pointerSegments(e.path));
  if (e.type === ValueErrorType.ObjectRequiredProperty) return `${path} is required`;
  if (e.type === ValueErrorType.ObjectAdditionalProperties) {
    return `${path} is not a known key (known here: ${knownKeys(e.schema)})`;
  }
  const custom = (e.schema as { errorMessage?: unknown }).errorMessage;
  if (typeof custom === 'string') return `${path} ${custom} (got ${JSON.stringify(e.value) ?? typeName(e.value)})`;
  const options = (e.schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (e.type === ValueErrorType.Union && options?.every((o) => o.const !== undefined) === true) {
    return `${path} must be one of: ${options.map((o) => String(o.const)).join(', ')} (got ${JSON.stringify(e.value) ?? typeName(e.value)})`;
  }
  if (e.type === ValueErrorType.Object) return `${path} must be a mapping (got ${typeName(e.value)})`;
  if (e.type === ValueErrorType.Array) return `${path} must be a list (got ${typeName(e.value)})`;
  return `${path}: ${e.message.charAt(0).toLowerCase()}${e.message.slice(1)} (got ${JSON.stringify(e.value) ?? typeName(e.value)})`;
}

/**
 * Flattens a union's error into the errors of its closest variant (fewest errors, deepest first error), so
 * `waves[0]` with a wrong key says which key instead of "expected union value". A union with its own message
 * (an enumeration of literals) stays one error.
 */
function flatten(e: ValueError): ValueError[] {
  const schema = e.schema as { errorMessage?: unknown; anyOf?: { const?: unknown }[] };
  const literalsOnly = schema.anyOf?.every((o) => o.const !== undefined) === true;
  if (e.type !== ValueErrorType.Union || typeof schema.errorMessage === 'string' || literalsOnly) return [e];
  const variants = e.errors.map((it) => [...it].flatMap(flatten));
  const score = (errs: ValueError[]): number => errs.length * 100 - (errs[0]?.path.length ?? 0);
  const best = variants.filter((v) => v.length > 0).sort((a, b) => score(a) - score(b))[0];
  return best ?? [e];
}

function schemaIssues(value: unknown): RuleIssue[] {
  const seen = new Set<string>();
  const out: RuleIssue[] = [];
  for (const raw of validator.Errors(value)) {
    for (const e of flatten(raw)) {
      if (seen.has(e.path)) continue;
      seen.add(e.path);
      out.push({ pointer: e.path, message: describe(e) });
    }
    if (out.length >= MAX_ISSUES) break;
  }
  return out;
}

function placed(doc: Document, lines: LineCounter, file: string, issues: readonly RuleIssue[]): ScenarioIssue[] {
  return issues.slice(0, MAX_ISSUES).map((i) => {
    const segments = pointerSegments(i.pointer);
    return { file, ...locate(doc, lines, segments), path: displayPath(segments), message: i.message };
  });
}

/**
 * Parses and validates a scenario: YAML syntax, then the schema (unknown keys and wrong types included), then the
 * rules across fields (a rollout of a release that exists, faults on devices that exist, waves in order...). Every
 * issue names the file, line and column.
 */
export function parseScenario(text: string, file: string): Result<Scenario, ScenarioError> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return err(
      new ScenarioError(
        doc.errors.slice(0, MAX_ISSUES).map((e) => {
          const at = lines.linePos(e.pos[0]);
          return { file, line: at.line, column: at.col, path: '', message: e.message.split('\n')[0] ?? e.code };
        }),
      ),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return err(new ScenarioError([{ file, line: 1, column: 1, path: '', message }]));
  }
  const typed = schemaIssues(value);
  if (typed.length > 0) return err(new ScenarioError(placed(doc, lines, file, typed)));
  const scenario = value as Scenario;
  const rules = checkScenarioRules(scenario);
  if (rules.length > 0) return err(new ScenarioError(placed(doc, lines, file, rules)));
  return ok(scenario);
}
