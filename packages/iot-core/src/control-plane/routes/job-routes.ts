import type { JobsControlPlane } from '../../service-contracts.js';
import { toWire } from '../aws-reply.js';
import type { ControlPlaneApp } from '../control-plane-app.js';
import {
  UpdateEventConfigurationsBody,
  CreateJobTemplateBody,
  JobTemplateParams,
  ListJobTemplatesQuery,
  AssociateTargetsWithJobBody,
  ListJobExecutionsForThingQuery,
  ThingNameOnlyParams,
  CancelJobBody,
  CancelJobExecutionBody,
  CreateJobBody,
  DeleteJobQuery,
  DescribeJobExecutionQuery,
  DescribeJobQuery,
  ForceQuery,
  JobExecutionParams,
  JobIdParams,
  ListJobExecutionsForJobQuery,
  ListJobsQuery,
  NamespaceQuery,
  UpdateJobBody,
} from '../schemas/jobs-schemas.js';

/** Jobs control-plane operations; unit outputs answer 200 with an empty JSON object. */
export function registerJobRoutes(app: ControlPlaneApp, jobs: JobsControlPlane): void {
  app.put('/jobs/:jobId', { schema: { params: JobIdParams, body: CreateJobBody } }, async (req) =>
    toWire(await jobs.createJob({ jobId: req.params.jobId, ...req.body })),
  );
  app.get('/jobs/:jobId', { schema: { params: JobIdParams, querystring: DescribeJobQuery } }, (req) =>
    toWire(jobs.describeJob({ jobId: req.params.jobId, ...req.query })),
  );
  app.patch(
    '/jobs/:jobId',
    { schema: { params: JobIdParams, querystring: NamespaceQuery, body: UpdateJobBody } },
    async (req) => {
      await jobs.updateJob({ jobId: req.params.jobId, ...req.query, ...req.body });
      return {};
    },
  );
  app.put(
    '/jobs/:jobId/cancel',
    { schema: { params: JobIdParams, querystring: ForceQuery, body: CancelJobBody } },
    async (req) => toWire(await jobs.cancelJob({ jobId: req.params.jobId, ...req.query, ...req.body })),
  );
  app.delete('/jobs/:jobId', { schema: { params: JobIdParams, querystring: DeleteJobQuery } }, async (req) => {
    await jobs.deleteJob({ jobId: req.params.jobId, ...req.query });
    return {};
  });
  app.get('/jobs', { schema: { querystring: ListJobsQuery } }, (req) => toWire(jobs.listJobs(req.query)));
  app.get(
    '/jobs/:jobId/things',
    { schema: { params: JobIdParams, querystring: ListJobExecutionsForJobQuery } },
    (req) => toWire(jobs.listJobExecutionsForJob({ jobId: req.params.jobId, ...req.query })),
  );
  app.get(
    '/things/:thingName/jobs/:jobId',
    { schema: { params: JobExecutionParams, querystring: DescribeJobExecutionQuery } },
    (req) => toWire(jobs.describeJobExecution({ ...req.params, ...req.query })),
  );
  app.put(
    '/things/:thingName/jobs/:jobId/cancel',
    { schema: { params: JobExecutionParams, querystring: ForceQuery, body: CancelJobExecutionBody } },
    async (req) => {
      await jobs.cancelJobExecution({ ...req.params, ...req.query, ...req.body });
      return {};
    },
  );
  app.post(
    '/jobs/:jobId/targets',
    { schema: { params: JobIdParams, querystring: NamespaceQuery, body: AssociateTargetsWithJobBody } },
    async (req) => toWire(await jobs.associateTargetsWithJob({ jobId: req.params.jobId, ...req.query, ...req.body })),
  );
  app.get(
    '/things/:thingName/jobs',
    { schema: { params: ThingNameOnlyParams, querystring: ListJobExecutionsForThingQuery } },
    (req) => toWire(jobs.listJobExecutionsForThing({ thingName: req.params.thingName, ...req.query })),
  );
  app.get('/jobs/:jobId/job-document', { schema: { params: JobIdParams, querystring: DescribeJobQuery } }, (req) =>
    toWire(jobs.getJobDocument({ jobId: req.params.jobId, ...req.query })),
  );
  app.put(
    '/job-templates/:jobTemplateId',
    { schema: { params: JobTemplateParams, body: CreateJobTemplateBody } },
    (req) => toWire(jobs.createJobTemplate({ jobTemplateId: req.params.jobTemplateId, ...req.body })),
  );
  app.get('/job-templates/:jobTemplateId', { schema: { params: JobTemplateParams } }, (req) =>
    toWire(jobs.describeJobTemplate({ jobTemplateId: req.params.jobTemplateId })),
  );
  app.get('/job-templates', { schema: { querystring: ListJobTemplatesQuery } }, (req) =>
    toWire(jobs.listJobTemplates(req.query)),
  );
  app.delete('/job-templates/:jobTemplateId', { schema: { params: JobTemplateParams } }, (req) => {
    jobs.deleteJobTemplate({ jobTemplateId: req.params.jobTemplateId });
    return {};
  });
  app.patch('/event-configurations', { schema: { body: UpdateEventConfigurationsBody } }, (req) => {
    jobs.updateEventConfigurations(req.body);
    return {};
  });
  app.get('/event-configurations', () => toWire(jobs.describeEventConfigurations()));
}
