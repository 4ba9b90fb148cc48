/**
 * An error the control plane returns the way AWS does: an exception name (sent as `x-amzn-ErrorType`
 * and in the JSON body), an HTTP status and a message. The services throw these; the HTTP layer
 * serialises them for the AWS SDK clients, which raise the exception class of the same name.
 */
export type AwsErrorName =
  | 'InvalidRequestException'
  | 'InvalidQueryException'
  | 'ResourceNotFoundException'
  | 'ResourceAlreadyExistsException'
  | 'ConflictException'
  | 'VersionConflictException'
  | 'VersionsLimitExceededException'
  | 'LimitExceededException'
  | 'ThrottlingException'
  | 'UnauthorizedException'
  | 'ForbiddenException'
  | 'InternalFailureException'
  | 'ServiceUnavailableException'
  | 'RequestEntityTooLargeException'
  | 'MethodNotAllowedException'
  | 'UnsupportedDocumentEncodingException'
  | 'InvalidStateTransitionException'
  | 'CertificateStateException'
  | 'UnknownOperationException';

export class AwsServiceError extends Error {
  override readonly name: AwsErrorName;
  readonly statusCode: number;

  constructor(name: AwsErrorName, statusCode: number, message: string) {
    super(message);
    this.name = name;
    this.statusCode = statusCode;
  }
}

export const isAwsServiceError = (e: unknown): e is AwsServiceError => e instanceof AwsServiceError;
