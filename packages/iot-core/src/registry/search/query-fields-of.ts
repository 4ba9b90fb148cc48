import type { FieldRef, FleetQuery } from './query-ast.js';

/** In fieldsOf's answer: a term without a field, which reads every registry and shadow field. */
export const ANY_FIELD = '*';

/**
 * The data paths a query reads, sorted: `thingName`, `attributes.hw`, `shadow.reported.firmware.version`,
 * `shadow.name.cfg.desired.x`, `connectivity.connected`… `shadow.hasDelta` reads `shadow.desired` and
 * `shadow.reported`. A term without a field gives `*`. A dynamic group re-evaluates a thing only when a change
 * touches one of these (see fieldsTouched).
 */
export function fieldsOf(query: FleetQuery): readonly string[] {
  const out = new Set<string>();
  const visit = (q: FleetQuery): void => {
    switch (q.kind) {
      case 'all':
        return;
      case 'and':
      case 'or':
        q.operands.forEach(visit);
        return;
      case 'not':
        visit(q.operand);
        return;
      case 'term':
        if (q.field === undefined) out.add(ANY_FIELD);
        else dependencyPaths(q.field.ref).forEach((p) => out.add(p));
        return;
      case 'exists':
      case 'range':
        dependencyPaths(q.field.ref).forEach((p) => out.add(p));
        return;
    }
  };
  visit(query);
  return [...out].sort();
}

function dependencyPaths(ref: FieldRef): readonly string[] {
  const shadow = (name: string | undefined): string => (name === undefined ? 'shadow' : `shadow.name.${name}`);
  switch (ref.kind) {
    case 'thingName':
    case 'thingTypeName':
    case 'thingGroupNames':
      return [ref.kind];
    case 'attribute':
      return [`attributes.${ref.name}`];
    case 'shadowValue':
      return [[shadow(ref.shadowName), ref.section, ...ref.path].join('.')];
    case 'shadowHasDelta':
      return [`${shadow(ref.shadowName)}.desired`, `${shadow(ref.shadowName)}.reported`];
    case 'connectivity':
      return [`connectivity.${ref.key}`];
  }
}

/**
 * Whether a change to `changed` paths (same notation: `shadow.reported.firmware`, `attributes.hw`,
 * `thingGroupNames`) can change the answer of a query that reads `read`: one path is the other or lies under it.
 */
export function fieldsTouched(read: readonly string[], changed: readonly string[]): boolean {
  if (changed.length === 0) return false;
  if (read.includes(ANY_FIELD)) return true;
  const under = (a: string, b: string): boolean => a === b || a.startsWith(`${b}.`);
  return read.some((r) => changed.some((c) => under(r, c) || under(c, r)));
}
