import { OutboxEvent } from '../../kit/src';
import { RefreshTokenEntity } from './auth/refresh-token.entity';
import { Migration0001Init } from './migrations/Migration0001Init';
import { UserEntity } from './users/user.entity';

export const usersEntities = [UserEntity, RefreshTokenEntity, OutboxEvent];

export const usersMigrations = [{ name: 'Migration0001Init', class: Migration0001Init }];
