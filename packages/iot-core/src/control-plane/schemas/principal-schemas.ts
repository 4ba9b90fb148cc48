import { Type } from '@sinclair/typebox';
import { NextToken } from './common-schemas.js';

const strict = { additionalProperties: false } as const;

// Principal ARNs, thing principal types and CSRs are checked by the services, so a wrong one gets AWS's wording.
export const PrincipalHeaders = Type.Object({ 'x-amzn-principal': Type.String({ minLength: 1, maxLength: 2048 }) });
export const AttachThingPrincipalQuery = Type.Object({ thingPrincipalType: Type.Optional(Type.String()) });
export const PrincipalListQuery = Type.Object({
  nextToken: Type.Optional(NextToken),
  maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: 250 })),
});
export const CreateCertificateFromCsrQuery = Type.Object({ setAsActive: Type.Optional(Type.Boolean()) });
export const CreateCertificateFromCsrBody = Type.Object(
  { certificateSigningRequest: Type.String({ minLength: 1, maxLength: 16 * 1024 }) },
  strict,
);
