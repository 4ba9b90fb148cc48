import { Type } from '@sinclair/typebox';
import { MAX_PAGE_SIZE } from '../../identity/certificate-registry.js';

// Ids and statuses are checked by the registry, so a wrong one gets AWS's wording rather than a schema path.
export const CertificateIdParams = Type.Object({ certificateId: Type.String() });
export const UpdateCertificateQuery = Type.Object({ newStatus: Type.String() });
export const ListCertificatesQuery = Type.Object({
  pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE })),
  marker: Type.Optional(Type.String({ maxLength: 1024, pattern: '^[A-Za-z0-9+/]+={0,2}$' })),
  isAscendingOrder: Type.Optional(Type.Boolean()),
});
