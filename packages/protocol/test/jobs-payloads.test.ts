import { describe, expect, it } from 'vitest';
import {
  JOBS_ERROR_MESSAGES,
  jobsError,
  jobsErrorResponse,
  JobsErrorResponseSchema,
  compileValidator,
  JobExecutionsChangedEventSchema,
  NextJobExecutionChangedEventSchema,
  parseDescribeJobExecutionRequest,
  parseGetPendingJobExecutionsRequest,
  parseJobsRequest,
  parseStartNextPendingJobExecutionRequest,
  parseUpdateJobExecutionRequest,
  MAX_JOBS_REQUEST_BYTES,
  type JobsError,
  type Result,
} from '@otafleet/protocol';

function rejected<T>(r: Result<T, JobsError>): JobsError {
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('expected an error');
  return r.error;
}

const parsers = [
  ['GetPendingJobExecutions', parseGetPendingJobExecutionsRequest],
  ['StartNextPendingJobExecution', parseStartNextPendingJobExecutionRequest],
  ['DescribeJobExecution', parseDescribeJobExecutionRequest],
  ['UpdateJobExecution', parseUpdateJobExecutionRequest],
] as const;

describe('jobs request validators', () => {
  it('accept well-formed requests, unknown members included', () => {
    expect(parseGetPendingJobExecutionsRequest('{"clientToken":"c1","thingName":"t"}')).toEqual({
      ok: true,
      value: { clientToken: 'c1', thingName: 't' },
    });
    expect(parseGetPendingJobExecutionsRequest(new Uint8Array())).toEqual({ ok: true, value: {} });
    expect(
      parseStartNextPendingJobExecutionRequest('{"statusDetails":{"step":"download"},"stepTimeoutInMinutes":5}').ok,
    ).toBe(true);
    expect(parseDescribeJobExecutionRequest('{"executionNumber":2,"includeJobDocument":false}').ok).toBe(true);
    const upd = parseUpdateJobExecutionRequest(
      JSON.stringify({
        status: 'IN_PROGRESS',
        statusDetails: { 'a:b_c-1': 'x'.repeat(1024) },
        expectedVersion: 3,
        executionNumber: 1,
        includeJobExecutionState: true,
        includeJobDocument: true,
        stepTimeoutInMinutes: -1,
        clientToken: 't'.repeat(64),
      }),
    );
    expect(upd.ok).toBe(true);
  });

  it.each(parsers)('%s: non-JSON and non-UTF-8 bytes are InvalidJson', (_name, parse) => {
    expect(rejected(parse('{not json')).code).toBe('InvalidJson');
    expect(rejected(parse(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).code).toBe('InvalidJson');
    expect(rejected(parse('{not json')).message).toBe(JOBS_ERROR_MESSAGES.InvalidJson);
  });

  it.each(parsers)('%s: non-objects and oversized payloads are InvalidRequest', (_name, parse) => {
    for (const body of ['[]', '"x"', '42', 'null']) expect(rejected(parse(body)).code).toBe('InvalidRequest');
    const big = JSON.stringify({ clientToken: 'c', pad: 'x'.repeat(MAX_JOBS_REQUEST_BYTES) });
    const e = rejected(parse(big));
    expect(e.code).toBe('InvalidRequest');
    expect(e.message).toMatch(/maximum size/);
  });

  it.each(parsers)('%s: bad clientToken is InvalidRequest', (_name, parse) => {
    const good = _name === 'UpdateJobExecution' ? { status: 'IN_PROGRESS' } : {};
    expect(rejected(parse(JSON.stringify({ ...good, clientToken: 5 }))).code).toBe('InvalidRequest');
    expect(rejected(parse(JSON.stringify({ ...good, clientToken: 'x'.repeat(65) }))).code).toBe('InvalidRequest');
    expect(rejected(parse(JSON.stringify({ ...good, clientToken: '' }))).code).toBe('InvalidRequest');
  });

  it.each([
    ['missing status', {}],
    ['status QUEUED', { status: 'QUEUED' }],
    ['status CANCELED', { status: 'CANCELED' }],
    ['status lower case', { status: 'succeeded' }],
    ['status number', { status: 1 }],
    ['statusDetails array', { status: 'FAILED', statusDetails: ['a'] }],
    ['statusDetails value number', { status: 'FAILED', statusDetails: { a: 1 } }],
    ['statusDetails bad key', { status: 'FAILED', statusDetails: { 'a b': 'x' } }],
    ['statusDetails empty value', { status: 'FAILED', statusDetails: { a: '' } }],
    ['statusDetails value 1025 chars', { status: 'FAILED', statusDetails: { a: 'x'.repeat(1025) } }],
    ['statusDetails control char', { status: 'FAILED', statusDetails: { a: 'x\ny' } }],
    ['statusDetails key 129 chars', { status: 'FAILED', statusDetails: { ['k'.repeat(129)]: 'x' } }],
    [
      'statusDetails 11 pairs',
      { status: 'FAILED', statusDetails: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])) },
    ],
    ['expectedVersion string', { status: 'FAILED', expectedVersion: '1' }],
    ['expectedVersion negative', { status: 'FAILED', expectedVersion: -1 }],
    ['expectedVersion fraction', { status: 'FAILED', expectedVersion: 1.5 }],
    ['executionNumber zero', { status: 'FAILED', executionNumber: 0 }],
    ['includeJobDocument string', { status: 'FAILED', includeJobDocument: 'true' }],
    ['includeJobExecutionState number', { status: 'FAILED', includeJobExecutionState: 1 }],
    ['stepTimeoutInMinutes 0', { status: 'IN_PROGRESS', stepTimeoutInMinutes: 0 }],
    ['stepTimeoutInMinutes -2', { status: 'IN_PROGRESS', stepTimeoutInMinutes: -2 }],
    ['stepTimeoutInMinutes 10081', { status: 'IN_PROGRESS', stepTimeoutInMinutes: 10081 }],
  ])('UpdateJobExecution with %s is InvalidRequest echoing the clientToken', (_label, body) => {
    const e = rejected(parseUpdateJobExecutionRequest(JSON.stringify({ ...body, clientToken: 'ct-1' })));
    expect(e.code).toBe('InvalidRequest');
    expect(e.clientToken).toBe('ct-1');
    expect(e.message.length).toBeGreaterThan(0);
  });

  it.each([
    ['stepTimeoutInMinutes -1', { stepTimeoutInMinutes: -1 }],
    ['stepTimeoutInMinutes string', { stepTimeoutInMinutes: '5' }],
    ['statusDetails string', { statusDetails: 'x' }],
  ])('StartNextPendingJobExecution with %s is InvalidRequest', (_label, body) => {
    expect(rejected(parseStartNextPendingJobExecutionRequest(JSON.stringify(body))).code).toBe('InvalidRequest');
  });

  it.each([
    ['executionNumber string', { executionNumber: '1' }],
    ['includeJobDocument number', { includeJobDocument: 0 }],
  ])('DescribeJobExecution with %s is InvalidRequest', (_label, body) => {
    expect(rejected(parseDescribeJobExecutionRequest(JSON.stringify(body))).code).toBe('InvalidRequest');
  });

  it('parseJobsRequest tags the request with the topic operation', () => {
    expect(parseJobsRequest({ name: 'UpdateJobExecution', jobId: 'j1' }, '{"status":"SUCCEEDED"}')).toEqual({
      ok: true,
      value: { operation: 'UpdateJobExecution', jobId: 'j1', body: { status: 'SUCCEEDED' } },
    });
    expect(parseJobsRequest({ name: 'DescribeJobExecution', jobId: '$next' }, '').ok).toBe(true);
    expect(parseJobsRequest({ name: 'GetPendingJobExecutions' }, '{').ok).toBe(false);
    expect(parseJobsRequest({ name: 'StartNextPendingJobExecution' }, '{"clientToken":1}').ok).toBe(false);
  });
});

