import { randomUUID } from 'node:crypto';
import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import type { Role } from '../../../kit/src';

@Entity({ tableName: 'users' })
export class UserEntity {
  [OptionalProps]?: 'id' | 'role' | 'createdAt' | 'updatedAt' | 'failedLoginCount' | 'lockedUntil' | 'totpSecret' | 'totpEnabled' | 'totpLastStep' | 'plan' | 'planChangedAt' | 'deletedAt' | 'erasureRepeatedAt' | 'emailVerifiedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** Trimmed and lowercased; unique. Null once the account is deleted, so the address can register again. */
  @Property({ type: 'string', length: 254, unique: true, nullable: true })
  email!: string | null;

  /** When a mailed link proved the user reads `email`; null until then. */
  @Property({ type: 'datetime', nullable: true })
  emailVerifiedAt: Date | null = null;

  /** argon2id encoded hash (parameters and salt included). */
  @Property({ type: 'text', hidden: true })
  passwordHash!: string;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'string', length: 20 })
  role: Role = 'CUSTOMER';

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  /** Consecutive failed logins since the last success or lock. */
  @Property({ type: 'integer' })
  failedLoginCount: number = 0;

  @Property({ type: 'datetime', nullable: true })
  lockedUntil: Date | null = null;

  /** The TOTP secret, encrypted (see secret-box.ts); pending until `totpEnabled`. */
  @Property({ type: 'text', nullable: true, hidden: true })
  totpSecret: string | null = null;

  @Property({ type: 'boolean' })
  totpEnabled: boolean = false;

  /** The last TOTP time step accepted, so a code cannot be used twice. */
  @Property({ type: 'integer', nullable: true })
  totpLastStep: number | null = null;

  /** Plan code from the last PlanChanged event (the plan product's sku without `PLAN-`). */
  @Property({ type: 'string', length: 50 })
  plan: string = 'FREE';

  /** When that event happened; an older event arriving late changes nothing. */
  @Property({ type: 'datetime', nullable: true })
  planChangedAt: Date | null = null;

  /** When the user deleted the account: the row stays, scrubbed, so references to the id still resolve. */
  @Property({ type: 'datetime', nullable: true })
  deletedAt: Date | null = null;

  /** When the second UserDeleted was sent (see user.erasure.ts). */
  @Property({ type: 'datetime', nullable: true })
  erasureRepeatedAt: Date | null = null;
}
