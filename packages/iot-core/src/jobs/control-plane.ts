import type {
  JobExecutionSummary,
  CancelJobExecutionRequest,
  CancelJobRequest,
  CancelJobResponse,
  CreateJobRequest,
  CreateJobResponse,
  DeleteJobRequest,
  DescribeJobExecutionRequest,
  DescribeJobExecutionResponse,
  DescribeJobRequest,
  DescribeJobResponse,
  JobExecution,
  ListJobExecutionsForJobRequest,
  ListJobExecutionsForJobResponse,
  ListJobsRequest,
  ListJobsResponse,
  UpdateJobRequest,
} from '@aws-sdk/client-iot';
import { executionTransition, isTerminalStatus, jobTransition } from '@otafleet/protocol';
import { AwsServiceError } from '../aws-error.js';
import { jobArn, thingArn, type ArnContext, type ThingRegistryView } from '../registry-types.js';
import type { JobsControlPlane } from '../service-contracts.js';
import {
  CancelJobExecutionSchema,
  CancelJobSchema,
  CreateJobSchema,
  DeleteJobSchema,
  DescribeJobExecutionSchema,
  JobIdOnlySchema,
  ListJobExecutionsForJobSchema,
  ListJobsSchema,
  UpdateJobSchema,
  validated,
} from './control-validation.js';
import type { JobsEngine, TxChanges } from './engine.js';
import { JOB_CONFIG_KEYS } from './job-config-schema.js';
import { checkedScheduling, initialJobStatus, scheduleMembers, type JobScheduler } from './job-schedule.js';
import { checkedDocument } from './job-document.js';
import type { ExecutionRecord, JobConfig, JobRecord } from './model.js';
import type { MaintenanceWindowInput } from './scheduling/index.js';
import { jobProcessDetails, resolveTargets, targetsGroup } from './targets.js';
import { offsetCursorTokens } from '../page-token.js';

/** What CreateJob takes from a job template. */
export interface JobTemplateContent {
  readonly documentText: string;
  readonly config: JobConfig;
  readonly maintenanceWindows: readonly MaintenanceWindowInput[] | undefined;
}

/** Runs `fn` in one SQLite transaction, then publishes what it produced; resolves after the commit. */
export type Transact = <T>(fn: (tx: TxChanges) => T) => Promise<T>;

const notFound = (what: string): AwsServiceError => new AwsServiceError('ResourceNotFoundException', 404, what);
const date = (ms: number | undefined): Date | undefined => (ms === undefined ? undefined : new Date(ms));

const parseCreateJob = validated(CreateJobSchema);
const parseUpdateJob = validated(UpdateJobSchema);
const parseCancelJob = validated(CancelJobSchema);
const parseDeleteJob = validated(DeleteJobSchema);
const parseJobIdOnly = validated(JobIdOnlySchema);
const parseCancelExecution = validated(CancelJobExecutionSchema);
const parseDescribeExecution = validated(DescribeJobExecutionSchema);
const parseListJobs = validated(ListJobsSchema);
const parseListExecutions = validated(ListJobExecutionsForJobSchema);

const listJobsTokens = offsetCursorTokens('ListJobs');
const listExecutionsTokens = offsetCursorTokens('ListJobExecutionsForJob');

/** The control-plane half of the Jobs service (what the HTTP API's CreateJob, DescribeJob, … call). */
export function createJobsControlPlane(deps: {
  readonly engine: JobsEngine;
  readonly registry: ThingRegistryView;
  readonly arn: ArnContext;
  readonly transact: Transact;
  readonly scheduler: JobScheduler;
  /** The custom job template a CreateJob's jobTemplateArn names (or a 400/404 AwsServiceError). */
  readonly templateForArn: (templateArn: string) => JobTemplateContent;
}): Omit<
  JobsControlPlane,
  | 'associateTargetsWithJob'
  | 'listJobExecutionsForThing'
  | 'getJobDocument'
  | 'createJobTemplate'
  | 'describeJobTemplate'
  | 'listJobTemplates'
  | 'deleteJobTemplate'
  | 'updateEventConfigurations'
  | 'describeEventConfigurations'
