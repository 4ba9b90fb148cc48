import { Type, type Static } from '@sinclair/typebox';
import { compileValidator } from '../schema.js';

/**
 * Wire shapes of the Device Shadow MQTT/HTTP API:
 * https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html
 * Sections (`desired`, `reported`, `delta`) and metadata are free-form JSON objects.
 */
export const ShadowSectionSchema = Type.Record(Type.String(), Type.Unknown());
export type ShadowSection = Static<typeof ShadowSectionSchema>;

const Timestamp = Type.Integer({ minimum: 0, description: 'Epoch seconds' });
const Version = Type.Integer({ minimum: 0 });
const ClientToken = Type.String({ minLength: 1 });
const NullableSection = Type.Union([ShadowSectionSchema, Type.Null()]);

export const ShadowUpdateRequestSchema = Type.Object({
  state: Type.Union([
    Type.Null(),
    Type.Object(
      { desired: Type.Optional(NullableSection), reported: Type.Optional(NullableSection) },
      { additionalProperties: false },
    ),
  ]),
  clientToken: Type.Optional(ClientToken),
  version: Type.Optional(Version),
});
export type ShadowUpdateRequest = Static<typeof ShadowUpdateRequestSchema>;

/** Body of `/get` and `/delete` requests (AWS's v2 SDKs send a clientToken; an empty payload is fine too). */
export const ShadowClientTokenRequestSchema = Type.Object({ clientToken: Type.Optional(ClientToken) });
export type ShadowClientTokenRequest = Static<typeof ShadowClientTokenRequestSchema>;

const SectionsSchema = Type.Object(
  { desired: Type.Optional(ShadowSectionSchema), reported: Type.Optional(ShadowSectionSchema) },
  { additionalProperties: false },
);
export type ShadowSections = Static<typeof SectionsSchema>;

export const ShadowUpdateAcceptedSchema = Type.Object({
  state: Type.Object({ desired: Type.Optional(NullableSection), reported: Type.Optional(NullableSection) }),
  metadata: Type.Object({
    desired: Type.Optional(ShadowSectionSchema),
    reported: Type.Optional(ShadowSectionSchema),
  }),
  version: Version,
  timestamp: Timestamp,
  clientToken: Type.Optional(ClientToken),
});
export type ShadowUpdateAccepted = Static<typeof ShadowUpdateAcceptedSchema>;

export const ShadowDeltaSchema = Type.Object({
  state: ShadowSectionSchema,
  metadata: ShadowSectionSchema,
  version: Version,
  timestamp: Timestamp,
  clientToken: Type.Optional(ClientToken),
});
export type ShadowDelta = Static<typeof ShadowDeltaSchema>;

export const ShadowDocumentSnapshotSchema = Type.Object({
  state: SectionsSchema,
  metadata: SectionsSchema,
  version: Version,
});
export type ShadowDocumentSnapshot = Static<typeof ShadowDocumentSnapshotSchema>;

export const ShadowDocumentsSchema = Type.Object({
  previous: Type.Optional(ShadowDocumentSnapshotSchema),
  current: ShadowDocumentSnapshotSchema,
  timestamp: Timestamp,
  clientToken: Type.Optional(ClientToken),
});
export type ShadowDocuments = Static<typeof ShadowDocumentsSchema>;

export const ShadowGetAcceptedSchema = Type.Object({
  state: Type.Object({
    desired: Type.Optional(ShadowSectionSchema),
    reported: Type.Optional(ShadowSectionSchema),
    delta: Type.Optional(ShadowSectionSchema),
  }),
  metadata: SectionsSchema,
  version: Version,
  timestamp: Timestamp,
  clientToken: Type.Optional(ClientToken),
});
export type ShadowGetAccepted = Static<typeof ShadowGetAcceptedSchema>;

export const ShadowDeleteAcceptedSchema = Type.Object({
  version: Version,
  timestamp: Timestamp,
  clientToken: Type.Optional(ClientToken),
});
export type ShadowDeleteAccepted = Static<typeof ShadowDeleteAcceptedSchema>;

export const ShadowErrorResponseSchema = Type.Object({
  code: Type.Integer({ minimum: 400, maximum: 599 }),
  message: Type.String(),
  timestamp: Type.Optional(Timestamp),
  clientToken: Type.Optional(ClientToken),
});
export type ShadowErrorResponse = Static<typeof ShadowErrorResponseSchema>;

export const ShadowNameListSchema = Type.Object({
  results: Type.Array(Type.String()),
  nextToken: Type.Optional(Type.String()),
  timestamp: Timestamp,
});
export type ShadowNameList = Static<typeof ShadowNameListSchema>;

export const shadowValidators = {
  updateRequest: compileValidator(ShadowUpdateRequestSchema),
  clientTokenRequest: compileValidator(ShadowClientTokenRequestSchema),
  updateAccepted: compileValidator(ShadowUpdateAcceptedSchema),
  delta: compileValidator(ShadowDeltaSchema),
  documents: compileValidator(ShadowDocumentsSchema),
  getAccepted: compileValidator(ShadowGetAcceptedSchema),
  deleteAccepted: compileValidator(ShadowDeleteAcceptedSchema),
  errorResponse: compileValidator(ShadowErrorResponseSchema),
  nameList: compileValidator(ShadowNameListSchema),
} as const;
