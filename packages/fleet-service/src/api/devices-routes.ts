import {
  DescribeThingCommand,
  ListThingGroupsForThingCommand,
  ListThingPrincipalsCommand,
  type IoTClient,
} from '@aws-sdk/client-iot';
import { deviceHistory } from '../devices/device-history.js';
import { DeviceIndexError, type DeviceFilter, type DeviceIndex, type DeviceView } from '../devices/device-index.js';
import type { EnrolRequest, EnrolResult, Enrolment } from '../devices/enrolment.js';
import type { Groups } from '../devices/groups.js';
import type { HealthStore } from '../health/types.js';
import type { RolloutStore } from '../store/types.js';
import {
  BulkEnrolBodySchema,
  DeviceParamsSchema,
  EnrolBodySchema,
  ListDevicesQuerySchema,
  type EnrolBody,
  type ListDevicesQuery,
} from './device-schemas.js';
import { viaIot, type ApiApp, type RouteKit } from './route-kit.js';

export interface DeviceApiDeps {
  readonly iot: IoTClient;
  readonly index: DeviceIndex;
  readonly enrolment: Enrolment;
  readonly groups: Groups;
  /** A device whose last health report is younger than this is `online`. */
  readonly onlineWindowMs: number;
}

const DEFAULT_LIMIT = 100;

const toRequest = (b: EnrolBody): EnrolRequest => ({
  thingName: b.thingName,
  ...(b.thingTypeName === undefined ? {} : { thingTypeName: b.thingTypeName }),
  ...(b.attributes === undefined ? {} : { attributes: b.attributes }),
  ...(b.groups === undefined ? {} : { groups: b.groups }),
  ...(b.createGroups === undefined ? {} : { createGroups: b.createGroups }),
  certificate: b.certificate,
});

const publicDevice = (d: DeviceView): Record<string, unknown> => {
  const { csrSha256: _csr, ...rest } = d;
  return rest;
};

