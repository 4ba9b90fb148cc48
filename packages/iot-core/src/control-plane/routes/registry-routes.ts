import type { ThingRegistry } from '../../registry/thing-registry.js';
import { toWire } from '../aws-reply.js';
import type { ControlPlaneApp } from '../control-plane-app.js';
import { ThingGroupNameParams, ThingNameParams } from '../schemas/common-schemas.js';
import {
  AddThingToThingGroupBody,
  CreateThingBody,
  CreateThingGroupBody,
  DeleteQuery,
  ListThingsInThingGroupQuery,
  ListThingsQuery,
  MembershipBody,
} from '../schemas/registry-schemas.js';

/** Things and thing groups; URIs and bindings as the SDK's operation schemas declare them. */
export function registerRegistryRoutes(app: ControlPlaneApp, registry: ThingRegistry): void {
  app.post('/things/:thingName', { schema: { params: ThingNameParams, body: CreateThingBody } }, (req) =>
    toWire(registry.createThing({ thingName: req.params.thingName, ...req.body })),
  );
  app.get('/things/:thingName', { schema: { params: ThingNameParams } }, (req) =>
    toWire(registry.describeThing({ thingName: req.params.thingName })),
  );
  app.delete('/things/:thingName', { schema: { params: ThingNameParams, querystring: DeleteQuery } }, (req) => {
    registry.deleteThing({ thingName: req.params.thingName, ...req.query });
    return {};
  });
  app.get('/things', { schema: { querystring: ListThingsQuery } }, (req) => toWire(registry.listThings(req.query)));

  app.post(
    '/thing-groups/:thingGroupName',
    { schema: { params: ThingGroupNameParams, body: CreateThingGroupBody } },
    (req) => toWire(registry.createThingGroup({ thingGroupName: req.params.thingGroupName, ...req.body })),
  );
  app.get('/thing-groups/:thingGroupName', { schema: { params: ThingGroupNameParams } }, (req) =>
    toWire(registry.describeThingGroup({ thingGroupName: req.params.thingGroupName })),
  );
  app.delete(
    '/thing-groups/:thingGroupName',
    { schema: { params: ThingGroupNameParams, querystring: DeleteQuery } },
    (req) => {
      registry.deleteThingGroup({ thingGroupName: req.params.thingGroupName, ...req.query });
      return {};
    },
  );
  app.put('/thing-groups/addThingToThingGroup', { schema: { body: AddThingToThingGroupBody } }, (req) => {
    registry.addThingToThingGroup(req.body);
    return {};
  });
  app.put('/thing-groups/removeThingFromThingGroup', { schema: { body: MembershipBody } }, (req) => {
    registry.removeThingFromThingGroup(req.body);
    return {};
  });
  app.get(
    '/thing-groups/:thingGroupName/things',
    { schema: { params: ThingGroupNameParams, querystring: ListThingsInThingGroupQuery } },
    (req) => toWire(registry.listThingsInThingGroup({ thingGroupName: req.params.thingGroupName, ...req.query })),
  );
}
