import { err, ok, SHADOW_NAME, type Result } from '@otafleet/protocol';
import { ATTRIBUTE_NAME_MAX, ATTRIBUTE_NAME_PATTERN } from '../registry-rules.js';
import type { FieldRef, FleetQueryError, QueryField } from './query-ast.js';

const ATTRIBUTE_NAME = new RegExp(ATTRIBUTE_NAME_PATTERN);

export const SUPPORTED_FIELDS =
  'thingName, thingTypeName, thingGroupNames, attributes.<name>, shadow.reported.<path>, shadow.desired.<path>, ' +
  'shadow.hasDelta, shadow.name.<shadowName>.reported.<path>, shadow.name.<shadowName>.desired.<path>, ' +
  'shadow.name.<shadowName>.hasDelta, connectivity.connected, connectivity.timestamp, connectivity.disconnectReason';

const unsupportedField = (position: number, name: string, why?: string): FleetQueryError => ({
  message: `Unsupported field at ${position}: "${name}"${why === undefined ? '' : ` (${why})`}; supported fields: ${SUPPORTED_FIELDS}`,
  position,
});

/** Resolves a field name as written (escapes already resolved) to what it reads. Field names are case sensitive. */
export function resolveField(name: string, position: number): Result<QueryField, FleetQueryError> {
  const ref = fieldRef(name);
  if (typeof ref === 'string') return err(unsupportedField(position, name, ref === '' ? undefined : ref));
  return ok({ name: fieldName(ref), ref });
}

/** The reference, or why the name is not a supported field ('' when it is simply unknown). */
function fieldRef(name: string): FieldRef | string {
  switch (name) {
    case 'thingName':
    case 'thingTypeName':
    case 'thingGroupNames':
      return { kind: name };
    case 'shadow.hasDelta':
      return { kind: 'shadowHasDelta', shadowName: undefined };
    case 'connectivity.connected':
      return { kind: 'connectivity', key: 'connected' };
    case 'connectivity.timestamp':
      return { kind: 'connectivity', key: 'timestamp' };
    case 'connectivity.disconnectReason':
      return { kind: 'connectivity', key: 'disconnectReason' };
  }
  if (name.startsWith('attributes.')) {
    const attribute = name.slice('attributes.'.length);
    if (attribute.length === 0 || attribute.length > ATTRIBUTE_NAME_MAX || !ATTRIBUTE_NAME.test(attribute)) {
      return `an attribute name is 1-${ATTRIBUTE_NAME_MAX} characters of [a-zA-Z0-9_.,@/:#-]`;
    }
    return { kind: 'attribute', name: attribute };
  }
  if (name.startsWith('shadow.name.')) {
    const rest = name.slice('shadow.name.'.length);
    const dot = rest.indexOf('.');
    const shadowName = dot < 0 ? rest : rest.slice(0, dot);
    if (!SHADOW_NAME.test(shadowName)) return `a shadow name is ${SHADOW_NAME.description}`;
    return shadowField(shadowName, dot < 0 ? '' : rest.slice(dot + 1));
  }
  if (name.startsWith('shadow.')) return shadowField(undefined, name.slice('shadow.'.length));
  return '';
}

function shadowField(shadowName: string | undefined, rest: string): FieldRef | string {
  if (rest === 'hasDelta') return { kind: 'shadowHasDelta', shadowName };
  for (const section of ['reported', 'desired'] as const) {
    if (rest === section) return `name a key under ${section}, e.g. ${section}.firmware.version`;
    if (rest.startsWith(`${section}.`)) {
      const path = rest.slice(section.length + 1).split('.');
      if (path.some((key) => key.length === 0)) return 'a shadow path has no empty keys';
      return { kind: 'shadowValue', shadowName, section, path };
    }
  }
  return 'after shadow. come reported.<path>, desired.<path> or hasDelta';
}

/** Characters a field or value written unquoted must escape. */
const NEEDS_ESCAPE = /[\s()[\]{}:"<>\\*?`@#%/';,~^]/u;

/**
 * Writes text as (part of) an unquoted word that lexes back to exactly this text, wildcards escaped. A word's
 * first character also escapes a "-" (which would read as NOT); `wordStart: false` is for later parts.
 */
export function escapeWord(text: string, wordStart = true): string {
  let out = '';
  for (const c of text) out += NEEDS_ESCAPE.test(c) ? `\\${c}` : c;
  return wordStart && out.startsWith('-') ? `\\${out}` : out;
}

/** The canonical name of a field, escaped so that it parses back to the same field. */
export function fieldName(ref: FieldRef): string {
  switch (ref.kind) {
    case 'thingName':
    case 'thingTypeName':
    case 'thingGroupNames':
      return ref.kind;
    case 'attribute':
      return `attributes.${escapeWord(ref.name)}`;
    case 'shadowValue':
      return `${shadowPrefix(ref.shadowName)}${ref.section}.${ref.path.map((key) => escapeWord(key, false)).join('.')}`;
    case 'shadowHasDelta':
      return `${shadowPrefix(ref.shadowName)}hasDelta`;
    case 'connectivity':
      return `connectivity.${ref.key}`;
  }
}

const shadowPrefix = (shadowName: string | undefined): string =>
  shadowName === undefined ? 'shadow.' : `shadow.name.${escapeWord(shadowName)}.`;
