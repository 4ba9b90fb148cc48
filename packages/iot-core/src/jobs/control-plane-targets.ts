import type {
  AssociateTargetsWithJobRequest,
  AssociateTargetsWithJobResponse,
  GetJobDocumentRequest,
  GetJobDocumentResponse,
  ListJobExecutionsForThingRequest,
  ListJobExecutionsForThingResponse,
} from '@aws-sdk/client-iot';
import { AwsServiceError } from '../aws-error.js';
import { jobArn, type ArnContext, type ThingRegistryView } from '../registry-types.js';
import { offsetCursorTokens } from '../page-token.js';
import { jobExecutionSummaryOf, type Transact } from './control-plane.js';

const forThingTokens = offsetCursorTokens('ListJobExecutionsForThing');
import {
  AssociateTargetsWithJobSchema,
  GetJobDocumentSchema,
  ListJobExecutionsForThingSchema,
  MAX_TARGETS_PER_JOB,
  validated,
} from './control-validation.js';
import type { JobsEngine } from './engine.js';
import type { JobRecord } from './model.js';
import { resolveTargets } from './targets.js';

const parseAssociate = validated(AssociateTargetsWithJobSchema);
const parseListForThing = validated(ListJobExecutionsForThingSchema);
const parseGetDocument = validated(GetJobDocumentSchema);

export interface JobTargetOperations {
  associateTargetsWithJob(input: AssociateTargetsWithJobRequest): Promise<AssociateTargetsWithJobResponse>;
  listJobExecutionsForThing(input: ListJobExecutionsForThingRequest): ListJobExecutionsForThingResponse;
  getJobDocument(input: GetJobDocumentRequest): GetJobDocumentResponse;
}

/**
 * AssociateTargetsWithJob, ListJobExecutionsForThing and GetJobDocument.
 * https://docs.aws.amazon.com/iot/latest/apireference/API_AssociateTargetsWithJob.html
 */
export function createJobTargetOperations(deps: {
  readonly engine: JobsEngine;
  readonly registry: ThingRegistryView;
  readonly arn: ArnContext;
  readonly transact: Transact;
}): JobTargetOperations {
  const { engine, registry, arn, transact } = deps;
  const store = engine.store;
  const mustJob = (jobId: string): JobRecord => {
    const job = store.job(jobId);
    if (job === undefined) throw new AwsServiceError('ResourceNotFoundException', 404, `Job ${jobId} does not exist`);
    return job;
  };

  return {
    async associateTargetsWithJob(input) {
      const req = parseAssociate(input);
      const job = mustJob(req.jobId);
      // "The job must have been created with the targetSelection field set to CONTINUOUS" and be IN_PROGRESS.
      if (job.targetSelection !== 'CONTINUOUS')
        throw new AwsServiceError(
          'InvalidRequestException',
          400,
          `Job ${job.jobId} is a SNAPSHOT job; targets can be added only to a CONTINUOUS job`,
        );
      if (job.status !== 'IN_PROGRESS' && job.status !== 'SCHEDULED')
        throw new AwsServiceError(
          'InvalidRequestException',
          400,
          `Job ${job.jobId} is ${job.status}; targets can be added only while it is IN_PROGRESS`,
        );
      const added = req.targets.filter((t, i) => !job.targets.includes(t) && req.targets.indexOf(t) === i);
      if (job.targets.length + added.length > MAX_TARGETS_PER_JOB)
        throw new AwsServiceError(
          'LimitExceededException',
          410,
          `A job has at most ${MAX_TARGETS_PER_JOB} targets: job ${job.jobId} has ${job.targets.length}, ${added.length} more requested`,
        );
      const things = resolveTargets(registry, arn, added);
      await transact((tx) => {
        const current = store.job(job.jobId) ?? job;
        store.saveJob({ ...current, targets: [...current.targets, ...added], lastUpdatedAt: engine.now() });
        for (const thingName of things)
          if (store.execution(job.jobId, thingName) === undefined)
            engine.createExecution(tx, job.jobId, thingName, 1, false);
        engine.release(tx, job.jobId);
      });
      return {
        jobArn: jobArn(arn, job.jobId),
        jobId: job.jobId,
        ...(job.description !== undefined ? { description: job.description } : {}),
      };
    },

    listJobExecutionsForThing(input) {
      const req = parseListForThing(input);
      if (registry.getThing(req.thingName) === undefined)
        throw new AwsServiceError('ResourceNotFoundException', 404, `Thing ${req.thingName} does not exist`);
      // A token continues only the listing it came from: the same thing and filters.
      const scope = JSON.stringify([req.thingName, req.status ?? null, req.jobId ?? null]);
      const offset = forThingTokens.decode(req.nextToken, scope) ?? 0;
      const limit = req.maxResults ?? 50;
      const page = store.pageOfThing(req.thingName, { status: req.status, jobId: req.jobId }, offset, limit + 1);
      return {
        executionSummaries: page.slice(0, limit).map((e) => ({
          jobId: e.jobId,
          jobExecutionSummary: jobExecutionSummaryOf(e),
        })),
        ...(page.length > limit ? { nextToken: forThingTokens.encode(offset + limit, scope) } : {}),
      };
    },

    getJobDocument(input) {
      const req = parseGetDocument(input);
      const job = mustJob(req.jobId);
      // beforeSubstitution: the document as given, placeholders and all; otherwise as a device would read it.
      if (req.beforeSubstitution === true) return { document: job.documentText };
      return { document: JSON.stringify(engine.documentFor(job.jobId) ?? job.document) };
    },
  };
}
