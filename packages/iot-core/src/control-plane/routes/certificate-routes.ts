import type { CertificateRegistry } from '../../identity/certificate-registry.js';
import { toWire } from '../aws-reply.js';
import type { ControlPlaneApp } from '../control-plane-app.js';
import { CertificateIdParams, ListCertificatesQuery, UpdateCertificateQuery } from '../schemas/certificate-schemas.js';

/**
 * DescribeCertificate, ListCertificates and UpdateCertificate; URIs and bindings as the SDK declares them.
 * See https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateCertificate.html
 */
export function registerCertificateRoutes(app: ControlPlaneApp, certificates: CertificateRegistry): void {
  app.get('/certificates/:certificateId', { schema: { params: CertificateIdParams } }, (req) =>
    toWire(certificates.describeCertificate({ certificateId: req.params.certificateId })),
  );
  app.put(
    '/certificates/:certificateId',
    { schema: { params: CertificateIdParams, querystring: UpdateCertificateQuery } },
    (req) => {
      certificates.updateCertificate({ certificateId: req.params.certificateId, newStatus: req.query.newStatus });
      return {};
    },
  );
  app.get('/certificates', { schema: { querystring: ListCertificatesQuery } }, (req) =>
    toWire(
      certificates.listCertificates({
        ...(req.query.pageSize === undefined ? {} : { pageSize: req.query.pageSize }),
        ...(req.query.marker === undefined ? {} : { marker: req.query.marker }),
        ...(req.query.isAscendingOrder === undefined ? {} : { ascendingOrder: req.query.isAscendingOrder }),
      }),
    ),
  );
}
