import {
  CancelJobCommand,
  CreateJobCommand,
  CreateThingCommand,
  DeleteJobCommand,
  DescribeEventConfigurationsCommand,
  UpdateEventConfigurationsCommand,
} from '@aws-sdk/client-iot';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/index.js';
import { EventConfigurations } from '../src/jobs/event-configurations.js';
import {
  ACCOUNT_ID,
  failure,
  REGION,
  startControlPlane,
  type ControlPlaneFixture,
} from '../src/testing/control-plane-fixture.js';
import { Inbox, request } from '../src/testing/jobs-env.js';
import { connectClient } from '../src/testing/mqtt.js';

let cp: ControlPlaneFixture;
const clients: MqttClient[] = [];
beforeEach(async () => {
  cp = await startControlPlane();
  for (const thingName of ['dev-1', 'dev-2']) await cp.iot.send(new CreateThingCommand({ thingName }));
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await cp.close();
});

const thing = (name: string): string => `arn:aws:iot:${REGION}:${ACCOUNT_ID}:thing/${name}`;
const document = '{"operation":"ota"}';

async function client(clientId: string, filter: string | string[]): Promise<{ client: MqttClient; inbox: Inbox }> {
  const c = await connectClient(cp.brokerPort ?? 0, clientId);
  clients.push(c);
  const inbox = new Inbox(c);
  await c.subscribeAsync(filter, { qos: 1 });
  return { client: c, inbox };
}

/** Jobs events only: `$aws/events/#` also carries the broker's presence events. */
const JOBS_EVENTS = ['$aws/events/job/#', '$aws/events/jobExecution/#'];

const enable = (on: boolean) =>
  cp.iot.send(
    new UpdateEventConfigurationsCommand({
      eventConfigurations: { JOB: { Enabled: on }, JOB_EXECUTION: { Enabled: on } },
    }),
  );

describe('Jobs events on $aws/events/#, switched by UpdateEventConfigurations', () => {
  it('publishes nothing until enabled, then execution and job events with AWS’s payload shapes', async () => {
    const service = await client('fleet-service', JOBS_EVENTS);
    const dev = await client('dev-1', '$aws/things/dev-1/jobs/#');
    const initial = await cp.iot.send(new DescribeEventConfigurationsCommand({}));
    expect(initial.eventConfigurations?.JOB).toEqual({ Enabled: false });
    expect(initial.eventConfigurations?.JOB_EXECUTION).toEqual({ Enabled: false });

    await cp.iot.send(new CreateJobCommand({ jobId: 'quiet', targets: [thing('dev-1')], document }));
    await request(dev.client, dev.inbox, '$aws/things/dev-1/jobs/quiet/update', { status: 'SUCCEEDED' });
    await new Promise((r) => setTimeout(r, 300));
    expect(service.inbox.messages).toEqual([]);

    await enable(true);
    const described = await cp.iot.send(new DescribeEventConfigurationsCommand({}));
    expect(described.eventConfigurations).toMatchObject({ JOB: { Enabled: true }, JOB_EXECUTION: { Enabled: true } });
    expect(described.eventConfigurations?.THING).toEqual({ Enabled: false });
    expect(described.lastModifiedDate).toBeInstanceOf(Date);

    await cp.iot.send(new CreateJobCommand({ jobId: 'loud', targets: [thing('dev-1')], document, description: 'd' }));
    await request(dev.client, dev.inbox, '$aws/things/dev-1/jobs/loud/update', {
      status: 'SUCCEEDED',
      statusDetails: { step: 'done' },
    });
    const execution = await service.inbox.wait('$aws/events/jobExecution/loud/succeeded', 1, 5000);
    expect(execution).toMatchObject({
      eventType: 'JOB_EXECUTION',
      operation: 'succeeded',
      jobId: 'loud',
      thingArn: thing('dev-1'),
      status: 'SUCCEEDED',
      statusDetails: { step: 'done' },
    });
    expect(execution.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof execution.timestamp).toBe('number');
    const completed = await service.inbox.wait('$aws/events/job/loud/completed', 1, 5000);
    expect(completed).toMatchObject({
      eventType: 'JOB',
      operation: 'completed',
      jobId: 'loud',
      status: 'COMPLETED',
      targetSelection: 'SNAPSHOT',
      targets: [thing('dev-1')],
      description: 'd',
      jobProcessDetails: { numberOfSucceededThings: 1, numberOfFailedThings: 0, numberOfCanceledThings: 0 },
    });
    expect(completed.completedAt).toEqual(expect.any(Number));
  });

  it('publishes canceled for a job and its QUEUED executions, and deleted for the job', async () => {
    const service = await client('fleet-service', JOBS_EVENTS);
    await enable(true);
    await cp.iot.send(new CreateJobCommand({ jobId: 'c', targets: [thing('dev-1'), thing('dev-2')], document }));
    await cp.iot.send(new CancelJobCommand({ jobId: 'c', reasonCode: 'OPERATOR', comment: 'stop' }));
    const canceled = await service.inbox.wait('$aws/events/job/c/canceled', 1, 5000);
    expect(canceled).toMatchObject({
      eventType: 'JOB',
      status: 'CANCELED',
      reasonCode: 'OPERATOR',
      comment: 'stop',
      jobProcessDetails: { numberOfCanceledThings: 2 },
    });
    await service.inbox.wait('$aws/events/jobExecution/c/canceled', 2, 5000);
    const arns = service.inbox.on('$aws/events/jobExecution/c/canceled').map((m) => m.thingArn);
    expect(arns.sort()).toEqual([thing('dev-1'), thing('dev-2')]);
    await cp.iot.send(new DeleteJobCommand({ jobId: 'c' }));
    expect(await service.inbox.wait('$aws/events/job/c/deleted', 1, 5000)).toMatchObject({
      operation: 'deleted',
      jobId: 'c',
    });

    // Switched off again: nothing more.
    await enable(false);
    await cp.iot.send(new CreateJobCommand({ jobId: 'c2', targets: [thing('dev-1')], document }));
    await cp.iot.send(new CancelJobCommand({ jobId: 'c2' }));
    await new Promise((r) => setTimeout(r, 300));
    expect(service.inbox.on('$aws/events/job/c2/canceled')).toEqual([]);
  });

  it('refuses unknown event types and non-Boolean values, changing nothing', async () => {
    for (const eventConfigurations of [{ JOBS: { Enabled: true } }, { JOB: { Enabled: 'yes' } }]) {
      const f = await failure(cp.iot.send(new UpdateEventConfigurationsCommand({ eventConfigurations } as never)));
      expect(f).toMatchObject({ name: 'InvalidRequestException', status: 400 });
    }
    const described = await cp.iot.send(new DescribeEventConfigurationsCommand({}));
    expect(described.eventConfigurations?.JOB).toEqual({ Enabled: false });
  });
});

describe('EventConfigurations persistence', () => {
  it('survives a restart on the same SQLite file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'events-'));
    try {
      let db = openDatabase(join(dir, 'core.db'));
      new EventConfigurations(db, () => 1_000).update({ eventConfigurations: { JOB_EXECUTION: { Enabled: true } } });
      db.close();
      db = openDatabase(join(dir, 'core.db'));
      const again = new EventConfigurations(db, () => 2_000);
      expect(again.isEnabled('JOB_EXECUTION')).toBe(true);
      expect(again.isEnabled('JOB')).toBe(false);
      expect(again.describe().lastModifiedDate).toEqual(new Date(1_000));
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
