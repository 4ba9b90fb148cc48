import type { ThingRegistry } from '../../registry/thing-registry.js';
import { toWire } from '../aws-reply.js';
import type { ControlPlaneApp } from '../control-plane-app.js';
import { ThingGroupNameParams, ThingNameParams } from '../schemas/common-schemas.js';
import {
  AddThingToThingGroupBody,
  CreateDynamicThingGroupBody,
  CreateThingBody,
  CreateThingGroupBody,
  DeleteQuery,
  ListThingsInThingGroupQuery,
  ListThingGroupsForThingQuery,
  ListThingGroupsQuery,
  ListThingsQuery,
  MembershipBody,
  SearchIndexBody,
  UpdateDynamicThingGroupBody,
  UpdateThingBody,
  UpdateThingGroupBody,
} from '../schemas/registry-schemas.js';

/** Things and thing groups; URIs and bindings as the SDK's operation schemas declare them. */
export function registerRegistryRoutes(app: ControlPlaneApp, registry: ThingRegistry): void {
  app.post('/things/:thingName', { schema: { params: ThingNameParams, body: CreateThingBody } }, async (req) =>
    toWire(await registry.createThing({ thingName: req.params.thingName, ...req.body })),
  );
  app.get('/things/:thingName', { schema: { params: ThingNameParams } }, async (req) =>
    toWire(await registry.describeThing({ thingName: req.params.thingName })),
  );
  app.patch('/things/:thingName', { schema: { params: ThingNameParams, body: UpdateThingBody } }, async (req) => {
    await registry.updateThing({ thingName: req.params.thingName, ...req.body });
    return {};
  });
  app.delete('/things/:thingName', { schema: { params: ThingNameParams, querystring: DeleteQuery } }, async (req) => {
    await registry.deleteThing({ thingName: req.params.thingName, ...req.query });
    return {};
  });
  app.get('/things', { schema: { querystring: ListThingsQuery } }, async (req) =>
    toWire(await registry.listThings(req.query)),
  );
  app.get(
    '/things/:thingName/thing-groups',
    { schema: { params: ThingNameParams, querystring: ListThingGroupsForThingQuery } },
    async (req) => toWire(await registry.listThingGroupsForThing({ thingName: req.params.thingName, ...req.query })),
  );

  app.post(
    '/thing-groups/:thingGroupName',
    { schema: { params: ThingGroupNameParams, body: CreateThingGroupBody } },
    async (req) => toWire(await registry.createThingGroup({ thingGroupName: req.params.thingGroupName, ...req.body })),
  );
  app.get('/thing-groups/:thingGroupName', { schema: { params: ThingGroupNameParams } }, async (req) =>
    toWire(await registry.describeThingGroup({ thingGroupName: req.params.thingGroupName })),
  );
  app.patch(
    '/thing-groups/:thingGroupName',
    { schema: { params: ThingGroupNameParams, body: UpdateThingGroupBody } },
    async (req) => toWire(await registry.updateThingGroup({ thingGroupName: req.params.thingGroupName, ...req.body })),
  );
  app.delete(
    '/thing-groups/:thingGroupName',
    { schema: { params: ThingGroupNameParams, querystring: DeleteQuery } },
    async (req) => {
      await registry.deleteThingGroup({ thingGroupName: req.params.thingGroupName, ...req.query });
      return {};
    },
  );
  app.get('/thing-groups', { schema: { querystring: ListThingGroupsQuery } }, async (req) =>
    toWire(await registry.listThingGroups(req.query)),
  );
  app.put('/thing-groups/addThingToThingGroup', { schema: { body: AddThingToThingGroupBody } }, async (req) => {
    await registry.addThingToThingGroup(req.body);
    return {};
  });
  app.put('/thing-groups/removeThingFromThingGroup', { schema: { body: MembershipBody } }, async (req) => {
    await registry.removeThingFromThingGroup(req.body);
    return {};
  });
  app.get(
    '/thing-groups/:thingGroupName/things',
    { schema: { params: ThingGroupNameParams, querystring: ListThingsInThingGroupQuery } },
    async (req) =>
      toWire(await registry.listThingsInThingGroup({ thingGroupName: req.params.thingGroupName, ...req.query })),
  );

  app.post('/indices/search', { schema: { body: SearchIndexBody } }, async (req) =>
    toWire(await registry.searchIndex(req.body)),
  );
  app.post(
    '/dynamic-thing-groups/:thingGroupName',
    { schema: { params: ThingGroupNameParams, body: CreateDynamicThingGroupBody } },
    async (req) =>
      toWire(await registry.createDynamicThingGroup({ thingGroupName: req.params.thingGroupName, ...req.body })),
  );
  app.patch(
    '/dynamic-thing-groups/:thingGroupName',
    { schema: { params: ThingGroupNameParams, body: UpdateDynamicThingGroupBody } },
    async (req) =>
      toWire(await registry.updateDynamicThingGroup({ thingGroupName: req.params.thingGroupName, ...req.body })),
  );
  app.delete(
    '/dynamic-thing-groups/:thingGroupName',
    { schema: { params: ThingGroupNameParams, querystring: DeleteQuery } },
    async (req) => {
      await registry.deleteDynamicThingGroup({ thingGroupName: req.params.thingGroupName, ...req.query });
      return {};
    },
  );
}
