import {
  applyShadowUpdate,
  deleteShadowDocument,
  getShadowDocument,
  parseShadowUpdateRequest,
  ShadowErrorMessage,
  shadowError,
  type Result,
  type ShadowDeleteOutcome,
  type ShadowGetAccepted,
  type ShadowError,
  type ShadowLimits,
  type ShadowUpdateOutcome,
} from '@otafleet/protocol';
import type { Logger } from 'pino';
import type { GroupCommit } from './group-commit.js';
import type { ShadowKey } from './shadow-store.js';

export type ShadowOutcome<T> = Result<T, ShadowError>;

/**
 * The shadow state transitions, shared by the MQTT API and the HTTP data plane: each reads the latest shadow
 * (uncommitted writes of the batch included), applies protocol's algebra, stages the write, and hands its
 * outcome to `done` only once the batch is on disk (a failed commit becomes AWS's 500).
 */
export interface ShadowEngine {
  update(
    key: ShadowKey,
    payload: Buffer,
    timestamp: number,
    done: (r: ShadowOutcome<ShadowUpdateOutcome>) => void,
  ): void;
  delete(
    key: ShadowKey,
    clientToken: string | undefined,
    timestamp: number,
    done: (r: ShadowOutcome<ShadowDeleteOutcome>) => void,
  ): void;
  /** The document a get answers with, from the latest shadow; answer it after `afterCommit`. */
  get(key: ShadowKey, clientToken: string | undefined, timestamp: number): ShadowOutcome<ShadowGetAccepted>;
  /** Runs `committed` (or `failed`) once everything staged so far is durable (or is not). */
  afterCommit(committed: () => void, failed: (e: unknown) => void): void;
}

export const internalFailure = (clientToken: string | undefined): ShadowError =>
  shadowError(500, ShadowErrorMessage.internalFailure, clientToken);

export function createShadowEngine(commits: GroupCommit, limits: ShadowLimits, logger: Logger): ShadowEngine {
  const failed =
    (key: ShadowKey, clientToken: string | undefined, done: (r: { ok: false; error: ShadowError }) => void) =>
    (e: unknown): void => {
      logger.error({ err: e, ...key }, 'shadow commit failed');
      done({ ok: false, error: internalFailure(clientToken) });
    };
  return {
    update(key, payload, timestamp, done) {
      const request = parseShadowUpdateRequest(payload, limits);
      if (!request.ok) return done(request);
      const outcome = applyShadowUpdate(commits.read(key), request.value, timestamp, limits);
      if (!outcome.ok) return done(outcome);
      commits.write({ key, shadow: outcome.value.shadow, updatedAt: timestamp, stateJson: outcome.value.stateJson });
      commits.afterCommit(() => done(outcome), failed(key, request.value.clientToken, done));
    },
    delete(key, clientToken, timestamp, done) {
      const outcome = deleteShadowDocument(commits.read(key), key, clientToken, timestamp);
      if (!outcome.ok) return done(outcome);
      commits.write({ key, shadow: outcome.value.shadow, updatedAt: timestamp });
      commits.afterCommit(() => done(outcome), failed(key, clientToken, done));
    },
    get: (key, clientToken, timestamp) => getShadowDocument(commits.read(key), key, clientToken, timestamp),
    afterCommit: (committed, onFailed) => commits.afterCommit(committed, onFailed),
  };
}
