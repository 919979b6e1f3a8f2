import { InboxRecord, OutboxEvent } from '../../kit/src';
import { ApiKeyEntity } from './api-keys/api-key.entity';
import { RefreshTokenEntity } from './auth/refresh-token.entity';
import { EmailVerificationEntity } from './email/email-verification.entity';
import { Migration0001Init } from './migrations/Migration0001Init';
import { Migration0002Plans } from './migrations/Migration0002Plans';
import { Migration0003OutboxWake } from './migrations/Migration0003OutboxWake';
import { Migration0004UnknownEmailLockout } from './migrations/Migration0004UnknownEmailLockout';
import { Migration0005ApiKeys } from './migrations/Migration0005ApiKeys';
import { Migration0006AccountDeletion } from './migrations/Migration0006AccountDeletion';
import { Migration0007PasswordReset } from './migrations/Migration0007PasswordReset';
import { Migration0008EmailVerification } from './migrations/Migration0008EmailVerification';
import { Migration0009OutboxTrace } from './migrations/Migration0009OutboxTrace';
import { Migration0010OutboxPending } from './migrations/Migration0010OutboxPending';
import { UserEntity } from './users/user.entity';

export const usersEntities = [UserEntity, RefreshTokenEntity, ApiKeyEntity, EmailVerificationEntity, OutboxEvent, InboxRecord];

export const usersMigrations = [
  { name: 'Migration0001Init', class: Migration0001Init },
  { name: 'Migration0002Plans', class: Migration0002Plans },
  { name: 'Migration0003OutboxWake', class: Migration0003OutboxWake },
  { name: 'Migration0004UnknownEmailLockout', class: Migration0004UnknownEmailLockout },
  { name: 'Migration0005ApiKeys', class: Migration0005ApiKeys },
  { name: 'Migration0006AccountDeletion', class: Migration0006AccountDeletion },
  { name: 'Migration0007PasswordReset', class: Migration0007PasswordReset },
  { name: 'Migration0008EmailVerification', class: Migration0008EmailVerification },
  { name: 'Migration0009OutboxTrace', class: Migration0009OutboxTrace },
  { name: 'Migration0010OutboxPending', class: Migration0010OutboxPending },
];
