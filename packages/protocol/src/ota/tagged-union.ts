import {
  Type,
  type Static,
  type TLiteral,
  type TObject,
  type TProperties,
  type TSchema,
  type TUnion,
} from '@sinclair/typebox';
import { Errors, ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { isPlainObject } from '../json.js';
import { err, ok } from '../result.js';
import { compileValidator, type SchemaIssue, type Validator } from '../schema.js';

/**
 * TypeBox reports a failed union as one `Expected union value` at the union's path, which tells an operator
 * nothing. A tagged union names its tag (OpenAPI's `discriminator`, so generated API docs show it too); the
 * validator below then reports the errors of the variant the tag selects, or that the tag itself is unknown.
 */
export function TaggedUnion<T extends TSchema[]>(propertyName: string, variants: [...T]): TUnion<T> {
  // Always two or more variants, so the union is never collapsed to its single member or to Never.
  return Type.Union(variants, { discriminator: { propertyName } }) as TUnion<T>;
}

const MAX_ISSUES = 10;

function discriminatorOf(schema: TSchema): string | undefined {
  const d: unknown = (schema as { discriminator?: unknown }).discriminator;
  return isPlainObject(d) && typeof d.propertyName === 'string' ? d.propertyName : undefined;
}

/** The tag values a variant accepts: its literal, or those of its members when it is itself a union. */
function tagsOf(variant: TSchema, key: string): unknown[] {
  const members = (variant as Partial<TUnion>).anyOf;
  if (members !== undefined) return [...new Set(members.flatMap((m) => tagsOf(m, key)))];
  return [((variant as TObject<TProperties>).properties[key] as TLiteral | undefined)?.const];
}

const isLiteral = (s: TSchema): s is TLiteral => (s as { const?: unknown }).const !== undefined;

const listed = (values: readonly unknown[]): string => values.map((v) => JSON.stringify(v)).join(', ');

function collect(errors: Iterable<ValueError>, out: SchemaIssue[]): void {
  for (const e of errors) {
    if (out.length >= MAX_ISSUES) return;
    const path = e.path === '' ? '/' : e.path;
    if (e.type !== ValueErrorType.Union) {
      out.push({ path, message: e.message });
      continue;
    }
    const variants = (e.schema as TUnion).anyOf;
    const key = discriminatorOf(e.schema);
    if (key === undefined) {
      const message = variants.every(isLiteral) ? `Expected one of ${listed(variants.map((v) => v.const))}` : e.message;
      out.push({ path, message });
      continue;
    }
    if (!isPlainObject(e.value)) {
      out.push({ path, message: 'Expected object' });
      continue;
    }
    const tag = e.value[key];
    const index = variants.findIndex((v) => tagsOf(v, key).includes(tag));
    const chosen = e.errors[index];
    if (chosen === undefined) {
      const at = path === '/' ? `/${key}` : `${path}/${key}`;
      out.push({ path: at, message: `Expected one of ${listed(variants.flatMap((v) => tagsOf(v, key)))}` });
      continue;
    }
    collect(chosen, out);
  }
}

/** The issues of a value that fails `schema`, with tagged unions resolved to the variant their tag names. */
export function schemaIssues(schema: TSchema, value: unknown): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  collect(Errors(schema, value), out);
  // A missing property is reported twice (required, then its type): the first says it.
  const seen = new Set<string>();
  return out.filter((i) => !seen.has(i.path) && seen.add(i.path));
}

/** `compileValidator`, with the precise issues above on failure (the check itself stays compiled). */
export function compileTaggedValidator<S extends TSchema>(schema: S): Validator<S> {
  const base = compileValidator(schema);
  return {
    schema,
    check: (value: unknown): value is Static<S> => base.check(value),
    validate: (value: unknown) => (base.check(value) ? ok(value) : err(schemaIssues(schema, value))),
  };
}
