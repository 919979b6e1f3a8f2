import { Entity, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { UserEntity } from '../users/user.entity';

/** VERIFY confirms the account's own address; CHANGE makes `email` the account's address. */
export type EmailLinkKind = 'VERIFY' | 'CHANGE';

/** A mailed link that proves its reader holds `email`; works once, until it expires. */
@Entity({ tableName: 'email_verification' })
export class EmailVerificationEntity {
  /** Hex SHA-256 of the link's token. */
  @PrimaryKey({ type: 'string', length: 64 })
  tokenHash!: string;

  /** A relation so the unit of work inserts a new user before its first link. */
  @ManyToOne(() => UserEntity, { fieldName: 'user_id', deleteRule: 'cascade' })
  user!: UserEntity;

  @Property({ type: 'string', length: 10 })
  kind!: EmailLinkKind;

  /** Normalised as the account's email is. */
  @Property({ type: 'string', length: 254 })
  email!: string;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  expiresAt!: Date;
}
