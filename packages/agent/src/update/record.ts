import type { OtaJobDocument, OtaReasonCode, Slot } from '@otafleet/protocol';
import type { UpdateStateName } from './states.js';

/** Why the job is ending the way it is: what ReportingFailure reports and lastUpdate records. */
export interface UpdateVerdict {
  readonly reasonCode: OtaReasonCode;
  readonly reason: string;
}

/**
 * The journaled update: everything the flow needs to continue after a crash, and nothing it could read back
 * from elsewhere. Written before each state's action runs (journal/update-codec.ts stores it with a schema version).
 */
export interface UpdateRecord {
  readonly jobId: string;
  readonly executionNumber: number;
  readonly state: UpdateStateName;
  /** Saves of this job's record so far: the state-loop limit reads it. */
  readonly saves: number;
  /** Agent starts that found this job in the journal: the boot-loop limit reads it. */
  readonly starts: number;
  readonly document: OtaJobDocument;
  /** Attempt of the current phase, from 1 (retryable failures). */
  readonly attempt: number;
  /** When the job was accepted (epoch ms, device clock). */
  readonly acceptedAt: number;
  /** The committed slot when the job started, and what it held: where a failure returns to. */
  readonly fromSlot: Slot;
  readonly fromVersion?: string;
  /** The slot being written and tried. */
  readonly targetSlot?: Slot;
  readonly toVersion?: string;
  /** The downloaded bundle file and the verified manifest's SHA-256 (set once verified). */
  readonly bundlePath?: string;
  readonly manifestSha256?: string;
  /** Absolute health-check deadline (epoch ms), set when the switch is made. */
  readonly deadlineAt?: number;
  /** When the switch was made (epoch ms): crashes are counted from here. */
  readonly switchedAt?: number;
  readonly verdict?: UpdateVerdict;
}

/** A record patch an action returns with its event. */
export type UpdatePatch = Partial<Omit<UpdateRecord, 'jobId' | 'executionNumber' | 'state' | 'saves' | 'document'>>;
