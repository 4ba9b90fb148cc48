import { randomUUID } from 'node:crypto';
import { isValidThingName } from '@otafleet/protocol';
import type { MessageBus } from '@otafleet/mqtt-client';
import type { Logger } from 'pino';
import type { CertificateRegistry } from '../identity/certificate-registry.js';
import {
  DYNSEC_COMMAND_TOPIC,
  DYNSEC_RESPONSE_TOPIC,
  grantThingCommands,
  thingRoleName,
  withdrawThingCommands,
  type DynsecCommand,
} from './dynamic-security.js';

interface DynsecResponse {
  readonly command?: unknown;
  readonly error?: unknown;
  readonly correlationData?: unknown;
  readonly data?: { readonly clients?: unknown; readonly roles?: unknown };
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Keeps Mosquitto's dynamic-security plugin in step with the certificate registry, as the core's own
 * (admin) service identity: a thing is a plugin client, with its own role, while it has an ACTIVE certificate;
 * when it has none left it is deleted, which the plugin turns into an immediate disconnect. Mosquitto knows a
 * device only by its certificate CN, so this works per thing name, not per certificate.
 */
export interface DynamicSecuritySync {
  /** Resolves once every change asked for so far has been answered by the plugin. */
  settled(): Promise<void>;
  close(): void;
}

export async function startDynamicSecuritySync(
  bus: MessageBus,
  certificates: CertificateRegistry,
  logger: Logger,
  options: { readonly timeoutMs?: number } = {},
): Promise<DynamicSecuritySync> {
  const pending = new Map<string, (responses: readonly DynsecResponse[]) => void>();
  await bus.subscribe(DYNSEC_RESPONSE_TOPIC, (m) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(m.payload.toString('utf8'));
    } catch {
      logger.warn('mosquitto: unreadable dynamic-security response');
      return;
    }
    const responses = (parsed as { responses?: unknown }).responses;
    if (!Array.isArray(responses)) return;
    const list = responses as DynsecResponse[];
    const id = list.find((r) => typeof r.correlationData === 'string')?.correlationData;
    if (typeof id !== 'string') return;
    pending.get(id)?.(list);
    pending.delete(id);
  });

  const send = async (commands: readonly DynsecCommand[]): Promise<DynsecResponse[]> => {
    if (commands.length === 0) return [];
    const id = randomUUID();
    const answered = new Promise<DynsecResponse[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`Mosquitto's dynamic-security plugin did not answer ${commands[0]?.command ?? ''} in time`));
      }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      pending.set(id, (responses) => {
        clearTimeout(timer);
        resolve([...responses]);
      });
    });
    await bus.publish(
      DYNSEC_COMMAND_TOPIC,
      JSON.stringify({ commands: commands.map((c) => ({ ...c, correlationData: id })) }),
      { qos: 1 },
    );
    const responses = await answered;
    for (const r of responses)
      if (typeof r.error === 'string')
        logger.error({ command: r.command, error: r.error }, 'mosquitto: dynamic-security command failed');
    return responses;
  };

  const names = (responses: readonly DynsecResponse[], command: string, key: 'clients' | 'roles'): Set<string> => {
    const list = responses.find((r) => r.command === command)?.data?.[key];
    return new Set(Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : []);
  };

  /** Which things may connect: those with at least one ACTIVE certificate. */
  const allowedThings = (
    records: readonly { readonly commonName: string; readonly status: string }[],
  ): Map<string, boolean> => {
    const allowed = new Map<string, boolean>();
    for (const r of records)
      if (isValidThingName(r.commonName))
        allowed.set(r.commonName, (allowed.get(r.commonName) ?? false) || r.status === 'ACTIVE');
    return allowed;
  };

  // One reconciliation at a time, each against a fresh listing: a burst of changes collapses into the next run.
  let running: Promise<void> = Promise.resolve();
  let again = false;
  const reconcile = (): Promise<void> => {
    if (again) return running;
    again = true;
    running = running
      .then(async () => {
        again = false;
        const listing = await send([
          { command: 'listClients', count: -1 },
          { command: 'listRoles', count: -1 },
        ]);
        const clients = names(listing, 'listClients', 'clients');
        const roles = names(listing, 'listRoles', 'roles');
        const commands: DynsecCommand[] = [];
        for (const [thing, allowed] of allowedThings(certificates.statusesByCommonName())) {
          if (allowed && !clients.has(thing))
            commands.push(
              ...grantThingCommands(thing).filter(
                (c) => c.command !== 'createRole' || !roles.has(thingRoleName(thing)),
              ),
            );
          if (!allowed && clients.has(thing)) {
            logger.warn({ thingName: thing }, 'mosquitto: thing has no ACTIVE certificate left, disconnecting it');
            commands.push(...withdrawThingCommands(thing));
          }
        }
        await send(commands);
      })
      .catch((e: unknown) => {
        logger.error({ err: e instanceof Error ? e.message : String(e) }, 'mosquitto: dynamic-security sync failed');
      });
    return running;
  };

  // Not awaited: a broker without the plugin must not hold up the start (the failure is logged).
  void reconcile();
  const unsubscribe = certificates.onChange(() => void reconcile());
  return {
    settled: () => running,
    close: unsubscribe,
  };
}
