import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JOBS_ERROR_MESSAGES } from '@otafleet/protocol';
import { Inbox, JobsEnv, request, thingTarget } from '../src/testing/jobs-env.js';

const T = '$aws/things/dev1/jobs';

describe('jobs device API: every rejected path carries its AWS code and changes nothing', () => {
  let env: JobsEnv;
  let client: MqttClient;
  let inbox: Inbox;
  const state = () => env.jobs.describeJobExecution({ jobId: 'j1', thingName: 'dev1' }).execution;

  beforeEach(async () => {
    env = await JobsEnv.start();
    env.registry.createThing('dev1');
    env.registry.createThing('dev2');
    await env.jobs.createJob({ jobId: 'j1', targets: [thingTarget('dev1')], document: '{"op":"x"}' });
    client = await env.device('dev1');
    inbox = new Inbox(client);
  });
  afterEach(async () => {
    await env.close();
  });

  it.each([
    ['non-JSON', `${T}/j1/update`, '{oops', 'InvalidJson'],
    ['non-UTF-8', `${T}/j1/update`, Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), 'InvalidJson'],
    ['JSON array', `${T}/j1/update`, '[]', 'InvalidRequest'],
    ['missing status', `${T}/j1/update`, '{"clientToken":"t"}', 'InvalidRequest'],
    ['status QUEUED', `${T}/j1/update`, '{"status":"QUEUED","clientToken":"t"}', 'InvalidRequest'],
    [
      'statusDetails number',
      `${T}/j1/update`,
      '{"status":"IN_PROGRESS","statusDetails":{"a":1},"clientToken":"t"}',
      'InvalidRequest',
    ],
    [
      'oversized',
      `${T}/j1/update`,
      JSON.stringify({ status: 'IN_PROGRESS', pad: 'x'.repeat(140_000) }),
      'InvalidRequest',
    ],
    ['bad start-next timeout', `${T}/start-next`, '{"stepTimeoutInMinutes":0}', 'InvalidRequest'],
    ['bad get clientToken', `${T}/get`, '{"clientToken":7}', 'InvalidRequest'],
    ['describe bad executionNumber', `${T}/j1/get`, '{"executionNumber":"1"}', 'InvalidRequest'],
    ['unknown job update', `${T}/nope/update`, '{"status":"IN_PROGRESS","clientToken":"t"}', 'ResourceNotFound'],
    ['unknown job describe', `${T}/nope/get`, '{"clientToken":"t"}', 'ResourceNotFound'],
    ['unknown execution number', `${T}/j1/update`, '{"status":"IN_PROGRESS","executionNumber":9}', 'ResourceNotFound'],
    ['unknown operation', `${T}/j1/delete`, '{}', 'InvalidTopic'],
    ['$next update', `${T}/$next/update`, '{"status":"IN_PROGRESS"}', 'InvalidTopic'],
  ])('%s -> %s', async (_label, topic, payload, code) => {
    const before = state();
    const r = await request(client, inbox, topic, payload);
    expect(r.outcome).toBe('rejected');
    expect(r.body['code']).toBe(code);
    expect(typeof r.body['message']).toBe('string');
    expect(typeof r.body['timestamp']).toBe('number');
    if (typeof payload === 'string' && payload.includes('"clientToken":"t"')) expect(r.body['clientToken']).toBe('t');
    expect(r.body['executionState']).toBeUndefined();
    expect(state()).toEqual(before);
  });

  it('an execution of another thing is not found', async () => {
    await env.jobs.createJob({ jobId: 'j2', targets: [thingTarget('dev2')], document: '{}' });
    const r = await request(client, inbox, `${T}/j2/update`, { status: 'IN_PROGRESS' });
    expect(r.body).toMatchObject({ code: 'ResourceNotFound', message: JOBS_ERROR_MESSAGES.ResourceNotFound });
    expect(env.jobs.describeJobExecution({ jobId: 'j2', thingName: 'dev2' }).execution?.versionNumber).toBe(1);
  });

  it('VersionMismatch carries the current executionState', async () => {
    await request(client, inbox, `${T}/j1/update`, { status: 'IN_PROGRESS', statusDetails: { s: '1' } });
    const r = await request(client, inbox, `${T}/j1/update`, {
      status: 'SUCCEEDED',
      expectedVersion: 1,
      clientToken: 'v',
    });
    expect(r.outcome).toBe('rejected');
    expect(r.body).toMatchObject({
      code: 'VersionMismatch',
      clientToken: 'v',
      executionState: { status: 'IN_PROGRESS', statusDetails: { s: '1' }, versionNumber: 2 },
    });
    expect(state()).toMatchObject({ status: 'IN_PROGRESS', versionNumber: 2 });
  });

  it('InvalidStateTransition once terminal, with executionState; describe then says TerminalStateReached', async () => {
    await request(client, inbox, `${T}/j1/update`, { status: 'FAILED' });
    const r = await request(client, inbox, `${T}/j1/update`, { status: 'IN_PROGRESS', clientToken: 'z' });
    expect(r.body).toMatchObject({
      code: 'InvalidStateTransition',
      clientToken: 'z',
      executionState: { status: 'FAILED', versionNumber: 2 },
    });
    const d = await request(client, inbox, `${T}/j1/get`, { clientToken: 'd' });
    expect(d.body).toMatchObject({ code: 'TerminalStateReached', clientToken: 'd' });
    expect(state()).toMatchObject({ status: 'FAILED', versionNumber: 2 });
  });

  it('executionNumber and expectedVersion that match are accepted', async () => {
    const r = await request(client, inbox, `${T}/j1/update`, {
      status: 'IN_PROGRESS',
      executionNumber: 1,
      expectedVersion: 1,
      includeJobExecutionState: true,
    });
    expect(r.body).toMatchObject({ executionState: { status: 'IN_PROGRESS', versionNumber: 2 } });
    expect(r.body['jobDocument']).toBeUndefined();
  });
});

