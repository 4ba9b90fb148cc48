import { Type, type Static } from '@sinclair/typebox';
import { BundleManifestSchema, BundlePayloadSchema } from '../bundle/manifest.js';
import { JOB_ID, THING_NAME } from '../identifiers.js';

/**
 * The field schemas OTA payloads share. Identifier rules are taken from where protocol defines them (thing
 * names, job ids, the bundle manifest's name/version/securityVersion/hardware/sha256), never restated: an OTA
 * document accepts exactly the identifiers the rest of the system does. Rules only OTA has are defined here, once.
 */

export const ThingNameSchema = Type.String({ pattern: THING_NAME.pattern });
export const JobIdSchema = Type.String({ pattern: JOB_ID.pattern });
/** A bundle's name, version and securityVersion exactly as its signed manifest must carry them. */
export const BundleNameSchema = BundleManifestSchema.properties.name;
export const SemVerSchema = BundleManifestSchema.properties.version;
export const SecurityVersionSchema = BundleManifestSchema.properties.securityVersion;
/** A device's hardware type, as listed in a manifest's compatibleHardware. */
export const HardwareTypeSchema = BundleManifestSchema.properties.compatibleHardware.items;
/** Lowercase hex SHA-256, the manifest's digest rule. */
export const Sha256HexSchema = BundlePayloadSchema.properties.sha256;

// ---- rules only OTA has ----

export const SLOTS = ['A', 'B'] as const;
export const SlotSchema = Type.Union(SLOTS.map((s) => Type.Literal(s)));
export type Slot = Static<typeof SlotSchema>;
export const otherSlot = (slot: Slot): Slot => (slot === 'A' ? 'B' : 'A');

/** Milliseconds since the epoch (device clock). */
export const EpochMillisSchema = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
export const CounterSchema = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** A boot's identity: a random UUID (lowercase, as `crypto.randomUUID()` prints it), new at every agent start. */
export const BootIdSchema = Type.String({
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
});

/** Rollout and wave ids: the fleet service's, opaque to the agent, echoed in its reports. */
export const OpaqueIdSchema = Type.String({ minLength: 1, maxLength: 64 });

/** Health probes stay on the device: loopback HTTP only, so a job document cannot make devices probe the network. */
export const LoopbackHttpUrlSchema = Type.String({
  pattern: '^http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:\\d+)?/',
  maxLength: 1024,
});

/**
 * AWS IoT Jobs replaces a presigned-URL placeholder per execution when the job has presignedUrlConfig; the
 * developer guide documents `${aws:iot:s3-presigned-url-v2:https://s3.region.amazonaws.com/bucket/key}`, older
 * documents the form without `-v2`.
 * https://docs.aws.amazon.com/iot/latest/developerguide/create-manage-jobs.html (Presigned URLs)
 */
const PRESIGNED_PLACEHOLDER_SOURCE = '\\$\\{aws:iot:s3-presigned-url(-v2)?:https://[^\\s{}]+\\}';
const PRESIGNED_PLACEHOLDER = new RegExp(`^${PRESIGNED_PLACEHOLDER_SOURCE}$`);
/** Where a bundle is downloaded from: an http(s) URL, or the placeholder AWS fills in. */
export const DownloadUrlSchema = Type.String({
  pattern: `^(https?://[^\\s]+|${PRESIGNED_PLACEHOLDER_SOURCE})$`,
  maxLength: 4096,
});
/** True for a URL that is still AWS's placeholder: the job was not served through AWS IoT Jobs' presigning. */
export const isPresignedUrlPlaceholder = (url: string): boolean => PRESIGNED_PLACEHOLDER.test(url);

/**
 * Free text for operators (failure reasons, the reason of an operator rollback, check details): no control
 * characters and no lone surrogates, so that every character costs at most 3 bytes of JSON and byte budgets
 * computed from character limits hold. (Written for TypeBox's non-Unicode RegExp: it matches UTF-16 units.)
 */
const TEXT_PATTERN = '^(?:[^\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff])+$';
export const otaText = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: TEXT_PATTERN });

/**
 * One limit for reasons on every carrier (job statusDetails allow 1,024 characters, the shadow budget wants
 * less), so a reason moves unchanged from a job's statusDetails into a health report or the shadow.
 */
export const OTA_TEXT_MAX_LENGTH = 512;
export const OtaTextSchema = otaText(OTA_TEXT_MAX_LENGTH);

const OTHER_CHARACTERS = /\p{C}+/gu;

/**
 * Makes any text a valid OTA text, or undefined when nothing is left: control, format, unassigned and lone
 * surrogate characters (AWS's statusDetails value pattern is `[^\p{C}]+`) become one space each run, and text
 * over the limit is cut with an ellipsis, never between the two halves of a surrogate pair.
 */
export function toOtaText(text: string, maxLength = OTA_TEXT_MAX_LENGTH): string | undefined {
  const clean = text.replace(OTHER_CHARACTERS, ' ').trim();
  if (clean.length === 0) return undefined;
  if (clean.length <= maxLength) return clean;
  let end = maxLength - 1;
  const last = clean.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${clean.slice(0, end)}…`;
}