> {
  const { engine, registry, arn, transact, scheduler } = deps;
  const store = engine.store;
  const mustJob = (jobId: string): JobRecord => {
    const job = store.job(jobId);
    if (job === undefined) throw notFound(`Job ${jobId} does not exist`);
    return job;
  };

  return {
    async createJob(input: CreateJobRequest): Promise<CreateJobResponse> {
      const req = parseCreateJob(input);
      const unsupported = UNSUPPORTED_CREATE_JOB_MEMBERS.filter((k) => input[k] !== undefined);
      if (unsupported.length > 0)
        throw new AwsServiceError(
          'InvalidRequestException',
          400,
          `${unsupported.join(', ')} ${unsupported.length === 1 ? 'is' : 'are'} not supported by the local Jobs service; remove ${unsupported.length === 1 ? 'it' : 'them'} or use AWS IoT`,
        );
      if (req.documentSource !== undefined)
        throw new AwsServiceError(
          'InvalidRequestException',
          400,
          'documentSource is not supported here: send the job document inline as document',
        );
      // documentParameters fill in AWS managed templates only: "This parameter can't be used with custom job
      // templates or to create jobs from them." This core has no managed templates.
      if (req.documentParameters !== undefined)
        throw new AwsServiceError(
          'InvalidRequestException',
          400,
          'documentParameters can be used only with AWS managed job templates, which the local core does not have',
        );
      const template = req.jobTemplateArn !== undefined ? deps.templateForArn(req.jobTemplateArn) : undefined;
      const documentText = req.document ?? template?.documentText;
      if (documentText === undefined)
        throw new AwsServiceError(
          'InvalidRequestException',
          400,
          'Either document, documentSource or jobTemplateArn must be specified',
        );
      const schedulingConfig =
        req.schedulingConfig ??
        (template?.maintenanceWindows !== undefined ? { maintenanceWindows: template.maintenanceWindows } : undefined);
      checkedDocument(documentText);
      if (store.job(req.jobId) !== undefined)
        throw new AwsServiceError('ResourceAlreadyExistsException', 409, `Job ${req.jobId} already exists`);
      const schedule = schedulingConfig && checkedScheduling(schedulingConfig, engine.now());
      const things = resolveTargets(registry, arn, req.targets);
      // Members given in the request win over the template's.
      const config: JobConfig = { ...template?.config, ...pickJobConfig(req) };
      await transact((tx) => {
        store.insertJob({
          jobId: req.jobId,
          status: initialJobStatus(schedule, engine.now()),
          scheduling: schedulingConfig,
          targetSelection: req.targetSelection ?? 'SNAPSHOT',
          targets: req.targets,
          documentText,
          description: req.description,
          config,
          rate: initialRate(config),
          now: engine.now(),
        });
        for (const thingName of things) engine.createExecution(tx, req.jobId, thingName, 1, false);
        engine.release(tx, req.jobId);
        tx.touchedJobs.add(req.jobId);
      });
      if (schedule !== undefined) scheduler.wake();
      return {
        jobArn: jobArn(arn, req.jobId),
        jobId: req.jobId,
        ...(req.description !== undefined ? { description: req.description } : {}),
      };
    },

    describeJob(input: DescribeJobRequest): DescribeJobResponse {
      const job = mustJob(parseJobIdOnly(input).jobId);
      const c = job.config;
      return {
        job: {
          jobArn: jobArn(arn, job.jobId),
          jobId: job.jobId,
          targetSelection: job.targetSelection,
          status: job.status,
          forceCanceled: job.forceCanceled,
          ...(job.reasonCode !== undefined ? { reasonCode: job.reasonCode } : {}),
          ...(job.comment !== undefined ? { comment: job.comment } : {}),
          targets: [...job.targets],
          ...(job.description !== undefined ? { description: job.description } : {}),
          ...(c.presignedUrlConfig !== undefined ? { presignedUrlConfig: { ...c.presignedUrlConfig } } : {}),
          ...(c.jobExecutionsRolloutConfig !== undefined
            ? { jobExecutionsRolloutConfig: structuredClone(c.jobExecutionsRolloutConfig) }
            : {}),
          ...(c.abortConfig !== undefined
            ? { abortConfig: { criteriaList: c.abortConfig.criteriaList.map((x) => ({ ...x })) } }
            : {}),
          ...(c.timeoutConfig !== undefined ? { timeoutConfig: { ...c.timeoutConfig } } : {}),
          ...(c.jobExecutionsRetryConfig !== undefined
            ? {
                jobExecutionsRetryConfig: {
                  criteriaList: c.jobExecutionsRetryConfig.criteriaList.map((x) => ({ ...x })),
                },
              }
            : {}),
          ...scheduleMembers(job, engine.now()),
          createdAt: new Date(job.createdAt),
          lastUpdatedAt: new Date(job.lastUpdatedAt),
          ...(job.completedAt !== undefined ? { completedAt: new Date(job.completedAt) } : {}),
          jobProcessDetails: jobProcessDetails(
            job,
            store.countsOfJob(job.jobId),
            store.unreleased(job.jobId, 1).length > 0,
          ),
          isConcurrent: false,
        },
      };
    },

    async updateJob(input: UpdateJobRequest): Promise<void> {
      const req = parseUpdateJob(input);
      const job = mustJob(req.jobId);
      await transact((tx) => {
        const config: JobConfig = { ...job.config, ...pickJobConfig(req) };
        const rollout =
          req.jobExecutionsRolloutConfig !== undefined ? { ...job.rollout, rate: initialRate(config) } : job.rollout;
        store.saveJob({
          ...job,
          config,
          rollout,
          description: req.description ?? job.description,
          lastUpdatedAt: engine.now(),
        });
        engine.release(tx, job.jobId);
        tx.touchedJobs.add(job.jobId);
      });
    },

    async cancelJob(input: CancelJobRequest): Promise<CancelJobResponse> {
      const req = parseCancelJob(input);
      const job = mustJob(req.jobId);
      if (jobTransition(job.status, 'cancel') === undefined)
        throw new AwsServiceError(
          'InvalidRequestException',
          400,
          `Job ${job.jobId} is already ${job.status} and cannot be canceled`,
        );
      const force = req.force === true;
      await transact((tx) => {
        engine.cancelJob(tx, job, { force, reasonCode: req.reasonCode, comment: req.comment });
      });
      return {
        jobArn: jobArn(arn, job.jobId),
        jobId: job.jobId,
        ...(job.description !== undefined ? { description: job.description } : {}),
      };
    },

    async deleteJob(input: DeleteJobRequest): Promise<void> {
      const req = parseDeleteJob(input);
      const job = mustJob(req.jobId);
      const executions = store.executionsOfJob(job.jobId);
      // "You can only delete a job that's in a terminal state (COMPLETED or CANCELED)" unless force is set;
      // pending executions likewise need force. https://docs.aws.amazon.com/iot/latest/apireference/API_DeleteJob.html
      const event = req.force === true ? 'force-delete' : 'delete';
      if (jobTransition(job.status, event) === undefined)
        throw new AwsServiceError(
          'InvalidStateTransitionException',
          409,
          `Job ${job.jobId} is ${job.status}; set force to delete it`,
        );
      const blocking = executions.find((e) => executionTransition(e.status, event) === undefined);
      if (blocking !== undefined)
        throw new AwsServiceError(
          'InvalidStateTransitionException',
          409,
          `Job ${job.jobId} is ${job.status} but has ${blocking.status} executions; set force to delete it`,
        );
      await transact((tx) => {
        for (const e of executions) if (e.released && !isTerminalStatus(e.status)) engine.touchThing(tx, e.thingName);
        engine.jobEnded(tx, job, 'deleted');
        store.deleteJob(job.jobId);
      });
    },

    listJobs(input: ListJobsRequest): ListJobsResponse {
      const req = parseListJobs(input);
      // A token continues the listing with the same filters only.
      const filters = JSON.stringify([req.status, req.targetSelection, req.thingGroupName]);
      const offset = listJobsTokens.decode(req.nextToken, filters) ?? 0;
      const limit = req.maxResults ?? 50;
      const matching = store
        .allJobs()
        .filter((j) => req.status === undefined || j.status === req.status)
        .filter((j) => req.targetSelection === undefined || j.targetSelection === req.targetSelection)
        .filter((j) => req.thingGroupName === undefined || targetsGroup(registry, j, req.thingGroupName));
      const page = matching.slice(offset, offset + limit);
      return {
        jobs: page.map((j) => ({
          jobArn: jobArn(arn, j.jobId),
          jobId: j.jobId,
          targetSelection: j.targetSelection,
          status: j.status,
          createdAt: new Date(j.createdAt),
          lastUpdatedAt: new Date(j.lastUpdatedAt),
          ...(j.completedAt !== undefined ? { completedAt: new Date(j.completedAt) } : {}),
          isConcurrent: false,
        })),
        ...(offset + limit < matching.length ? { nextToken: listJobsTokens.encode(offset + limit, filters) } : {}),
      };
    },

    listJobExecutionsForJob(input: ListJobExecutionsForJobRequest): ListJobExecutionsForJobResponse {
      const req = parseListExecutions(input);
      mustJob(req.jobId);
      const scope = JSON.stringify([req.jobId, req.status]);
      const offset = listExecutionsTokens.decode(req.nextToken, scope) ?? 0;
      const limit = req.maxResults ?? 50;
      const page = store.pageOfJob(req.jobId, req.status, offset, limit + 1);
      return {
        executionSummaries: page.slice(0, limit).map((e) => ({
          thingArn: registry.getThing(e.thingName)?.thingArn ?? thingArn(arn, e.thingName),
          jobExecutionSummary: jobExecutionSummaryOf(e),
        })),
        ...(page.length > limit ? { nextToken: listExecutionsTokens.encode(offset + limit, scope) } : {}),
      };
    },

    describeJobExecution(input: DescribeJobExecutionRequest): DescribeJobExecutionResponse {
      const req = parseDescribeExecution(input);
      mustJob(req.jobId);
      const e = store.execution(req.jobId, req.thingName, req.executionNumber);
      if (e === undefined) throw notFound(`No job execution of job ${req.jobId} for thing ${req.thingName}`);
      const execution: JobExecution = {
        jobId: e.jobId,
        status: e.status,
        forceCanceled: e.forceCanceled,
        statusDetails: { detailsMap: { ...(e.statusDetails ?? {}) } },
        thingArn: registry.getThing(e.thingName)?.thingArn ?? thingArn(arn, e.thingName),
        queuedAt: new Date(e.queuedAt),
        ...(e.startedAt !== undefined ? { startedAt: date(e.startedAt) } : {}),
        lastUpdatedAt: new Date(e.lastUpdatedAt),
        executionNumber: e.executionNumber,
        versionNumber: e.versionNumber,
      };
      return { execution };
    },

    async cancelJobExecution(input: CancelJobExecutionRequest): Promise<void> {
      const req = parseCancelExecution(input);
      mustJob(req.jobId);
      const e = store.execution(req.jobId, req.thingName);
      if (e === undefined) throw notFound(`No job execution of job ${req.jobId} for thing ${req.thingName}`);
      if (req.expectedVersion !== undefined && req.expectedVersion !== e.versionNumber)
        throw new AwsServiceError(
          'VersionConflictException',
          409,
          `The job execution is at version ${e.versionNumber}, not ${req.expectedVersion}`,
        );
      const event = req.force === true ? 'force-cancel' : 'cancel';
      if (executionTransition(e.status, event) === undefined)
        throw new AwsServiceError(
          'InvalidStateTransitionException',
          409,
          executionTransition(e.status, 'force-cancel') !== undefined
            ? `The job execution is ${e.status}; set force to cancel it`
            : `The job execution is already ${e.status}`,
        );
      await transact((tx) => {
        engine.changeStatus(tx, e, { event, statusDetails: req.statusDetails });
      });
    },
  };
}

