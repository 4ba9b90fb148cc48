import { Type } from '@sinclair/typebox';
import {
  ATTRIBUTE_NAME_MAX,
  ATTRIBUTE_NAME_PATTERN,
  ATTRIBUTE_VALUE_MAX,
  ATTRIBUTE_VALUE_PATTERN,
  MAX_RESULTS_LIMIT,
  RESOURCE_NAME_MAX,
  RESOURCE_NAME_PATTERN,
} from '../../registry/registry-rules.js';

export const ResourceName = Type.String({ minLength: 1, maxLength: RESOURCE_NAME_MAX, pattern: RESOURCE_NAME_PATTERN });
export const NextToken = Type.String({ maxLength: 2048 });
export const MaxResults = Type.Integer({ minimum: 1, maximum: MAX_RESULTS_LIMIT });
export const Version = Type.Integer({ minimum: 0 });

export const Attributes = Type.Record(
  Type.String({ maxLength: ATTRIBUTE_NAME_MAX, pattern: ATTRIBUTE_NAME_PATTERN }),
  Type.String({ maxLength: ATTRIBUTE_VALUE_MAX, pattern: ATTRIBUTE_VALUE_PATTERN }),
  { additionalProperties: false },
);

export const AttributePayload = Type.Object(
  { attributes: Type.Optional(Attributes), merge: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

export const Tag = Type.Object(
  { Key: Type.String({ minLength: 1, maxLength: 128 }), Value: Type.String({ maxLength: 256 }) },
  { additionalProperties: false },
);

export const ThingNameParams = Type.Object({ thingName: ResourceName });
export const ThingGroupNameParams = Type.Object({ thingGroupName: ResourceName });
