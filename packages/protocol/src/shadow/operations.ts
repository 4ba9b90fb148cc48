import { err, ok, type Result } from '../result.js';
import {
  computeShadowDelta,
  deltaMetadataOf,
  echoMetadataOf,
  rememberedShadow,
  mergeShadowSection,
  shadowStateBytes,
  type StoredShadow,
} from './document.js';
import { ShadowErrorMessage as M, noShadowMessage, shadowError, type ShadowError } from './errors.js';
import type { ShadowLimits } from './limits.js';
import type {
  ShadowDeleteAccepted,
  ShadowDelta,
  ShadowDocumentSnapshot,
  ShadowDocuments,
  ShadowErrorResponse,
  ShadowGetAccepted,
  ShadowSection,
  ShadowSections,
  ShadowUpdateAccepted,
  ShadowUpdateRequest,
} from './schemas.js';

export interface ShadowIdentity {
  readonly thingName: string;
  readonly shadowName?: string;
}

export interface ShadowUpdateOutcome {
  /** What to store. */
  readonly shadow: StoredShadow;
  /** `JSON.stringify(shadow.state)`, made for the size check: store it rather than serialising again. */
  readonly stateJson: string;
  readonly accepted: ShadowUpdateAccepted;
  /** Undefined unless desired and reported differ after the update. */
  readonly delta: ShadowDelta | undefined;
  readonly documents: ShadowDocuments;
}

/**
 * The outcome with `delta` and `documents` built on first read: most updates are answered on
 * `/update/accepted` only, when nobody subscribes to the other two topics.
 */
class UpdateOutcome implements ShadowUpdateOutcome {
  private deltaMemo: ShadowDelta | undefined | null = null;
  private documentsMemo: ShadowDocuments | undefined;

  constructor(
    readonly shadow: StoredShadow,
    readonly stateJson: string,
    readonly accepted: ShadowUpdateAccepted,
    private readonly previous: StoredShadow | undefined,
    private readonly clientToken: string | undefined,
    private readonly timestamp: number,
  ) {}

  get delta(): ShadowDelta | undefined {
    if (this.deltaMemo !== null) return this.deltaMemo;
    const { state, metadata, version } = this.shadow;
    const deltaState = computeShadowDelta(state.desired, state.reported);
    this.deltaMemo =
      Object.keys(deltaState).length === 0
        ? undefined
        : withToken(
            {
              state: deltaState,
              metadata: deltaMetadataOf(deltaState, metadata.desired),
              version,
              timestamp: this.timestamp,
            },
            this.clientToken,
          );
    return this.deltaMemo;
  }

  get documents(): ShadowDocuments {
    const { previous, shadow, timestamp } = this;
    this.documentsMemo ??= withToken(
      previous === undefined
        ? { current: snapshot(shadow), timestamp }
        : { previous: snapshot(previous), current: snapshot(shadow), timestamp },
      this.clientToken,
    );
    return this.documentsMemo;
  }
}

const exists = (s: StoredShadow | undefined): s is StoredShadow => s !== undefined && !s.deleted;
/** Adds the clientToken to a body built just for this answer (mutated in place: a spread copy costs more). */
function withToken<T extends object>(body: T, clientToken: string | undefined): T & { clientToken?: string } {
  const out: T & { clientToken?: string } = body;
  if (clientToken !== undefined) out.clientToken = clientToken;
  return out;
}

function snapshot(s: StoredShadow): ShadowDocumentSnapshot {
  return { state: s.state, metadata: s.metadata, version: s.version };
}

function sectionsOf(desired: ShadowSection | undefined, reported: ShadowSection | undefined): ShadowSections {
  const out: ShadowSections = {};
  if (desired !== undefined && Object.keys(desired).length > 0) out.desired = desired;
  if (reported !== undefined && Object.keys(reported).length > 0) out.reported = reported;
  return out;
}

/**
 * Applies a validated `/update` request to the stored shadow (undefined: never existed). Version
 * check first (409), then merge, then the 8 KB state limit (413). `timestamp` is epoch seconds.
 */
