import { CreateJobCommand, CreateThingCommand, DescribeJobCommand, UpdateJobCommand } from '@aws-sdk/client-iot';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsServiceError } from '../src/index.js';
import type { JobsControlPlane } from '../src/service-contracts.js';
import {
  ACCOUNT_ID,
  failure,
  realServices,
  REGION,
  startControlPlane,
  type ControlPlaneFixture,
} from '../src/testing/control-plane-fixture.js';

/*
 * The job configuration members are written once (src/jobs/job-config-schema.ts): the HTTP API reached through
 * @aws-sdk/client-iot and the in-process control plane must accept and refuse exactly the same values.
 */
let cp: ControlPlaneFixture;
let jobs: JobsControlPlane;
beforeEach(async () => {
  cp = await startControlPlane(async (registry, db, arn) => {
    const svc = await realServices(registry, db, arn);
    jobs = svc.jobs;
    return svc;
  });
  await cp.iot.send(new CreateThingCommand({ thingName: 'dev-1' }));
});
afterEach(async () => {
  await cp.close();
});

const targets = [`arn:aws:iot:${REGION}:${ACCOUNT_ID}:thing/dev-1`];
const document = '{"op":"x"}';

async function inProcessFailure(p: () => Promise<unknown>): Promise<string> {
  try {
    await p();
  } catch (e) {
    if (e instanceof AwsServiceError) return e.name;
    throw e;
  }
  throw new Error('expected the call to fail');
}

const refused: readonly (readonly [string, Record<string, unknown>])[] = [
  ['maximumPerMinute 0', { jobExecutionsRolloutConfig: { maximumPerMinute: 0 } }],
  ['maximumPerMinute fractional', { jobExecutionsRolloutConfig: { maximumPerMinute: 1.5 } }],
  [
    'baseRatePerMinute 1001',
    {
      jobExecutionsRolloutConfig: {
        exponentialRate: { baseRatePerMinute: 1001, incrementFactor: 2, rateIncreaseCriteria: {} },
      },
    },
  ],
  [
    'incrementFactor 5.5',
    {
      jobExecutionsRolloutConfig: {
        exponentialRate: { baseRatePerMinute: 1, incrementFactor: 5.5, rateIncreaseCriteria: {} },
      },
    },
  ],
  [
    'thresholdPercentage 101',
    {
      abortConfig: {
        criteriaList: [
          { failureType: 'FAILED', action: 'CANCEL', thresholdPercentage: 101, minNumberOfExecutedThings: 1 },
        ],
      },
    },
  ],
  ['empty abort criteria', { abortConfig: { criteriaList: [] } }],
  ['inProgressTimeoutInMinutes 10081', { timeoutConfig: { inProgressTimeoutInMinutes: 10081 } }],
  ['numberOfRetries 11', { jobExecutionsRetryConfig: { criteriaList: [{ failureType: 'ALL', numberOfRetries: 11 }] } }],
  [
    'three retry criteria',
    {
      jobExecutionsRetryConfig: {
        criteriaList: [
          { failureType: 'FAILED', numberOfRetries: 1 },
          { failureType: 'TIMED_OUT', numberOfRetries: 1 },
          { failureType: 'ALL', numberOfRetries: 1 },
        ],
      },
    },
  ],
  ['expiresInSec 59', { presignedUrlConfig: { expiresInSec: 59 } }],
  ['expiresInSec 3601', { presignedUrlConfig: { expiresInSec: 3601 } }],
];

describe('job configuration limits, written once', () => {
  it.each(refused)('CreateJob and UpdateJob refuse %s on both paths, changing nothing', async (_, config) => {
    const sdk = await failure(cp.iot.send(new CreateJobCommand({ jobId: 'j1', targets, document, ...config })));
    expect(sdk).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    expect(await inProcessFailure(() => jobs.createJob({ jobId: 'j1', targets, document, ...config }))).toBe(
      'InvalidRequestException',
    );
    expect((await failure(cp.iot.send(new DescribeJobCommand({ jobId: 'j1' })))).name).toBe(
      'ResourceNotFoundException',
    );

    await cp.iot.send(new CreateJobCommand({ jobId: 'j2', targets, document }));
    const update = await failure(cp.iot.send(new UpdateJobCommand({ jobId: 'j2', ...config })));
    expect(update).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    expect(await inProcessFailure(() => jobs.updateJob({ jobId: 'j2', ...config }))).toBe('InvalidRequestException');
    const { job } = await cp.iot.send(new DescribeJobCommand({ jobId: 'j2' }));
    expect(job?.jobExecutionsRolloutConfig).toBeUndefined();
    expect(job?.abortConfig).toBeUndefined();
    expect(job?.timeoutConfig).toBeUndefined();
    expect(job?.jobExecutionsRetryConfig).toBeUndefined();
    expect(job?.presignedUrlConfig).toBeUndefined();
  });

  it('refuses an unknown nested member in process as over HTTP', async () => {
    const config = { timeoutConfig: { inProgressTimeoutInMinutes: 5, inProgressTimeoutInHours: 1 } };
    expect(await inProcessFailure(() => jobs.createJob({ jobId: 'j3', targets, document, ...config }))).toBe(
      'InvalidRequestException',
    );
  });

  it('accepts the boundary values on both paths, and keeps them', async () => {
    // maximumPerMinute has no documented maximum: 5000 was refused in process and accepted over HTTP before.
    const config = {
      jobExecutionsRolloutConfig: {
        maximumPerMinute: 5000,
        exponentialRate: {
          baseRatePerMinute: 1000,
          incrementFactor: 5,
          rateIncreaseCriteria: { numberOfNotifiedThings: 1 },
        },
      },
      timeoutConfig: { inProgressTimeoutInMinutes: 10080 },
      presignedUrlConfig: { expiresInSec: 3600 },
      jobExecutionsRetryConfig: { criteriaList: [{ failureType: 'ALL' as const, numberOfRetries: 10 }] },
    };
    await cp.iot.send(new CreateJobCommand({ jobId: 'sdk', targets, document, ...config }));
    await jobs.createJob({ jobId: 'local', targets, document, ...config });
    for (const jobId of ['sdk', 'local']) {
      const { job } = await cp.iot.send(new DescribeJobCommand({ jobId }));
      expect(job).toMatchObject(config);
    }
  });
});
