import type { ShadowError } from '@otafleet/protocol';
import { AwsServiceError, type AwsErrorName } from '../aws-error.js';

// https://docs.aws.amazon.com/iot/latest/apireference/API_iotdata_UpdateThingShadow.html (Errors)
const NAMES: Record<ShadowError['code'], AwsErrorName> = {
  400: 'InvalidRequestException',
  401: 'UnauthorizedException',
  403: 'ForbiddenException',
  404: 'ResourceNotFoundException',
  409: 'ConflictException',
  413: 'RequestEntityTooLargeException',
  415: 'UnsupportedDocumentEncodingException',
  429: 'ThrottlingException',
  500: 'InternalFailureException',
};

/** The HTTP data plane's form of a shadow rejection. */
export const shadowErrorToAwsServiceError = (e: ShadowError): AwsServiceError =>
  new AwsServiceError(NAMES[e.code], e.code, e.message);
