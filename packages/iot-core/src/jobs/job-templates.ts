import type {
  CreateJobTemplateRequest,
  CreateJobTemplateResponse,
  DeleteJobTemplateRequest,
  DescribeJobTemplateRequest,
  DescribeJobTemplateResponse,
  ListJobTemplatesRequest,
  ListJobTemplatesResponse,
} from '@aws-sdk/client-iot';
import { AwsServiceError } from '../aws-error.js';
import type { Db } from '../db.js';
import type { ArnContext } from '../registry-types.js';
import { JOB_ID, JOB_TEMPLATE_ID } from '@otafleet/protocol';
import { offsetCursorTokens } from '../page-token.js';

const templateTokens = offsetCursorTokens('ListJobTemplates');
/** The job id at the end of a job ARN. */
const JOB_ARN_ID = new RegExp(`:job/(${JOB_ID.chars}{${JOB_ID.minLength},${JOB_ID.maxLength}})$`);
import {
  CreateJobTemplateSchema,
  JobTemplateIdOnlySchema,
  ListJobTemplatesSchema,
  validated,
} from './control-validation.js';
import { JOB_CONFIG_KEYS, type JobConfig } from './job-config-schema.js';
import { checkedDocument } from './job-document.js';
import type { JobsStore } from './store.js';
import type { MaintenanceWindowInput } from './scheduling/index.js';

/** A custom job template: what CreateJob with jobTemplateArn starts from. */
export interface JobTemplate {
  readonly jobTemplateId: string;
  readonly description: string;
  readonly documentText: string;
  readonly config: JobConfig;
  readonly maintenanceWindows: readonly MaintenanceWindowInput[] | undefined;
  readonly createdAt: number;
}

export const jobTemplateArn = (c: ArnContext, id: string): string =>
  `arn:aws:iot:${c.region}:${c.accountId}:jobtemplate/${id}`;

interface TemplateRow {
  template_id: string;
  description: string;
  document: string;
  config: string;
  maintenance_windows: string | null;
  created_at: number;
}

const toTemplate = (r: TemplateRow): JobTemplate => ({
  jobTemplateId: r.template_id,
  description: r.description,
  documentText: r.document,
  config: JSON.parse(r.config) as JobConfig,
  maintenanceWindows:
    r.maintenance_windows === null ? undefined : (JSON.parse(r.maintenance_windows) as MaintenanceWindowInput[]),
  createdAt: r.created_at,
});

const parseCreate = validated(CreateJobTemplateSchema);
const parseId = validated(JobTemplateIdOnlySchema);
const parseList = validated(ListJobTemplatesSchema);

const notFound = (id: string): AwsServiceError =>
  new AwsServiceError('ResourceNotFoundException', 404, `Job template ${id} does not exist`);

/**
 * CreateJobTemplate, DescribeJobTemplate, ListJobTemplates, DeleteJobTemplate, and the lookup CreateJob does
 * for jobTemplateArn. https://docs.aws.amazon.com/iot/latest/apireference/API_CreateJobTemplate.html
 */
export class JobTemplates {
  private readonly s;

