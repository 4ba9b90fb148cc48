/** The local IoT core for the agent's end-to-end tests, reached only through AWS's own SDK and MQTT over mTLS. */
import {
  CreateJobCommand,
  CreateThingCommand,
  DescribeJobExecutionCommand,
  type IoTClient,
  type JobExecution,
} from '@aws-sdk/client-iot';
import type { LocalCore } from '@otafleet/iot-core';
import { startTestCore } from '@otafleet/iot-core/testing';

export interface E2eCore {
  readonly core: LocalCore;
  readonly iot: IoTClient;
  readonly mqttPort: number;
  readonly region: string;
  thingArn(thing: string): string;
  /** CreateThing + a device certificate from the core's CA. */
  addDevice(thing: string): Promise<{ certPath: string; keyPath: string; caPath: string }>;
  createJob(jobId: string, thing: string, document: unknown): Promise<void>;
  /** DescribeJobExecution until `done(execution)` holds (bounded by `timeoutMs`). */
  waitForExecution(
    jobId: string,
    thing: string,
    done: (e: JobExecution) => boolean,
    timeoutMs?: number,
  ): Promise<JobExecution>;
  describeExecution(jobId: string, thing: string): Promise<JobExecution>;
  close(): Promise<void>;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'REJECTED', 'CANCELED', 'TIMED_OUT', 'REMOVED']);
export const isTerminal = (e: JobExecution): boolean => TERMINAL.has(e.status ?? '');

export async function startE2eCore(): Promise<E2eCore> {
  const testCore = await startTestCore();
  const { core, config } = testCore;
  const iot = testCore.iotClient();
  const thingArn = (thing: string): string => `arn:aws:iot:${config.region}:${config.accountId}:thing/${thing}`;
  const describeExecution = async (jobId: string, thingName: string): Promise<JobExecution> => {
    const out = await iot.send(new DescribeJobExecutionCommand({ jobId, thingName }));
    if (out.execution === undefined) throw new Error(`no execution of ${jobId} on ${thingName}`);
    return out.execution;
  };
  return {
    core,
    iot,
    mqttPort: core.mqttTlsPort ?? 0,
    region: config.region,
    thingArn,
    async addDevice(thing) {
      await iot.send(new CreateThingCommand({ thingName: thing }));
      return (await testCore.issueDevice(thing)).paths;
    },
    async createJob(jobId, thing, document) {
      await iot.send(new CreateJobCommand({ jobId, targets: [thingArn(thing)], document: JSON.stringify(document) }));
    },
    describeExecution,
    async waitForExecution(jobId, thing, done, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      let last: JobExecution | undefined;
      while (Date.now() < until) {
        last = await describeExecution(jobId, thing).catch(() => undefined);
        if (last !== undefined && done(last)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(
        `execution ${jobId} on ${thing} did not get there in ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
      );
    },
    close: () => testCore.stop(),
  };
}
