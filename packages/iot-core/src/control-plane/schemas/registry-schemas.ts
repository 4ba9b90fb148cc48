import { Type } from '@sinclair/typebox';
import { AttributePayload, MaxResults, NextToken, ResourceName, Tag, Version } from './common-schemas.js';

const strict = { additionalProperties: false } as const;

export const CreateThingBody = Type.Object(
  {
    thingTypeName: Type.Optional(ResourceName),
    attributePayload: Type.Optional(AttributePayload),
    billingGroupName: Type.Optional(ResourceName),
  },
  strict,
);

export const DeleteQuery = Type.Object({ expectedVersion: Type.Optional(Version) });

export const ListThingsQuery = Type.Object({
  nextToken: Type.Optional(NextToken),
  maxResults: Type.Optional(MaxResults),
  attributeName: Type.Optional(Type.String({ maxLength: 128, pattern: '^[a-zA-Z0-9_.,@/:#-]+$' })),
  attributeValue: Type.Optional(Type.String({ maxLength: 800, pattern: '^[a-zA-Z0-9_.,@/:#=\\[\\]-]*$' })),
  thingTypeName: Type.Optional(ResourceName),
  usePrefixAttributeValue: Type.Optional(Type.Boolean()),
});

export const UpdateThingBody = Type.Object(
  {
    thingTypeName: Type.Optional(ResourceName),
    attributePayload: Type.Optional(AttributePayload),
    expectedVersion: Type.Optional(Version),
    removeThingType: Type.Optional(Type.Boolean()),
  },
  strict,
);

// https://docs.aws.amazon.com/iot/latest/apireference/API_ThingGroupProperties.html
const ThingGroupProperties = Type.Object(
  {
    thingGroupDescription: Type.Optional(Type.String({ maxLength: 2028 })),
    attributePayload: Type.Optional(AttributePayload),
  },
  strict,
);

export const CreateThingGroupBody = Type.Object(
  {
    parentGroupName: Type.Optional(ResourceName),
    thingGroupProperties: Type.Optional(ThingGroupProperties),
    tags: Type.Optional(Type.Array(Tag, { maxItems: 50 })),
  },
  strict,
);

export const UpdateThingGroupBody = Type.Object(
  { thingGroupProperties: ThingGroupProperties, expectedVersion: Type.Optional(Version) },
  strict,
);

export const ListThingGroupsQuery = Type.Object({
  nextToken: Type.Optional(NextToken),
  maxResults: Type.Optional(MaxResults),
  parentGroup: Type.Optional(ResourceName),
  namePrefixFilter: Type.Optional(ResourceName),
  recursive: Type.Optional(Type.Boolean()),
});

export const ListThingGroupsForThingQuery = Type.Object({
  nextToken: Type.Optional(NextToken),
  maxResults: Type.Optional(MaxResults),
});

const Arn = Type.String({ minLength: 1, maxLength: 2048 });

export const MembershipBody = Type.Object(
  {
    thingGroupName: Type.Optional(ResourceName),
    thingGroupArn: Type.Optional(Arn),
    thingName: Type.Optional(ResourceName),
    thingArn: Type.Optional(Arn),
  },
  strict,
);

export const AddThingToThingGroupBody = Type.Object(
  { ...MembershipBody.properties, overrideDynamicGroups: Type.Optional(Type.Boolean()) },
  strict,
);

export const ListThingsInThingGroupQuery = Type.Object({
  recursive: Type.Optional(Type.Boolean()),
  nextToken: Type.Optional(NextToken),
  maxResults: Type.Optional(MaxResults),
});

// https://docs.aws.amazon.com/iot/latest/apireference/API_SearchIndex.html
export const SearchIndexBody = Type.Object(
  {
    indexName: Type.Optional(ResourceName),
    queryString: Type.String(),
    nextToken: Type.Optional(NextToken),
    maxResults: Type.Optional(Type.Integer()),
    queryVersion: Type.Optional(Type.String({ maxLength: 128 })),
  },
  strict,
);

// https://docs.aws.amazon.com/iot/latest/apireference/API_CreateDynamicThingGroup.html
export const CreateDynamicThingGroupBody = Type.Object(
  {
    thingGroupProperties: Type.Optional(ThingGroupProperties),
    indexName: Type.Optional(ResourceName),
    queryString: Type.String(),
    queryVersion: Type.Optional(Type.String({ maxLength: 128 })),
    tags: Type.Optional(Type.Array(Tag, { maxItems: 50 })),
  },
  strict,
);

export const UpdateDynamicThingGroupBody = Type.Object(
  {
    thingGroupProperties: ThingGroupProperties,
    expectedVersion: Type.Optional(Version),
    indexName: Type.Optional(ResourceName),
    queryString: Type.Optional(Type.String()),
    queryVersion: Type.Optional(Type.String({ maxLength: 128 })),
  },
  strict,
);