describe('jobs responses', () => {
  const check = compileValidator(JobsErrorResponseSchema);
  it('error responses carry executionState only for InvalidStateTransition and VersionMismatch', () => {
    const state = { status: 'SUCCEEDED' as const, versionNumber: 3 };
    const vm = jobsErrorResponse(jobsError('VersionMismatch', { clientToken: 'c', executionState: state }), 100);
    expect(vm).toEqual({
      code: 'VersionMismatch',
      message: JOBS_ERROR_MESSAGES.VersionMismatch,
      clientToken: 'c',
      timestamp: 100,
      executionState: state,
    });
    expect(check.check(vm)).toBe(true);
    const nf = jobsErrorResponse(jobsError('ResourceNotFound', { executionState: state }), 100);
    expect(nf.executionState).toBeUndefined();
    expect(check.check({ ...nf, code: 'Nope' })).toBe(false);
  });

  it('notification schemas accept the documented shapes', () => {
    expect(compileValidator(JobExecutionsChangedEventSchema).check({ timestamp: 1, jobs: {} })).toBe(true);
    expect(compileValidator(NextJobExecutionChangedEventSchema).check({ timestamp: 1 })).toBe(true);
    expect(
      compileValidator(NextJobExecutionChangedEventSchema).check({
        timestamp: 1,
        execution: {
          jobId: 'j',
          thingName: 't',
          status: 'BOGUS',
          queuedAt: 1,
          lastUpdatedAt: 1,
          versionNumber: 1,
          executionNumber: 1,
        },
      }),
    ).toBe(false);
  });
});