export function applyShadowUpdate(
  stored: StoredShadow | undefined,
  request: ShadowUpdateRequest,
  timestamp: number,
  limits: ShadowLimits,
): Result<ShadowUpdateOutcome, ShadowError> {
  const { clientToken } = request;
  const current = rememberedShadow(stored, timestamp);
  const currentVersion = current?.version ?? 0;
  if (request.version !== undefined && request.version !== currentVersion) {
    return err(shadowError(409, M.versionConflict, clientToken));
  }
  const base = exists(current) ? current : undefined;
  const version = currentVersion + 1;
  const echoState: ShadowUpdateAccepted['state'] = {};
  const echoMetadata: ShadowUpdateAccepted['metadata'] = {};
  let desired = base?.state.desired;
  let reported = base?.state.reported;
  let desiredMeta = base?.metadata.desired;
  let reportedMeta = base?.metadata.reported;

  if (request.state === null) {
    desired = reported = desiredMeta = reportedMeta = undefined;
    echoState.desired = null;
    echoState.reported = null;
    echoMetadata.desired = { timestamp };
    echoMetadata.reported = { timestamp };
  } else {
    const patchDesired = request.state.desired;
    if (patchDesired === null) {
      desired = desiredMeta = undefined;
      echoState.desired = null;
      echoMetadata.desired = { timestamp };
    } else if (patchDesired !== undefined) {
      const merged = mergeShadowSection(desired, desiredMeta, patchDesired, timestamp);
      desired = merged.value;
      desiredMeta = merged.metadata;
      echoState.desired = patchDesired;
      echoMetadata.desired = echoMetadataOf(patchDesired, timestamp);
    }
    const patchReported = request.state.reported;
    if (patchReported === null) {
      reported = reportedMeta = undefined;
      echoState.reported = null;
      echoMetadata.reported = { timestamp };
    } else if (patchReported !== undefined) {
      const merged = mergeShadowSection(reported, reportedMeta, patchReported, timestamp);
      reported = merged.value;
      reportedMeta = merged.metadata;
      echoState.reported = patchReported;
      echoMetadata.reported = echoMetadataOf(patchReported, timestamp);
    }
  }

  const state = sectionsOf(desired, reported);
  const stateJson = JSON.stringify(state);
  if (shadowStateBytes(state, stateJson) > limits.maxStateBytes) {
    return err(shadowError(413, M.payloadTooLarge, clientToken));
  }
  const metadata: ShadowSections = {};
  if (state.desired !== undefined && desiredMeta !== undefined) metadata.desired = desiredMeta;
  if (state.reported !== undefined && reportedMeta !== undefined) metadata.reported = reportedMeta;
  const shadow: StoredShadow = { state, metadata, version, deleted: false };
  const accepted = withToken({ state: echoState, metadata: echoMetadata, version, timestamp }, clientToken);
  return ok(new UpdateOutcome(shadow, stateJson, accepted, base, clientToken, timestamp));
}

/** The `/get/accepted` document (state with delta, metadata, version), or 404 when there is no shadow. */
export function getShadowDocument(
  current: StoredShadow | undefined,
  id: ShadowIdentity,
  clientToken: string | undefined,
  timestamp: number,
): Result<ShadowGetAccepted, ShadowError> {
  if (!exists(current)) return err(shadowError(404, noShadowMessage(id.thingName, id.shadowName), clientToken));
  const delta = computeShadowDelta(current.state.desired, current.state.reported);
  const state: ShadowGetAccepted['state'] = { ...current.state };
  if (Object.keys(delta).length > 0) state.delta = delta;
  return ok(withToken({ state, metadata: current.metadata, version: current.version, timestamp }, clientToken));
}

export interface ShadowDeleteOutcome {
  /** What to store: the tombstone that keeps the version for a later re-creation. */
  readonly shadow: StoredShadow;
  readonly accepted: ShadowDeleteAccepted;
}

export function deleteShadowDocument(
  current: StoredShadow | undefined,
  id: ShadowIdentity,
  clientToken: string | undefined,
  timestamp: number,
): Result<ShadowDeleteOutcome, ShadowError> {
  if (!exists(current)) return err(shadowError(404, noShadowMessage(id.thingName, id.shadowName), clientToken));
  return ok({
    shadow: { state: {}, metadata: {}, version: current.version, deleted: true, deletedAt: timestamp },
    accepted: withToken({ version: current.version, timestamp }, clientToken),
  });
}

/** The `/rejected` body for an error. */
export function shadowErrorResponse(error: ShadowError, timestamp: number): ShadowErrorResponse {
  return withToken({ code: error.code, message: error.message, timestamp }, error.clientToken);
}

/** Epoch seconds, the unit of every shadow timestamp. */
export const shadowTimestamp = (epochMillis: number): number => Math.floor(epochMillis / 1000);
