import { InboxRecord } from '../../kit/src/events';
import { Migration0001Init } from './migrations/Migration0001Init';
import { Migration0002ErasedUsers } from './migrations/Migration0002ErasedUsers';

/** The rollups are written and read with SQL (upserts that add up); the ORM brings the pool, the migrations and the inbox. */
export const analyticsEntities = [InboxRecord];

export const analyticsMigrations = [
  { name: 'Migration0001Init', class: Migration0001Init },
  { name: 'Migration0002ErasedUsers', class: Migration0002ErasedUsers },
];
