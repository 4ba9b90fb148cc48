import type { ShadowControlPlane } from '../../service-contracts.js';
import type { ControlPlaneApp } from '../control-plane-app.js';
import { ThingNameParams } from '../schemas/common-schemas.js';
import { ListNamedShadowsQuery, ShadowNameQuery } from '../schemas/shadow-schemas.js';

const SHADOW_URL = '/things/:thingName/shadow';
const LIST_NAMED_SHADOWS_URL = '/api/things/shadow/ListNamedShadowsForThing/:thingName';

/** Data-plane routes are signed for `iotdata` (the client's signing name) and carry raw document bytes. */
export const isDataPlaneRoute = (routeUrl: string): boolean =>
  routeUrl === SHADOW_URL || routeUrl === LIST_NAMED_SHADOWS_URL;

/** The shadow REST API; documents pass through as the bytes the Shadow service produces. */
export function registerShadowRoutes(app: ControlPlaneApp, shadows: ShadowControlPlane): void {
  app.get(SHADOW_URL, { schema: { params: ThingNameParams, querystring: ShadowNameQuery } }, (req, reply) =>
    reply.type('application/json').send(shadows.getThingShadow(req.params.thingName, req.query.name)),
  );
  app.post(SHADOW_URL, { schema: { params: ThingNameParams, querystring: ShadowNameQuery } }, async (req, reply) => {
    const payload = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const accepted = await shadows.updateThingShadow(req.params.thingName, req.query.name, payload);
    return reply.type('application/json').send(accepted);
  });
  app.delete(SHADOW_URL, { schema: { params: ThingNameParams, querystring: ShadowNameQuery } }, async (req, reply) => {
    const deleted = await shadows.deleteThingShadow(req.params.thingName, req.query.name);
    return reply.type('application/json').send(deleted);
  });
  app.get(
    LIST_NAMED_SHADOWS_URL,
    { schema: { params: ThingNameParams, querystring: ListNamedShadowsQuery } },
    (req) => {
      const { nextToken, pageSize } = req.query;
      return shadows.listNamedShadowsForThing(req.params.thingName, {
        ...(nextToken === undefined ? {} : { nextToken }),
        ...(pageSize === undefined ? {} : { pageSize }),
      });
    },
  );
}
