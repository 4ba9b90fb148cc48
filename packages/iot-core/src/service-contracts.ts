import type {
  DescribeEventConfigurationsResponse,
  UpdateEventConfigurationsRequest,
  CreateJobTemplateRequest,
  CreateJobTemplateResponse,
  DeleteJobTemplateRequest,
  DescribeJobTemplateRequest,
  DescribeJobTemplateResponse,
  ListJobTemplatesRequest,
  ListJobTemplatesResponse,
  AssociateTargetsWithJobRequest,
  AssociateTargetsWithJobResponse,
  GetJobDocumentRequest,
  GetJobDocumentResponse,
  ListJobExecutionsForThingRequest,
  ListJobExecutionsForThingResponse,
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
  ListJobExecutionsForJobRequest,
  ListJobExecutionsForJobResponse,
  ListJobsRequest,
  ListJobsResponse,
  UpdateJobRequest,
} from '@aws-sdk/client-iot';

/**
 * What the control-plane HTTP API needs from the Shadow and Jobs services. Shapes are the AWS SDK's own
 * request/response types (timestamps as Date); the HTTP layer converts them to and from the restJson1
 * wire format. Failures are thrown as AwsServiceError (see aws-error.ts).
 */
export interface ShadowControlPlane {
  /** GetThingShadow: the shadow document as AWS returns it (state incl. delta, metadata, version, timestamp). */
  getThingShadow(thingName: string, shadowName: string | undefined): Buffer;
  /** UpdateThingShadow: the /update/accepted document. Also publishes accepted/delta/documents over MQTT. */
  updateThingShadow(thingName: string, shadowName: string | undefined, payload: Buffer): Promise<Buffer>;
  /** DeleteThingShadow: `{version, timestamp}`. Also publishes /delete/accepted over MQTT. */
  deleteThingShadow(thingName: string, shadowName: string | undefined): Promise<Buffer>;
  listNamedShadowsForThing(
    thingName: string,
    page: { readonly nextToken?: string; readonly pageSize?: number },
  ): { results: string[]; nextToken?: string; timestamp: number };
}

export interface JobsControlPlane {
  createJob(input: CreateJobRequest): Promise<CreateJobResponse>;
  describeJob(input: DescribeJobRequest): DescribeJobResponse;
  updateJob(input: UpdateJobRequest): Promise<void>;
  cancelJob(input: CancelJobRequest): Promise<CancelJobResponse>;
  deleteJob(input: DeleteJobRequest): Promise<void>;
  listJobs(input: ListJobsRequest): ListJobsResponse;
  listJobExecutionsForJob(input: ListJobExecutionsForJobRequest): ListJobExecutionsForJobResponse;
  describeJobExecution(input: DescribeJobExecutionRequest): DescribeJobExecutionResponse;
  cancelJobExecution(input: CancelJobExecutionRequest): Promise<void>;
  associateTargetsWithJob(input: AssociateTargetsWithJobRequest): Promise<AssociateTargetsWithJobResponse>;
  listJobExecutionsForThing(input: ListJobExecutionsForThingRequest): ListJobExecutionsForThingResponse;
  getJobDocument(input: GetJobDocumentRequest): GetJobDocumentResponse;
  createJobTemplate(input: CreateJobTemplateRequest): CreateJobTemplateResponse;
  describeJobTemplate(input: DescribeJobTemplateRequest): DescribeJobTemplateResponse;
  listJobTemplates(input: ListJobTemplatesRequest): ListJobTemplatesResponse;
  deleteJobTemplate(input: DeleteJobTemplateRequest): void;
  /** Event configurations switch the `$aws/events/...` messages (persisted; all off until enabled). */
  updateEventConfigurations(input: UpdateEventConfigurationsRequest): void;
  describeEventConfigurations(): DescribeEventConfigurationsResponse;
}
