import { isPlainObject } from '../json.js';
import type { ShadowSection, ShadowSections } from './schemas.js';

/**
 * What the service stores per (thing, shadow). A deleted shadow keeps its version for 48 hours: AWS continues
 * the numbering when a shadow of the same name is created again within them, and starts from 0 after
 * (https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-data-flow.html, DELETE).
 */
export interface StoredShadow {
  readonly state: ShadowSections;
  readonly metadata: ShadowSections;
  readonly version: number;
  readonly deleted: boolean;
  /** Epoch seconds of the delete; tombstones only. */
  readonly deletedAt?: number;
}

/** How long a deleted shadow's version is remembered. */
export const DELETED_SHADOW_VERSION_RETENTION_SECONDS = 48 * 60 * 60;

/** The shadow as a new update sees it: a tombstone older than the retention is no shadow at all (version 0). */
export function rememberedShadow(current: StoredShadow | undefined, timestamp: number): StoredShadow | undefined {
  if (current === undefined || !current.deleted || current.deletedAt === undefined) return current;
  return timestamp - current.deletedAt > DELETED_SHADOW_VERSION_RETENTION_SECONDS ? undefined : current;
}

export const emptyShadowSections = (): ShadowSections => ({});

/**
 * Sets an own property even for `__proto__`, which JSON.parse can produce as an own key. Only that key needs
 * defineProperty: using it for every key would turn the objects into slow dictionaries.
 */
export function setOwn(target: ShadowSection, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function copyOwn(source: ShadowSection | undefined): ShadowSection {
  const out: ShadowSection = {};
  if (source !== undefined) for (const k of Object.keys(source)) setOwn(out, k, source[k]);
  return out;
}

/** Per-leaf metadata: `{timestamp}` for each scalar, one entry per element for arrays, objects mirrored. */
export function metadataOf(value: unknown, timestamp: number): unknown {
  if (Array.isArray(value)) return value.map((element) => metadataOf(element, timestamp));
  if (isPlainObject(value)) {
    const out: ShadowSection = {};
    for (const k of Object.keys(value)) setOwn(out, k, metadataOf(value[k], timestamp));
    return out;
  }
  return { timestamp };
}

/** Metadata echoed in /update/accepted: like metadataOf, and a removed key (null) is stamped too. */
export function echoMetadataOf(section: ShadowSection, timestamp: number): ShadowSection {
  const out: ShadowSection = {};
  for (const k of Object.keys(section)) {
    const v = section[k];
    setOwn(out, k, isPlainObject(v) ? echoMetadataOf(v, timestamp) : metadataOf(v, timestamp));
  }
  return out;
}

export interface MergedSection {
  readonly value: ShadowSection;
  readonly metadata: ShadowSection;
}

/**
 * Applies one `desired` or `reported` patch: null removes a key, objects merge recursively, arrays and
 * scalars replace the stored value whole. Pure: the inputs are not modified.
 */
export function mergeShadowSection(
  base: ShadowSection | undefined,
  baseMetadata: ShadowSection | undefined,
  patch: ShadowSection,
  timestamp: number,
): MergedSection {
  const value = copyOwn(base);
  const metadata = copyOwn(baseMetadata);
  for (const key of Object.keys(patch)) {
    const next = patch[key];
    if (next === null) {
      delete value[key];
      delete metadata[key];
    } else if (isPlainObject(next)) {
      const prev = Object.hasOwn(value, key) ? value[key] : undefined;
      const prevMeta = Object.hasOwn(metadata, key) ? metadata[key] : undefined;
      const merged = mergeShadowSection(
        isPlainObject(prev) ? prev : undefined,
        isPlainObject(prev) && isPlainObject(prevMeta) ? prevMeta : undefined,
        next,
        timestamp,
      );
      setOwn(value, key, merged.value);
      setOwn(metadata, key, merged.metadata);
    } else {
      setOwn(value, key, next);
      setOwn(metadata, key, metadataOf(next, timestamp));
    }
  }
  return { value, metadata };
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * The delta: every key of `desired` whose value differs from `reported`, recursing into objects; arrays
 * compare and copy whole; keys only in `reported` never appear.
 * https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html#delta-state
 */
export function computeShadowDelta(
  desired: ShadowSection | undefined,
  reported: ShadowSection | undefined,
): ShadowSection {
  const delta: ShadowSection = {};
  if (desired === undefined) return delta;
  for (const [key, want] of Object.entries(desired)) {
    const have = reported !== undefined && Object.hasOwn(reported, key) ? reported[key] : undefined;
    if (have === undefined) {
      setOwn(delta, key, want);
    } else if (isPlainObject(want) && isPlainObject(have)) {
      const sub = computeShadowDelta(want, have);
      if (Object.keys(sub).length > 0) setOwn(delta, key, sub);
    } else if (!jsonEqual(want, have)) {
      setOwn(delta, key, want);
    }
  }
  return delta;
}

/** The delta's metadata is the desired metadata of the same paths. */
export function deltaMetadataOf(delta: ShadowSection, desiredMetadata: ShadowSection | undefined): ShadowSection {
  const out: ShadowSection = {};
  for (const [key, value] of Object.entries(delta)) {
    const meta =
      desiredMetadata !== undefined && Object.hasOwn(desiredMetadata, key) ? desiredMetadata[key] : undefined;
    if (isPlainObject(value) && isPlainObject(meta)) setOwn(out, key, deltaMetadataOf(value, meta));
    else if (meta !== undefined) setOwn(out, key, meta);
  }
  return out;
}

/**
 * Bytes of desired + reported as AWS counts them toward the 8 KB limit (metadata excluded), read off
 * `JSON.stringify(state)` (which the caller stores anyway) by subtracting the ASCII wrapper
 * `{"desired":…,"reported":…}`, so the state is serialised once per update.
 */
export function shadowStateBytes(state: ShadowSections, stateJson: string): number {
  const hasDesired = state.desired !== undefined;
  const hasReported = state.reported !== undefined;
  const wrapper =
    2 +
    (hasDesired ? '"desired":'.length : 0) +
    (hasReported ? '"reported":'.length : 0) +
    (hasDesired && hasReported ? 1 : 0);
  return Buffer.byteLength(stateJson, 'utf8') - wrapper;
}
