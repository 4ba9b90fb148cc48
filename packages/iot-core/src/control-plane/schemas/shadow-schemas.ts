import { Type } from '@sinclair/typebox';
import { SHADOW_NAME } from '@otafleet/protocol';

export const ShadowNameQuery = Type.Object({
  name: Type.Optional(
    Type.String({
      minLength: SHADOW_NAME.minLength,
      maxLength: SHADOW_NAME.maxLength,
      pattern: SHADOW_NAME.charsPattern,
    }),
  ),
});

export const ListNamedShadowsQuery = Type.Object({
  nextToken: Type.Optional(Type.String({ maxLength: 2048 })),
  pageSize: Type.Optional(Type.Integer({ minimum: 1 })),
});
