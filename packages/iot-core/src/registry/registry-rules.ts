import { THING_NAME } from '@otafleet/protocol';
import { AwsServiceError } from '../aws-error.js';

/*
 * Registry limits and name rules from the AWS IoT API reference:
 * https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html (thingName),
 * https://docs.aws.amazon.com/iot/latest/apireference/API_ListThings.html (attribute name/value patterns).
 */
/** Thing and thing-group names share one rule (protocol's THING_NAME / THING_GROUP_NAME). */
export const RESOURCE_NAME_PATTERN = THING_NAME.charsPattern;
export const RESOURCE_NAME_MAX = THING_NAME.maxLength;
export const ATTRIBUTE_NAME_PATTERN = '^[a-zA-Z0-9_.,@/:#-]+$';
export const ATTRIBUTE_NAME_MAX = 128;
export const ATTRIBUTE_VALUE_PATTERN = '^[a-zA-Z0-9_.,@/:#=\\[\\]-]*$';
export const ATTRIBUTE_VALUE_MAX = 800;
/** A thing without a thing type holds at most three attributes (the CreateThing reference, attributePayload). */
export const MAX_THING_ATTRIBUTES = 3;
/** AWS limits group attributes without stating the number in the API reference; 50 as for typed things. */
export const MAX_GROUP_ATTRIBUTES = 50;
/** A thing belongs to at most 10 thing groups (AddThingToThingGroup, overrideDynamicGroups). */
export const MAX_GROUPS_PER_THING = 10;
export const MAX_RESULTS_LIMIT = 250;
/** AWS does not document the default page size; a small one makes callers that ignore nextToken fail early. */
export const DEFAULT_PAGE_SIZE = 50;

const attributeName = new RegExp(ATTRIBUTE_NAME_PATTERN);
const attributeValue = new RegExp(ATTRIBUTE_VALUE_PATTERN);

export const invalidRequest = (message: string): AwsServiceError =>
  new AwsServiceError('InvalidRequestException', 400, message);
export const notFound = (message: string): AwsServiceError =>
  new AwsServiceError('ResourceNotFoundException', 404, message);
/** `expectedVersion` did not match the stored version of the thing or thing group. */
export const versionConflict = (kind: 'thing' | 'thing group', name: string): AwsServiceError =>
  new AwsServiceError(
    'VersionConflictException',
    409,
    `The version for ${kind} ${name} does not match the expected version.`,
  );

export function requireResourceName(field: string, value: string | undefined): string {
  if (value === undefined || value.length === 0) throw invalidRequest(`${field} is required`);
  if (!THING_NAME.test(value)) {
    throw invalidRequest(`${field} must be ${THING_NAME.description}: ${value}`);
  }
  return value;
}

export function checkAttributes(
  attributes: Readonly<Record<string, string>> | undefined,
  maxCount: number,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (attributes === undefined) return out;
  const entries = Object.entries(attributes);
  if (entries.length > maxCount) {
    throw invalidRequest(`Too many attributes: ${entries.length}; at most ${maxCount} are allowed`);
  }
  for (const [name, value] of entries) {
    if (name.length > ATTRIBUTE_NAME_MAX || !attributeName.test(name)) {
      throw invalidRequest(`Invalid attribute name: ${name}`);
    }
    if (typeof value !== 'string' || value.length > ATTRIBUTE_VALUE_MAX || !attributeValue.test(value)) {
      throw invalidRequest(`Invalid value for attribute ${name}`);
    }
    out[name] = value;
  }
  return out;
}

export function checkMaxResults(maxResults: number | undefined): number {
  if (maxResults === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_RESULTS_LIMIT) {
    throw invalidRequest(`maxResults must be an integer from 1 to ${MAX_RESULTS_LIMIT}`);
  }
  return maxResults;
}

export const sameAttributes = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
};

/**
 * The attributes after an update's attributePayload: `merge: true` adds to and overwrites the stored ones,
 * otherwise the given set replaces them; an empty value removes the attribute ("To remove an attribute,
 * call UpdateThing with an empty attribute value", API_AttributePayload). No payload keeps them as they are.
 */
export function mergeAttributes(
  stored: Readonly<Record<string, string>>,
  payload:
    { readonly attributes?: Record<string, string> | undefined; readonly merge?: boolean | undefined } | undefined,
  maxCount: number,
): Record<string, string> {
  if (payload?.attributes === undefined) return { ...stored };
  const given = checkAttributes(payload.attributes, Number.MAX_SAFE_INTEGER);
  const out: Record<string, string> = payload.merge === true ? { ...stored } : {};
  for (const [name, value] of Object.entries(given)) {
    if (value === '') delete out[name];
    else out[name] = value;
  }
  const count = Object.keys(out).length;
  if (count > maxCount) throw invalidRequest(`Too many attributes: ${count}; at most ${maxCount} are allowed`);
  return out;
}
