/** The local IoT core for the agent's end-to-end tests, reached only through AWS's own SDK and MQTT over mTLS. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateJobCommand,
  CreateThingCommand,
  DescribeJobExecutionCommand,
  IoTClient,
  type JobExecution,
} from '@aws-sdk/client-iot';
import { pino } from 'pino';
import {
  DEV_ACCESS_KEY_ID,
  DEV_SECRET_ACCESS_KEY,
  issueDeviceToDirectory,
  loadConfig,
  startLocalCore,
  type LocalCore,
} from '@otafleet/iot-core';

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
  const dir = mkdtempSync(join(tmpdir(), 'agent-e2e-core-'));
  const config = loadConfig(
    ['--data-dir', dir, '--http-port', '0', '--mqtt-tls-port', '0', '--log-level', 'silent'],
    {},
  );
  const core = await startLocalCore(config, pino({ level: 'silent' }));
  const iot = new IoTClient({
    endpoint: core.httpEndpoint,
    region: config.region,
    credentials: { accessKeyId: DEV_ACCESS_KEY_ID, secretAccessKey: DEV_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
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
      return issueDeviceToDirectory(core.pki.dir, thing);
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
    async close() {
      iot.destroy();
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
