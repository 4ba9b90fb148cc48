/**
 * Every AWS IoT identifier rule this project checks, written once: topics, certificates, the registry, the
 * Shadow and Jobs services and the HTTP schemas all take them from here. Patterns and lengths are AWS's:
 * https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html (thingName),
 * https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThingGroup.html (thingGroupName),
 * https://docs.aws.amazon.com/iot/latest/apireference/API_CreateJob.html (jobId, namespaceId),
 * https://docs.aws.amazon.com/iot/latest/apireference/API_iot-jobs-data_UpdateJobExecution.html (statusDetails),
 * https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-mqtt.html (shadow names),
 * https://docs.aws.amazon.com/general/latest/gr/iot-core.html#device-shadow-limits (clientToken: 64 bytes).
 */

/** One identifier's rule: which characters, how many. All classes are ASCII, so characters are bytes. */
export interface IdentifierRule {
  /** What the identifier is called in AWS's API (used in error messages). */
  readonly name: string;
  /** The character class, as a regular-expression fragment. */
  readonly chars: string;
  readonly minLength: number;
  readonly maxLength: number;
  /** Anchored pattern with the lengths in it: `^[…]{min,max}$`. */
  readonly pattern: string;
  /** Anchored pattern of the characters only, for schemas that state minLength/maxLength themselves. */
  readonly charsPattern: string;
  /** "1-128 characters of [a-zA-Z0-9:_-]", for error messages. */
  readonly description: string;
  readonly test: (value: string) => boolean;
}

function identifierRule(name: string, chars: string, minLength: number, maxLength: number): IdentifierRule {
  const pattern = `^${chars}{${minLength},${maxLength}}$`;
  const regex = new RegExp(pattern);
  return Object.freeze({
    name,
    chars,
    minLength,
    maxLength,
    pattern,
    charsPattern: `^${chars}+$`,
    description: `${minLength}-${maxLength} characters of ${chars}`,
    test: (value: string) => regex.test(value),
  });
}

const NAME_CHARS = '[a-zA-Z0-9:_-]';
const JOB_ID_CHARS = '[a-zA-Z0-9_-]';

export const THING_NAME = identifierRule('thingName', NAME_CHARS, 1, 128);
export const THING_GROUP_NAME = identifierRule('thingGroupName', NAME_CHARS, 1, 128);
export const SHADOW_NAME = identifierRule('shadowName', NAME_CHARS, 1, 64);
export const JOB_ID = identifierRule('jobId', JOB_ID_CHARS, 1, 64);
export const JOB_NAMESPACE_ID = identifierRule('namespaceId', JOB_ID_CHARS, 1, 64);
export const JOB_TEMPLATE_ID = identifierRule('jobTemplateId', JOB_ID_CHARS, 1, 64);
/** Keys of a job execution's statusDetails map. */
export const STATUS_DETAILS_KEY = identifierRule('statusDetails key', NAME_CHARS, 1, 128);

/** This project's privileged service names (certificate CN `svc.<name>`): job-id characters, never a `.`. */
export const SERVICE_NAME = identifierRule('serviceName', JOB_ID_CHARS, 1, 64);

/** Shadow and Jobs request clientToken: any text, at most 64 bytes (UTF-8), echoed back in the answer. */
export const MAX_CLIENT_TOKEN_BYTES = 64;
export const isValidClientToken = (token: string): boolean =>
  token.length > 0 && Buffer.byteLength(token, 'utf8') <= MAX_CLIENT_TOKEN_BYTES;

export const THING_NAME_PATTERN_SOURCE = THING_NAME.pattern;
export const THING_NAME_PATTERN = new RegExp(THING_NAME.pattern);
export const isValidThingName = THING_NAME.test;
export const JOB_ID_PATTERN = new RegExp(JOB_ID.pattern);
export const isValidJobId = JOB_ID.test;
