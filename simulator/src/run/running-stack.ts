import { IoTClient } from '@aws-sdk/client-iot';
import type { BundleSigner } from '@otafleet/bundle';
import { connectAsync } from 'mqtt';
import { MAX_BULK_DEVICES, type EnrolBody } from '@otafleet/fleet-service';
import type { PlannedDevice, ScenarioPlan } from '../scenario/expand.js';
import { namespaced } from '../scenario/expand.js';
import { fleetApi } from './fleet-api.js';
import { executionsOf, thingGroupsOf } from './registry.js';
import type { RunTarget } from './target.js';

/** A stack someone else started (`pnpm start`, or the fleet service against AWS IoT Core) and how to reach it. */
export interface RunningStack {
  /** The fleet service's operator API, e.g. http://127.0.0.1:8080. */
  readonly fleetApi: string;
  /** An operator (or admin) token of that service. */
  readonly token: string;
  /** Where devices connect: mqtts://host:port (the local core's `mqttTls`, or AWS IoT's data endpoint). */
  readonly mqttUrl: string;
  /** PEM of the CA of the broker's server certificate; absent: Node's root CAs (right for AWS IoT Core). */
  readonly ca?: string;
  /** The IoT control plane: the local core's `http` address; absent: AWS IoT's endpoint for the region. */
  readonly iotEndpoint?: string;
  readonly region: string;
  /** The release key: the target fleet service must trust its public half. */
  readonly signer: BundleSigner;
}

/** Why a running stack cannot be used, said before any device starts. */
export class RunningStackError extends Error {
  override readonly name = 'RunningStackError';
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * One MQTT connection as a device makes it (mutual TLS, its certificate, client id = thing name), closed at once:
 * the endpoint, the CA, the certificate and the broker's authorization are right before thousands of devices try.
 */
async function connectOnce(url: string, ca: string | undefined, thingName: string, cert: string, key: string) {
  const client = await connectAsync(url, {
    clientId: thingName,
    cert,
    key,
    ...(ca === undefined ? {} : { ca }),
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    log: () => undefined,
  });
  await client.endAsync();
}

/**
 * A run against a running stack: devices enrolled through its fleet service's API (`POST /v1/devices/bulk`, each
 * with a key pair and a certificate made for it), connected over mutual TLS to its MQTT endpoint, reports read
 * with AWS's IoT client (the standard credential chain). Everything the run creates is in the plan's namespace.
 * The token, the control plane's credentials and the MQTT endpoint are checked before anything is enrolled.
 */
export async function runningStackTarget(stack: RunningStack, plan: ScenarioPlan): Promise<RunTarget> {
  if (plan.namespace === undefined) throw new RunningStackError('a run on a running stack needs a namespace');
  const u = new URL(stack.mqttUrl);
  if (u.protocol !== 'mqtts:') throw new RunningStackError(`--mqtt must be an mqtts:// URL (got ${stack.mqttUrl})`);
  const api = fleetApi(stack.fleetApi, stack.token);
  const iot = new IoTClient({
    region: stack.region,
    ...(stack.iotEndpoint === undefined ? {} : { endpoint: stack.iotEndpoint }),
    maxAttempts: 3,
  });
  try {
    try {
      await api.rollout(namespaced(plan, 'preflight'));
    } catch (e) {
      // A 404 for the made-up rollout is the answer wanted: the service is there and takes the token.
      if ((e as { status?: number }).status !== 404)
        throw new RunningStackError(`the fleet service at ${stack.fleetApi}: ${message(e)}`);
    }
    try {
      await executionsOf(iot, namespaced(plan, 'preflight'));
    } catch (e) {
      throw new RunningStackError(
        `the IoT control plane${stack.iotEndpoint === undefined ? '' : ` at ${stack.iotEndpoint}`}: ${message(e)}` +
          ' (credentials come from the AWS SDK chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...)',
      );
    }
  } catch (e) {
    iot.destroy();
    throw e;
  }

  const credentials = new Map<string, { cert: string; key: string }>();
  const enrolBatch = async (batch: readonly PlannedDevice[]): Promise<void> => {
    const bodies: EnrolBody[] = batch.map((d) => ({
      thingName: d.spec.thingName,
      attributes: { hardwareType: d.spec.hardwareType },
      groups: thingGroupsOf(d, (g) => namespaced(plan, g)),
      createGroups: true,
      certificate: { kind: 'generate' },
    }));
    const results = await api.enrolMany(bodies, 32);
    const failed = results.flatMap((r) => (r.ok ? [] : [`${r.thingName}: ${r.step} ${r.code}: ${r.message}`]));
    if (failed.length > 0)
      throw new RunningStackError(
        `the fleet service refused ${failed.length} of ${batch.length} enrolments: ${failed.slice(0, 3).join('; ')}`,
      );
    for (const r of results) {
      if (!r.ok || r.certificatePem === undefined || r.privateKeyPem === undefined)
        throw new RunningStackError(`the fleet service enrolled ${r.thingName} without a certificate and key`);
      credentials.set(r.thingName, { cert: r.certificatePem, key: r.privateKeyPem });
    }
  };
  let connectedOnce = false;
  const enrol = async (devices: readonly PlannedDevice[]): Promise<void> => {
    let rest = devices;
    const first = devices[0];
    if (!connectedOnce && first !== undefined) {
      // One device first: a wrong endpoint, CA or authorization shows before the rest are enrolled.
      await enrolBatch([first]);
      const c = credentials.get(first.spec.thingName);
      try {
        if (c !== undefined) await connectOnce(stack.mqttUrl, stack.ca, first.spec.thingName, c.cert, c.key);
      } catch (e) {
        throw new RunningStackError(
          `mutual TLS to ${stack.mqttUrl} failed with a device's new certificate: ${message(e)}` +
            (stack.ca === undefined ? ' (a local core: pass its CA with --ca)' : ''),
        );
      }
      connectedOnce = true;
      rest = devices.slice(1);
    }
    for (let at = 0; at < rest.length; at += MAX_BULK_DEVICES) await enrolBatch(rest.slice(at, at + MAX_BULK_DEVICES));
  };

  return {
    api,
    iot,
    broker: {
      kind: 'mqtt-url',
      url: stack.mqttUrl,
      ...(stack.ca === undefined ? {} : { ca: stack.ca }),
      credentialsOf(thingName) {
        const c = credentials.get(thingName);
        if (c === undefined) throw new Error(`${thingName} was not enrolled`);
        return c;
      },
    },
    enrol,
    close: () => {
      iot.destroy();
      return Promise.resolve();
    },
  };
}
