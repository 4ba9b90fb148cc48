/**
 * Device Shadow rejections, worded exactly as AWS words them:
 * https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-error-messages.html
 */
export type ShadowErrorCode = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500;

export interface ShadowError {
  readonly code: ShadowErrorCode;
  readonly message: string;
  /** The request's clientToken when it could be read, so the rejection can be matched to its request. */
  readonly clientToken?: string;
}

export const ShadowErrorMessage = {
  invalidJson: 'Invalid JSON',
  missingState: 'Missing required node: state',
  stateNotObject: 'State node must be an object',
  desiredNotObject: 'Desired node must be an object',
  reportedNotObject: 'Reported node must be an object',
  invalidVersion: 'Invalid version',
  invalidClientToken: 'Invalid clientToken',
  invalidNode: 'State contains an invalid node',
  versionConflict: 'Version conflict',
  payloadTooLarge: 'The payload exceeds the maximum size allowed',
  unsupportedEncoding: 'Unsupported documented encoding; supported encoding is UTF-8',
  // AWS documents the 429 case (more than 10 requests in flight on one connection) but not its wording.
  tooManyRequests: 'Too Many Requests',
  internalFailure: 'Internal service failure',
} as const;

export const tooDeepMessage = (maxDepth: number): string =>
  `JSON contains too many levels of nesting; maximum is ${maxDepth}`;

/**
 * AWS names the shadow `thing` (classic) or `thing~shadowName` (named) in this message, in quotes, as
 * its live service answers (the error-messages page only gives the pattern).
 */
export const noShadowMessage = (thingName: string, shadowName?: string): string =>
  `No shadow exists with name: '${shadowName === undefined ? thingName : `${thingName}~${shadowName}`}'`;

export function shadowError(code: ShadowErrorCode, message: string, clientToken?: string): ShadowError {
  return clientToken === undefined ? { code, message } : { code, message, clientToken };
}