/** CreateJob members this service does not implement: refused rather than silently ignored. */
const UNSUPPORTED_CREATE_JOB_MEMBERS = [
  'destinationPackageVersions',
  'namespaceId',
] as const satisfies readonly (keyof CreateJobRequest)[];

/** The control plane's JobExecutionSummary of an execution (ListJobExecutionsForJob / ForThing). */
export const jobExecutionSummaryOf = (e: ExecutionRecord): JobExecutionSummary => ({
  status: e.status,
  queuedAt: new Date(e.queuedAt),
  ...(e.startedAt !== undefined ? { startedAt: new Date(e.startedAt) } : {}),
  lastUpdatedAt: new Date(e.lastUpdatedAt),
  executionNumber: e.executionNumber,
  retryAttempt: e.executionNumber - 1,
});

/** Executions per minute a rollout starts at; undefined = no limit. */
export function initialRate(config: JobConfig): number | undefined {
  const r = config.jobExecutionsRolloutConfig;
  if (r?.exponentialRate !== undefined)
    return Math.min(r.exponentialRate.baseRatePerMinute, r.maximumPerMinute ?? 1000);
  return r?.maximumPerMinute;
}

/** The job-level configuration members a CreateJob or UpdateJob request carries (absent ones left out). */
function pickJobConfig(req: Partial<JobConfig>): JobConfig {
  const config: JobConfig = {};
  for (const key of JOB_CONFIG_KEYS) if (req[key] !== undefined) Object.assign(config, { [key]: req[key] });
  return config;
}