  constructor(
    db: Db,
    private readonly jobs: JobsStore,
    private readonly arn: ArnContext,
    private readonly now: () => number,
  ) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO jobs_template (template_id, description, document, config, maintenance_windows, created_at)
         VALUES (@id, @description, @document, @config, @windows, @createdAt)`,
      ),
      byId: db.prepare('SELECT * FROM jobs_template WHERE template_id = ?'),
      page: db.prepare('SELECT * FROM jobs_template ORDER BY seq LIMIT ? OFFSET ?'),
      delete: db.prepare('DELETE FROM jobs_template WHERE template_id = ?'),
    };
  }

  get(id: string): JobTemplate | undefined {
    const row = this.s.byId.get(id) as TemplateRow | undefined;
    return row === undefined ? undefined : toTemplate(row);
  }

  /** The template a CreateJob's jobTemplateArn names (this account and region only). */
  forArn(templateArn: string): JobTemplate {
    const prefix = jobTemplateArn(this.arn, '');
    const id = templateArn.startsWith(prefix) ? templateArn.slice(prefix.length) : undefined;
    if (id === undefined || !JOB_TEMPLATE_ID.test(id))
      throw new AwsServiceError(
        'InvalidRequestException',
        400,
        `jobTemplateArn must look like ${prefix}<jobTemplateId>`,
      );
    const template = this.get(id);
    if (template === undefined) throw notFound(id);
    return template;
  }

  create(input: CreateJobTemplateRequest): CreateJobTemplateResponse {
    const req = parseCreate(input);
    if (req.documentSource !== undefined)
      throw new AwsServiceError(
        'InvalidRequestException',
        400,
        'documentSource is not supported here: send the job document inline as document, or give jobArn',
      );
    if ((req.document === undefined) === (req.jobArn === undefined))
      throw new AwsServiceError('InvalidRequestException', 400, 'Specify exactly one of document and jobArn');
    let documentText = req.document;
    let config: JobConfig = {};
    if (req.jobArn !== undefined) {
      // "The ARN of the job to use as the basis for the job template": its document and configuration.
      const jobId = JOB_ARN_ID.exec(req.jobArn)?.[1];
      const job = jobId === undefined ? undefined : this.jobs.job(jobId);
      if (job === undefined)
        throw new AwsServiceError('ResourceNotFoundException', 404, `Job ${req.jobArn} does not exist`);
      documentText = job.documentText;
      config = job.config;
    } else if (documentText !== undefined) checkedDocument(documentText);
    for (const key of JOB_CONFIG_KEYS) if (req[key] !== undefined) config = { ...config, [key]: req[key] };
    if (this.get(req.jobTemplateId) !== undefined)
      throw new AwsServiceError('ConflictException', 409, `Job template ${req.jobTemplateId} already exists`);
    this.s.insert.run({
      id: req.jobTemplateId,
      description: req.description,
      document: documentText ?? '{}',
      config: JSON.stringify(config),
      windows: req.maintenanceWindows === undefined ? null : JSON.stringify(req.maintenanceWindows),
      createdAt: this.now(),
    });
    return { jobTemplateArn: jobTemplateArn(this.arn, req.jobTemplateId), jobTemplateId: req.jobTemplateId };
  }

  describe(input: DescribeJobTemplateRequest): DescribeJobTemplateResponse {
    const { jobTemplateId } = parseId(input);
    const t = this.get(jobTemplateId);
    if (t === undefined) throw notFound(jobTemplateId);
    return {
      jobTemplateArn: jobTemplateArn(this.arn, t.jobTemplateId),
      jobTemplateId: t.jobTemplateId,
      description: t.description,
      document: t.documentText,
      createdAt: new Date(t.createdAt),
      ...structuredClone(t.config),
      ...(t.maintenanceWindows !== undefined
        ? { maintenanceWindows: t.maintenanceWindows.map((w) => ({ ...w })) }
        : {}),
    };
  }

  list(input: ListJobTemplatesRequest): ListJobTemplatesResponse {
    const req = parseList(input);
    const offset = templateTokens.decode(req.nextToken) ?? 0;
    const limit = req.maxResults ?? 50;
    const rows = (this.s.page.all(limit + 1, offset) as TemplateRow[]).map(toTemplate);
    return {
      jobTemplates: rows.slice(0, limit).map((t) => ({
        jobTemplateArn: jobTemplateArn(this.arn, t.jobTemplateId),
        jobTemplateId: t.jobTemplateId,
        description: t.description,
        createdAt: new Date(t.createdAt),
      })),
      ...(rows.length > limit ? { nextToken: templateTokens.encode(offset + limit) } : {}),
    };
  }

  delete(input: DeleteJobTemplateRequest): void {
    const { jobTemplateId } = parseId(input);
    if (this.s.delete.run(jobTemplateId).changes === 0) throw notFound(jobTemplateId);
  }
}
