import { randomUUID } from 'node:crypto';
import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { UserEntity } from '../users/user.entity';
import type { ApiKeyScope } from './api-key.type';

/**
 * A partner's API key, exchanged at `POST /api-keys/token` for short-lived access tokens.
 * Only the SHA-256 of the key is stored; the key itself is shown once, when it is created.
 */
@Entity({ tableName: 'api_key' })
export class ApiKeyEntity {
  [OptionalProps]?: 'id' | 'createdAt' | 'lastUsedAt' | 'expiresAt' | 'revokedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** A relation, so the token exchange reads the owner's current role in the same query as the key. */
  @ManyToOne(() => UserEntity, { fieldName: 'user_id', deleteRule: 'cascade' })
  user!: UserEntity;

  @Property({ type: 'string', length: 100 })
  name!: string;

  /** The key's first characters, so its owner can tell keys apart; useless for signing in. */
  @Property({ type: 'string', length: 16 })
  prefix!: string;

  @Property({ type: 'blob', unique: true })
  keyHash!: Buffer;

  /** Lowercase, as the access token's `scopes` claim carries them. */
  @Property({ type: 'string[]' })
  scopes!: ApiKeyScope[];

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  /** Moved at most once a minute, so a busy partner does not write a row on every exchange. */
  @Property({ type: 'datetime', length: 3, nullable: true })
  lastUsedAt: Date | null = null;

  @Property({ type: 'datetime', length: 3, nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: 'datetime', length: 3, nullable: true })
  revokedAt: Date | null = null;
}
