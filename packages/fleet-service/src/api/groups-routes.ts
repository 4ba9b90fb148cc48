import type { Groups } from '../devices/groups.js';
import {
  CreateGroupBodySchema,
  GroupMemberParamsSchema,
  GroupMembersQuerySchema,
  GroupParamsSchema,
  ListGroupsQuerySchema,
} from './device-schemas.js';
import { viaIot, type ApiApp, type RouteKit } from './route-kit.js';

/** Static and dynamic thing groups and their members, straight through to the AWS IoT registry. */
export function registerGroupRoutes(app: ApiApp, kit: RouteKit, groups: Groups): void {
  const { guard } = kit;
  app.get('/v1/groups', { preHandler: guard('viewer'), schema: { querystring: ListGroupsQuerySchema } }, (req, reply) =>
    viaIot(kit, reply, () =>
      groups.list({
        limit: req.query.limit ?? 100,
        ...(req.query.nextToken === undefined ? {} : { nextToken: req.query.nextToken }),
      }),
    ),
  );
  app.post(
    '/v1/groups',
    { preHandler: guard('operator'), schema: { body: CreateGroupBodySchema } },
    async (req, reply) => {
      const created = await viaIot(kit, reply, () => groups.create(req.body), `thing group ${req.body.groupName}`);
      return 'groupName' in created ? reply.code(201).send(created) : created;
    },
  );
  app.get(
    '/v1/groups/:groupName',
    { preHandler: guard('viewer'), schema: { params: GroupParamsSchema } },
    (req, reply) =>
      viaIot(kit, reply, () => groups.describe(req.params.groupName), `thing group ${req.params.groupName}`),
  );
  app.delete(
    '/v1/groups/:groupName',
    { preHandler: guard('operator'), schema: { params: GroupParamsSchema } },
    (req, reply) =>
      viaIot(kit, reply, () => groups.delete(req.params.groupName), `thing group ${req.params.groupName}`),
  );
  app.get(
    '/v1/groups/:groupName/members',
    { preHandler: guard('viewer'), schema: { params: GroupParamsSchema, querystring: GroupMembersQuerySchema } },
    (req, reply) =>
      viaIot(
        kit,
        reply,
        () =>
          groups.members(req.params.groupName, {
            limit: req.query.limit ?? 100,
            ...(req.query.nextToken === undefined ? {} : { nextToken: req.query.nextToken }),
            ...(req.query.recursive === undefined ? {} : { recursive: req.query.recursive }),
          }),
        `thing group ${req.params.groupName}`,
      ),
  );
  app.put(
    '/v1/groups/:groupName/members/:thingName',
    { preHandler: guard('operator'), schema: { params: GroupMemberParamsSchema } },
    (req, reply) =>
      viaIot(
        kit,
        reply,
        async () => {
          await groups.addMember(req.params.groupName, req.params.thingName);
          return { groupName: req.params.groupName, thingName: req.params.thingName, member: true };
        },
        `thing group ${req.params.groupName}`,
      ),
  );
  app.delete(
    '/v1/groups/:groupName/members/:thingName',
    { preHandler: guard('operator'), schema: { params: GroupMemberParamsSchema } },
    (req, reply) =>
      viaIot(
        kit,
        reply,
        async () => {
          await groups.removeMember(req.params.groupName, req.params.thingName);
          return { groupName: req.params.groupName, thingName: req.params.thingName, member: false };
        },
        `thing group ${req.params.groupName}`,
      ),
  );
}
