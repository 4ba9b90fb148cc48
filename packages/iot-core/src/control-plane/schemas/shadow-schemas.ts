import { Type } from '@sinclair/typebox';

/** Shadow names: 1-64 of [a-zA-Z0-9:_-] (AWS IoT Device Shadow service, shadow names). */
export const ShadowNameQuery = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9:_-]+$' })),
});

export const ListNamedShadowsQuery = Type.Object({
  nextToken: Type.Optional(Type.String({ maxLength: 2048 })),
  pageSize: Type.Optional(Type.Integer({ minimum: 1 })),
});