describe('jobs device API: a request that fails unexpectedly', () => {
  let env: JobsEnv;
  afterEach(async () => {
    await env.close();
  });

  it('is answered InternalError and changes nothing, while requests batched with it still succeed', async () => {
    env = await JobsEnv.start();
    env.registry.createThing('dev1');
    env.registry.createThing('dev2');
    await env.jobs.createJob({ jobId: 'j1', targets: [thingTarget('dev1'), thingTarget('dev2')], document: '{}' });
    // A row the service cannot read (corrupt statusDetails): reading it throws inside the batch.
    env.db.prepare("UPDATE jobs_execution SET status_details = '{oops' WHERE thing_name = 'dev2'").run();
    const client = await env.device('dev1');
    await client.subscribeAsync('$aws/things/dev2/jobs/#', { qos: 1 });
    const inbox = new Inbox(client);
    const good = '$aws/things/dev1/jobs/j1/update';
    const bad = '$aws/things/dev2/jobs/j1/update';
    // Back to back, so they usually share one batch: the batch is then re-run request by request.
    const [a, b, c] = await Promise.all([
      request(client, inbox, good, { status: 'IN_PROGRESS', clientToken: 'g1' }),
      request(client, inbox, bad, { status: 'IN_PROGRESS', clientToken: 'b1' }),
      request(client, inbox, good, { status: 'IN_PROGRESS', statusDetails: { step: '2' }, clientToken: 'g2' }),
    ]);
    expect(a.outcome).toBe('accepted');
    expect(b).toMatchObject({ outcome: 'rejected', body: { code: 'InternalError', clientToken: 'b1' } });
    expect(c.outcome).toBe('accepted');
    const row = (thing: string) =>
      env.db
        .prepare('SELECT status, status_details, version_number FROM jobs_execution WHERE thing_name = ?')
        .get(thing);
    expect(row('dev1')).toEqual({ status: 'IN_PROGRESS', status_details: '{"step":"2"}', version_number: 3 });
    // The service's own view (its caches were dropped with the rolled-back batch) agrees with the database.
    expect(env.jobs.describeJobExecution({ jobId: 'j1', thingName: 'dev1' }).execution).toMatchObject({
      status: 'IN_PROGRESS',
      statusDetails: { detailsMap: { step: '2' } },
      versionNumber: 3,
    });
    expect(row('dev2')).toEqual({ status: 'QUEUED', status_details: '{oops', version_number: 1 });
  });
});
