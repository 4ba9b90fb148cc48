import type { CsrCertificateIssuer } from '../../identity/csr-certificates.js';
import type { ThingPrincipals } from '../../registry/thing-principals.js';
import type { ControlPlaneApp } from '../control-plane-app.js';
import { ThingNameParams } from '../schemas/common-schemas.js';
import {
  AttachThingPrincipalQuery,
  CreateCertificateFromCsrBody,
  CreateCertificateFromCsrQuery,
  PrincipalHeaders,
  PrincipalListQuery,
} from '../schemas/principal-schemas.js';

/**
 * CreateCertificateFromCsr and the thing-principal operations (Attach/DetachThingPrincipal, ListThingPrincipals,
 * ListPrincipalThings); URIs, headers and bindings as the SDK's operation schemas declare them.
 * See https://docs.aws.amazon.com/iot/latest/apireference/API_CreateCertificateFromCsr.html
 */
export function registerPrincipalRoutes(
  app: ControlPlaneApp,
  services: { readonly issuer: CsrCertificateIssuer; readonly principals: ThingPrincipals },
): void {
  const { issuer, principals } = services;
  app.post(
    '/certificates',
    { schema: { querystring: CreateCertificateFromCsrQuery, body: CreateCertificateFromCsrBody } },
    (req) =>
      issuer.createCertificateFromCsr({
        certificateSigningRequest: req.body.certificateSigningRequest,
        ...(req.query.setAsActive === undefined ? {} : { setAsActive: req.query.setAsActive }),
      }),
  );
  app.put(
    '/things/:thingName/principals',
    { schema: { params: ThingNameParams, headers: PrincipalHeaders, querystring: AttachThingPrincipalQuery } },
    async (req) => {
      await principals.attachThingPrincipal({
        thingName: req.params.thingName,
        principal: req.headers['x-amzn-principal'],
        ...(req.query.thingPrincipalType === undefined ? {} : { thingPrincipalType: req.query.thingPrincipalType }),
      });
      return {};
    },
  );
  app.delete(
    '/things/:thingName/principals',
    { schema: { params: ThingNameParams, headers: PrincipalHeaders } },
    async (req) => {
      await principals.detachThingPrincipal({
        thingName: req.params.thingName,
        principal: req.headers['x-amzn-principal'],
      });
      return {};
    },
  );
  app.get(
    '/things/:thingName/principals',
    { schema: { params: ThingNameParams, querystring: PrincipalListQuery } },
    (req) => principals.listThingPrincipals({ thingName: req.params.thingName, ...req.query }),
  );
  app.get('/principals/things', { schema: { headers: PrincipalHeaders, querystring: PrincipalListQuery } }, (req) =>
    principals.listPrincipalThings({ principal: req.headers['x-amzn-principal'], ...req.query }),
  );
}
