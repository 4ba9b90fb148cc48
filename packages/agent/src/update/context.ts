import type { DeviceFacts, ApplicationSupervisor, HealthCheckRunner } from '../contracts.js';
import type { AgentJournal } from '../journal/types.js';
import type { SlotBackend } from '../slots/index.js';
import type { Logger } from 'pino';
import type { AgentClock, BundleFetcher, BundleInstaller, StepHook } from './ports.js';
import type { OtaComponent, OtaPhase, OtaReasonCode } from '@otafleet/protocol';
import type { JobUpdateOutcome } from '../jobs/job-reporter.js';
import type { QueuedJobUpdate } from '../journal/types.js';

/** Limits that end loops; Mender stops after about 30 state saves. */
export interface UpdateLimits {
  /** Saves of one job's record before StateLoopDetected. */
  readonly maxStateSaves: number;
  /** Agent starts within one job before StateLoopDetected. */
  readonly maxStarts: number;
  /** Retries of a retryable failure when the job document gives none. */
  readonly defaultMaxRetries: number;
  /** Progress reports: at most one per this many ms… */
  readonly progressIntervalMs: number;
  /** …and only after this many percent moved. */
  readonly progressPercentStep: number;
}

export const DEFAULT_UPDATE_LIMITS: UpdateLimits = {
  maxStateSaves: 30,
  maxStarts: 10,
  defaultMaxRetries: 3,
  progressIntervalMs: 5_000,
  progressPercentStep: 10,
};

/** How the flow tells the Jobs service where it is (durably, through the journal). */
export interface JobStatusSink {
  report(update: QueuedJobUpdate): Promise<number>;
  delivered(id: number): Promise<JobUpdateOutcome>;
  /** The job document as the Jobs service holds it now (for a refreshed presigned URL). */
  describeDocument(jobId: string): Promise<unknown>;
}

/** Everything the actions use. */
export interface UpdateContext {
  /**
   * The component `slots` and `installer` update: `application` (the A/B slots of the configuration), or `agent`
   * (the agent's own slots, when it runs under the self-update launcher). A job for another component is refused.
   */
  readonly component: OtaComponent;
  readonly device: DeviceFacts;
  readonly journal: AgentJournal;
  readonly slots: SlotBackend;
  readonly fetcher: BundleFetcher;
  readonly installer: BundleInstaller;
  readonly health: HealthCheckRunner;
  readonly supervisor: ApplicationSupervisor;
  readonly status: JobStatusSink;
  readonly clock: AgentClock;
  readonly logger: Logger;
  readonly onStep: StepHook;
  readonly limits: UpdateLimits;
  /** Whether the MQTT connection is up now (an agent update must reach the broker to pass). */
  readonly brokerConnected: () => boolean;
  /** Told of the phase as it changes (the status snapshot for health reports and the shadow). */
  readonly onPhase: (jobId: string, phase: OtaPhase, extra: { toVersion?: string; progress?: number }) => void;
}

export type { OtaReasonCode };
