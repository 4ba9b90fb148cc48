/** An AWS IoT refusal as the operator API reports it: an HTTP status, a stable code and AWS's message. */
export interface IotFailure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

const BY_AWS_NAME: Readonly<Record<string, { status: number; code: string }>> = {
  ResourceNotFoundException: { status: 404, code: 'NOT_FOUND' },
  ResourceAlreadyExistsException: { status: 409, code: 'ALREADY_EXISTS' },
  InvalidRequestException: { status: 422, code: 'IOT_INVALID_REQUEST' },
  InvalidQueryException: { status: 422, code: 'INVALID_QUERY' },
  VersionConflictException: { status: 409, code: 'VERSION_CONFLICT' },
  LimitExceededException: { status: 429, code: 'IOT_LIMIT_EXCEEDED' },
  ThrottlingException: { status: 429, code: 'IOT_THROTTLED' },
  CertificateStateException: { status: 409, code: 'CERTIFICATE_STATE' },
};

/** The IoT error `e` names, or undefined when `e` is not one AWS IoT answered with (a network failure, a bug). */
export function iotFailure(e: unknown, what?: string): IotFailure | undefined {
  if (!(e instanceof Error)) return undefined;
  const known = BY_AWS_NAME[e.name];
  if (known === undefined) return undefined;
  return { ...known, message: what === undefined ? e.message : `${what}: ${e.message}` };
}

export const isIotError = (e: unknown, name: string): boolean => e instanceof Error && e.name === name;
