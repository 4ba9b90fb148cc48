import {
  CreateJobCommand,
  CreateJobTemplateCommand,
  CreateThingCommand,
  DeleteJobTemplateCommand,
  DescribeJobCommand,
  DescribeJobTemplateCommand,
  GetJobDocumentCommand,
  ListJobTemplatesCommand,
} from '@aws-sdk/client-iot';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCOUNT_ID,
  failure,
  REGION,
  startControlPlane,
  type ControlPlaneFixture,
} from '../src/testing/control-plane-fixture.js';

let cp: ControlPlaneFixture;
beforeEach(async () => {
  cp = await startControlPlane();
  await cp.iot.send(new CreateThingCommand({ thingName: 'dev-1' }));
});
afterEach(async () => {
  await cp.close();
});

const thing = (name: string): string => `arn:aws:iot:${REGION}:${ACCOUNT_ID}:thing/${name}`;
const templateArn = (id: string): string => `arn:aws:iot:${REGION}:${ACCOUNT_ID}:jobtemplate/${id}`;
const document = JSON.stringify({ operation: 'ota', version: '2.0.0' });
const rollout = { maximumPerMinute: 5 };

describe('job templates through @aws-sdk/client-iot', () => {
  it('creates, describes, lists and deletes a template', async () => {
    const created = await cp.iot.send(
      new CreateJobTemplateCommand({
        jobTemplateId: 'ota-v2',
        description: 'OTA to 2.0.0',
        document,
        jobExecutionsRolloutConfig: rollout,
        timeoutConfig: { inProgressTimeoutInMinutes: 30 },
        maintenanceWindows: [{ startTime: 'cron(0 2 ? * SUN *)', durationInMinutes: 60 }],
      }),
    );
    expect(created).toMatchObject({ jobTemplateId: 'ota-v2', jobTemplateArn: templateArn('ota-v2') });
    const described = await cp.iot.send(new DescribeJobTemplateCommand({ jobTemplateId: 'ota-v2' }));
    expect(described).toMatchObject({
      jobTemplateId: 'ota-v2',
      jobTemplateArn: templateArn('ota-v2'),
      description: 'OTA to 2.0.0',
      document,
      jobExecutionsRolloutConfig: rollout,
      timeoutConfig: { inProgressTimeoutInMinutes: 30 },
      maintenanceWindows: [{ startTime: 'cron(0 2 ? * SUN *)', durationInMinutes: 60 }],
    });
    expect(described.createdAt).toBeInstanceOf(Date);

    await cp.iot.send(new CreateJobTemplateCommand({ jobTemplateId: 'second', description: 'x', document }));
    const page1 = await cp.iot.send(new ListJobTemplatesCommand({ maxResults: 1 }));
    expect(page1.jobTemplates?.map((t) => t.jobTemplateId)).toEqual(['ota-v2']);
    const page2 = await cp.iot.send(new ListJobTemplatesCommand({ maxResults: 1, nextToken: page1.nextToken }));
    expect(page2.jobTemplates?.map((t) => t.jobTemplateId)).toEqual(['second']);
    expect(page2.nextToken).toBeUndefined();

    await cp.iot.send(new DeleteJobTemplateCommand({ jobTemplateId: 'second' }));
    expect(await failure(cp.iot.send(new DescribeJobTemplateCommand({ jobTemplateId: 'second' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
    });
    expect(await failure(cp.iot.send(new DeleteJobTemplateCommand({ jobTemplateId: 'second' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
    });
  });

  it('CreateJob with jobTemplateArn takes the template’s document and configuration; request members win', async () => {
    await cp.iot.send(
      new CreateJobTemplateCommand({
        jobTemplateId: 't',
        description: 'd',
        document,
        jobExecutionsRolloutConfig: rollout,
        timeoutConfig: { inProgressTimeoutInMinutes: 30 },
      }),
    );
    await cp.iot.send(
      new CreateJobCommand({
        jobId: 'from-t',
        targets: [thing('dev-1')],
        jobTemplateArn: templateArn('t'),
        timeoutConfig: { inProgressTimeoutInMinutes: 5 },
      }),
    );
    const { job } = await cp.iot.send(new DescribeJobCommand({ jobId: 'from-t' }));
    expect(job).toMatchObject({
      jobExecutionsRolloutConfig: rollout,
      timeoutConfig: { inProgressTimeoutInMinutes: 5 },
    });
    expect((await cp.iot.send(new GetJobDocumentCommand({ jobId: 'from-t' }))).document).toBe(document);

    // A template made from that job copies its document and configuration.
    await cp.iot.send(
      new CreateJobTemplateCommand({
        jobTemplateId: 'from-job',
        description: 'copy',
        jobArn: `arn:aws:iot:${REGION}:${ACCOUNT_ID}:job/from-t`,
      }),
    );
    expect(await cp.iot.send(new DescribeJobTemplateCommand({ jobTemplateId: 'from-job' }))).toMatchObject({
      document,
      timeoutConfig: { inProgressTimeoutInMinutes: 5 },
    });
  });

  it.each([
    ['a duplicate id', { jobTemplateId: 'dup', description: 'd', document }, 'ConflictException', 409],
    ['no document nor jobArn', { jobTemplateId: 'n', description: 'd' }, 'InvalidRequestException', 400],
    [
      'a document that is not JSON',
      { jobTemplateId: 'n', description: 'd', document: '{' },
      'InvalidRequestException',
      400,
    ],
    ['a bad id', { jobTemplateId: 'bad id', description: 'd', document }, 'InvalidRequestException', 400],
    [
      'an unknown jobArn',
      { jobTemplateId: 'n', description: 'd', jobArn: `arn:aws:iot:${REGION}:${ACCOUNT_ID}:job/ghost` },
      'ResourceNotFoundException',
      404,
    ],
    [
      'an out-of-range rollout',
      { jobTemplateId: 'n', description: 'd', document, jobExecutionsRolloutConfig: { maximumPerMinute: 0 } },
      'InvalidRequestException',
      400,
    ],
  ])('CreateJobTemplate refuses %s', async (_, input, name, status) => {
    await cp.iot.send(new CreateJobTemplateCommand({ jobTemplateId: 'dup', description: 'd', document }));
    expect(await failure(cp.iot.send(new CreateJobTemplateCommand(input)))).toMatchObject({ name, status });
    const listed = await cp.iot.send(new ListJobTemplatesCommand({}));
    expect(listed.jobTemplates?.map((t) => t.jobTemplateId)).toEqual(['dup']);
  });

  it('CreateJob refuses an unknown or malformed jobTemplateArn, and documentParameters with a custom template', async () => {
    await cp.iot.send(new CreateJobTemplateCommand({ jobTemplateId: 't', description: 'd', document }));
    const create = (extra: Record<string, unknown>) =>
      failure(cp.iot.send(new CreateJobCommand({ jobId: 'j', targets: [thing('dev-1')], ...extra })));
    expect(await create({ jobTemplateArn: templateArn('ghost') })).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
    });
    expect(await create({ jobTemplateArn: 'arn:aws:iot:eu-west-1:999999999999:jobtemplate/t' })).toMatchObject({
      name: 'InvalidRequestException',
      status: 400,
    });
    expect(await create({ jobTemplateArn: templateArn('t'), documentParameters: { version: '2' } })).toMatchObject({
      name: 'InvalidRequestException',
      status: 400,
    });
    expect(await failure(cp.iot.send(new DescribeJobCommand({ jobId: 'j' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});
