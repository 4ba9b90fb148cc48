import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { err, ok, type Result } from './result.js';

/** One schema violation, with the JSON pointer of the offending value. */
export interface SchemaIssue {
  readonly path: string;
  readonly message: string;
}

/** A compiled runtime validator for a TypeBox schema; the schema is also the static type. */
export interface Validator<S extends TSchema> {
  readonly schema: S;
  check(value: unknown): value is Static<S>;
  validate(value: unknown): Result<Static<S>, readonly SchemaIssue[]>;
}

/**
 * Compiles on first use, not at import: protocol defines dozens of validators and a process uses a few of them, so
 * compiling all at module load would cost every process start (a device agent, a CLI call) for nothing.
 */
export function compileValidator<S extends TSchema>(schema: S): Validator<S> {
  let compiled: TypeCheck<S> | undefined;
  const get = (): TypeCheck<S> => (compiled ??= TypeCompiler.Compile(schema));
  return {
    schema,
    check: (value: unknown): value is Static<S> => get().Check(value),
    validate(value: unknown) {
      if (get().Check(value)) return ok(value);
      const issues: SchemaIssue[] = [];
      for (const e of get().Errors(value)) {
        issues.push({ path: e.path === '' ? '/' : e.path, message: e.message });
        if (issues.length >= 10) break;
      }
      return err(issues);
    },
  };
}

/** Renders issues as one line, e.g. `/status: Expected union value; /statusDetails/x: Expected string`. */
export function describeIssues(issues: readonly SchemaIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}
