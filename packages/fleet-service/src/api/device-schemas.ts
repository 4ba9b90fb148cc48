import { Type, type Static } from '@sinclair/typebox';
import { THING_GROUP_NAME, THING_NAME } from '@otafleet/protocol';
import { CONNECTIVITY_VALUES, HEALTH_FILTER_VALUES, SORT_KEYS } from '../devices/device-index.js';

const strict = { additionalProperties: false } as const;
const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** AWS IoT's attribute name and value characters (CreateThing's attributePayload). */
const ATTRIBUTE_NAME = '[a-zA-Z0-9_.,@/:#-]{1,128}';
const ATTRIBUTE_VALUE = '[a-zA-Z0-9_.,@/:#=\\[\\]-]{0,800}';
export const ThingNameSchema = Type.String({ pattern: THING_NAME.pattern });
export const GroupNameSchema = Type.String({ pattern: THING_GROUP_NAME.pattern });
export const MAX_BULK_DEVICES = 1000;

const Attributes = Type.Record(
  Type.String({ pattern: `^${ATTRIBUTE_NAME}$` }),
  Type.String({ pattern: `^${ATTRIBUTE_VALUE}$` }),
  { additionalProperties: false, maxProperties: 50 },
);
const Pem = Type.String({ minLength: 1, maxLength: 16 * 1024 });

export const CertificateRequestSchema = Type.Union([
  Type.Object({ kind: Type.Literal('csr'), csr: Pem }, strict),
  Type.Object({ kind: Type.Literal('generate') }, strict),
  Type.Object(
    { kind: Type.Literal('existing'), certificateArn: Type.String({ minLength: 1, maxLength: 2048 }) },
    strict,
  ),
  Type.Object({ kind: Type.Literal('none') }, strict),
]);

export const EnrolBodySchema = Type.Object(
  {
    thingName: ThingNameSchema,
    thingTypeName: Type.Optional(Type.String({ pattern: THING_NAME.pattern })),
    attributes: Type.Optional(Attributes),
    groups: Type.Optional(Type.Array(GroupNameSchema, { maxItems: 10, uniqueItems: true })),
    createGroups: Type.Optional(Type.Boolean()),
    certificate: CertificateRequestSchema,
  },
  strict,
);
export type EnrolBody = Static<typeof EnrolBodySchema>;

export const BulkEnrolBodySchema = Type.Object(
  {
    devices: Type.Array(EnrolBodySchema, { minItems: 1, maxItems: MAX_BULK_DEVICES }),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
  },
  strict,
);

const AttributeFilter = Type.String({ pattern: `^${ATTRIBUTE_NAME}=${ATTRIBUTE_VALUE}$` });
export const ListDevicesQuerySchema = Type.Object(
  {
    /** `name=value`; repeat for several (all must match). */
    attribute: Type.Optional(Type.Union([AttributeFilter, Type.Array(AttributeFilter, { maxItems: 10 })])),
    thingType: Type.Optional(Type.String({ pattern: THING_NAME.pattern })),
    version: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    slot: Type.Optional(literals(['A', 'B'] as const)),
    health: Type.Optional(literals(HEALTH_FILTER_VALUES)),
    lastSeenBefore: Type.Optional(Type.String({ format: 'date-time' })),
    lastSeenAfter: Type.Optional(Type.String({ format: 'date-time' })),
    group: Type.Optional(GroupNameSchema),
    connectivity: Type.Optional(literals(CONNECTIVITY_VALUES)),
    sort: Type.Optional(literals(SORT_KEYS)),
    order: Type.Optional(literals(['asc', 'desc'] as const)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    nextToken: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z0-9_-]+$' })),
  },
  strict,
);
export type ListDevicesQuery = Static<typeof ListDevicesQuerySchema>;

export const DeviceParamsSchema = Type.Object({ thingName: ThingNameSchema }, strict);
export const GroupParamsSchema = Type.Object({ groupName: GroupNameSchema }, strict);
export const GroupMemberParamsSchema = Type.Object({ groupName: GroupNameSchema, thingName: ThingNameSchema }, strict);

export const CreateGroupBodySchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('static'),
      groupName: GroupNameSchema,
      description: Type.Optional(Type.String({ maxLength: 2028 })),
      parentGroupName: Type.Optional(GroupNameSchema),
    },
    strict,
  ),
  Type.Object(
    {
      kind: Type.Literal('dynamic'),
      groupName: GroupNameSchema,
      description: Type.Optional(Type.String({ maxLength: 2028 })),
      queryString: Type.String({ minLength: 1, maxLength: 1024 }),
    },
    strict,
  ),
]);

const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250 })),
  nextToken: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
};
export const ListGroupsQuerySchema = Type.Object(Paging, strict);
export const GroupMembersQuerySchema = Type.Object({ ...Paging, recursive: Type.Optional(Type.Boolean()) }, strict);