function filterOf(q: ListDevicesQuery): DeviceFilter {
  const attributes: Record<string, string> = {};
  for (const pair of q.attribute === undefined ? [] : Array.isArray(q.attribute) ? q.attribute : [q.attribute]) {
    const eq = pair.indexOf('=');
    attributes[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    ...(Object.keys(attributes).length === 0 ? {} : { attributes }),
    ...(q.thingType === undefined ? {} : { thingTypeName: q.thingType }),
    ...(q.version === undefined ? {} : { version: q.version }),
    ...(q.slot === undefined ? {} : { slot: q.slot }),
    ...(q.health === undefined ? {} : { health: q.health }),
    ...(q.lastSeenBefore === undefined ? {} : { lastSeenBefore: Date.parse(q.lastSeenBefore) }),
    ...(q.lastSeenAfter === undefined ? {} : { lastSeenAfter: Date.parse(q.lastSeenAfter) }),
    ...(q.connectivity === undefined ? {} : { connectivity: q.connectivity }),
  };
}

/** Enrolment, listing, one device's view and its update history. */
export function registerDeviceRoutes(
  app: ApiApp,
  kit: RouteKit,
  deps: DeviceApiDeps & { readonly health: HealthStore; readonly rollouts: RolloutStore; readonly now: () => number },
): void {
  const { fail, guard, actor } = kit;
  const statusOf = (r: EnrolResult): number => (r.ok ? (r.created ? 201 : 200) : r.status);

  app.post('/v1/devices', { preHandler: guard('operator'), schema: { body: EnrolBodySchema } }, async (req, reply) => {
    const result = await deps.enrolment.enrol(toRequest(req.body), actor(req));
    return reply
      .code(statusOf(result))
      .send(result.ok ? result : { code: result.code, message: result.message, step: result.step });
  });

  app.post(
    '/v1/devices/bulk',
    { preHandler: guard('operator'), schema: { body: BulkEnrolBodySchema } },
    async (req, reply) => {
      const seen = new Set<string>();
      const repeated = req.body.devices.map((d) => d.thingName).filter((n) => seen.size === seen.add(n).size);
      if (repeated.length > 0)
        return fail(
          reply,
          400,
          'INVALID_REQUEST',
          `body/devices names a thing more than once: ${[...new Set(repeated)].slice(0, 5).join(', ')}`,
        );
      const results = await deps.enrolment.enrolMany(req.body.devices.map(toRequest), actor(req), req.body.concurrency);
      const summary = { created: 0, existing: 0, failed: 0 };
      for (const r of results) {
        if (!r.ok) summary.failed++;
        else if (r.created) summary.created++;
        else summary.existing++;
      }
      return { summary, results };
    },
  );

  app.get(
    '/v1/devices',
    { preHandler: guard('viewer'), schema: { querystring: ListDevicesQuerySchema } },
    async (req, reply) => {
      const q = req.query;
      let filter = filterOf(q);
      if (q.group !== undefined) {
        const group = q.group;
        const members = await viaIot(kit, reply, () => deps.groups.allMembers(group), `thing group ${group}`);
        if (!Array.isArray(members)) return members;
        filter = { ...filter, thingNames: members };
      }
      try {
        const page = deps.index.list({
          filter,
          sort: q.sort ?? 'thingName',
          order: q.order ?? 'asc',
          limit: q.limit ?? DEFAULT_LIMIT,
          ...(q.nextToken === undefined ? {} : { nextToken: q.nextToken }),
          now: deps.now(),
          onlineWindowMs: deps.onlineWindowMs,
        });
        return {
          devices: page.devices.map(publicDevice),
          ...(page.nextToken === undefined ? {} : { nextToken: page.nextToken }),
        };
      } catch (e) {
        if (e instanceof DeviceIndexError) return fail(reply, 400, e.code, e.message);
        throw e;
      }
    },
  );

  app.get(
    '/v1/devices/:thingName',
    { preHandler: guard('viewer'), schema: { params: DeviceParamsSchema } },
    async (req, reply) => {
      const { thingName } = req.params;
      const registry = await viaIot(
        kit,
        reply,
        async () => {
          const [thing, groups, principals] = await Promise.all([
            deps.iot.send(new DescribeThingCommand({ thingName })),
            deps.iot.send(new ListThingGroupsForThingCommand({ thingName, maxResults: 100 })),
            deps.iot.send(new ListThingPrincipalsCommand({ thingName, maxResults: 25 })),
          ]);
          return {
            thingArn: thing.thingArn,
            thingTypeName: thing.thingTypeName,
            attributes: thing.attributes ?? {},
            version: thing.version,
            groups: (groups.thingGroups ?? []).map((g) => g.groupName ?? ''),
            principals: principals.principals ?? [],
          };
        },
        `thing ${thingName}`,
      );
      if (!('principals' in registry)) return registry;
      const enrolled = deps.index.get(thingName, { now: deps.now(), onlineWindowMs: deps.onlineWindowMs });
      return {
        thingName,
        registry,
        enrolment:
          enrolled === undefined
            ? null
            : {
                enrolledAt: enrolled.enrolledAt,
                enrolledBy: enrolled.enrolledBy,
                certificateId: enrolled.certificateId,
              },
        connectivity: enrolled?.connectivity ?? 'offline',
        health: enrolled?.health ?? (await deps.health.device(thingName)) ?? null,
      };
    },
  );

  app.get(
    '/v1/devices/:thingName/history',
    { preHandler: guard('viewer'), schema: { params: DeviceParamsSchema } },
    async (req, reply) => {
      const { thingName } = req.params;
      return viaIot(
        kit,
        reply,
        async () => {
          await deps.iot.send(new DescribeThingCommand({ thingName })); // an unknown thing is a 404, not an empty history
          return deviceHistory({ iot: deps.iot, rollouts: deps.rollouts, health: deps.health }, thingName);
        },
        `thing ${thingName}`,
      );
    },
  );
}
