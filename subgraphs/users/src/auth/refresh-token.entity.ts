import { randomUUID } from 'node:crypto';
import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { UserEntity } from '../users/user.entity';

/**
 * One refresh token of a rotation family. Only the SHA-256 of the opaque token is stored.
 * A token is used once; presenting a used token revokes its whole family.
 */
@Entity({ tableName: 'refresh_token' })
export class RefreshTokenEntity {
  [OptionalProps]?: 'id' | 'usedAt' | 'revokedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** A relation (not a bare id) so the unit of work inserts the user before its first token. */
  @ManyToOne(() => UserEntity, { fieldName: 'user_id', deleteRule: 'cascade', index: true })
  user!: UserEntity;

  /** Every token issued by rotation from one login shares the family id. */
  @Property({ type: 'uuid', index: true })
  familyId!: string;

  /** Hex SHA-256 of the token. */
  @Property({ type: 'string', length: 64, unique: true })
  tokenHash!: string;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  usedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: Date | null = null;
}
