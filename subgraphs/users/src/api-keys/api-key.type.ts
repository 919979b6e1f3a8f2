import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import type { ApiKeyEntity } from './api-key.entity';

/** GraphQL enum `ApiKeyScope`; the values are what the database and the token's `scopes` claim hold. */
export const ApiKeyScopeEnum = { READ: 'read', WRITE: 'write' } as const;
export type ApiKeyScope = (typeof ApiKeyScopeEnum)[keyof typeof ApiKeyScopeEnum];
registerEnumType(ApiKeyScopeEnum, {
  name: 'ApiKeyScope',
  description: 'What a token exchanged for an API key may do.',
  valuesConfig: { READ: { description: 'Run queries.' }, WRITE: { description: 'Run mutations.' } },
});

/** A key as its owner sees it: never the key itself (shown once, by createApiKey). */
@ObjectType('ApiKey', { description: 'A partner\'s key for `POST /api-keys/token`. Only its owner sees it.' })
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: 'The first characters of the key (`mk_` and 8 more), to tell keys apart.' })
  prefix!: string;

  @Field(() => [ApiKeyScopeEnum])
  scopes!: ApiKeyScope[];

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'The last exchange for an access token, to within a minute.' })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'Null: it never expires.' })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => Boolean, { description: 'Neither revoked nor expired: it can be exchanged for access tokens.' })
  active!: boolean;
}

@ObjectType('CreatedApiKey', { description: 'A new key. Store it now: it cannot be read again.' })
export class CreatedApiKey {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field(() => String, { description: 'The key itself, shown only here, once.' })
  key!: string;
}

export const isActiveApiKey = (entity: ApiKeyEntity, now: Date): boolean =>
  entity.revokedAt === null && (entity.expiresAt === null || entity.expiresAt.getTime() > now.getTime());

export function toApiKey(entity: ApiKeyEntity, now: Date): ApiKey {
  return Object.assign(new ApiKey(), {
    id: entity.id,
    name: entity.name,
    prefix: entity.prefix,
    scopes: entity.scopes,
    createdAt: entity.createdAt,
    lastUsedAt: entity.lastUsedAt,
    expiresAt: entity.expiresAt,
    revokedAt: entity.revokedAt,
    active: isActiveApiKey(entity, now),
  });
}
