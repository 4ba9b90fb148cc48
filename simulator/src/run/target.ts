import type { IoTClient } from '@aws-sdk/client-iot';
import type { EmbeddedBroker } from '@otafleet/iot-core';
import { createStreamPair } from '@otafleet/mqtt-client';
import type { BrokerAttachment } from '../fleet/contracts.js';
import type { PlannedDevice } from '../scenario/expand.js';
import { fleetApi, type FleetApi } from './fleet-api.js';
import { createGroups, enrolDevices, sdkEnroller, type Enroller } from './registry.js';
import { startSimStack, type SimStackOptions } from './stack.js';

/**
 * What a run drives: the fleet service's operator API, AWS's IoT client on the control plane (job executions and
 * wave groups for the report), the way its devices reach the broker and the way they are enrolled. Either the
 * run's own local stack (localTarget) or a stack already running (runningStackTarget in running-stack.ts).
 */
export interface RunTarget {
  readonly api: FleetApi;
  readonly iot: IoTClient;
  readonly broker: BrokerAttachment;
  /** Makes devices known to the stack (things, thing groups, whatever they need to connect) before they start. */
  enrol(devices: readonly PlannedDevice[]): Promise<void>;
  close(): Promise<void>;
}

export interface LocalTargetOptions extends SimStackOptions {
  /** The scenario's thing groups, created before any device is enrolled. */
  readonly groups: readonly string[];
  /** RunOptions.enrolment. */
  readonly enrolment: 'sdk' | 'registry';
}

/** Devices on the core's embedded broker: one in-memory stream pair per connection, carrying the thing's identity. */
export function inMemoryAttachment(
  broker: Pick<EmbeddedBroker, 'connectStream'>,
): BrokerAttachment & { kind: 'in-memory' } {
  return {
    kind: 'in-memory',
    connect(thingName) {
      const [client, server] = createStreamPair();
      broker.connectStream(server, { principal: { kind: 'thing', thingName } });
      return client;
    },
  };
}

/** The run's own local stack (what `pnpm start` starts, in this process): devices on in-memory streams. */
export async function localTarget(options: LocalTargetOptions): Promise<RunTarget> {
  const stack = await startSimStack(options);
  try {
    await createGroups(stack.iot, options.groups);
  } catch (e) {
    await stack.close();
    throw e;
  }
  const enroller: Enroller = options.enrolment === 'sdk' ? sdkEnroller(stack.iot) : stack.core.registry;
  return {
    api: fleetApi(stack.fleetApi, stack.token),
    iot: stack.iot,
    broker: inMemoryAttachment(stack.broker),
    enrol: (devices) => enrolDevices(enroller, devices),
    close: () => stack.close(),
  };
}
